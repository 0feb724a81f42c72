#!/usr/bin/env python3
"""used_memory for many small collections, redust vs redis-server, same machine, same run.

Loads N keys of each kind into a fresh server (no persistence) with redis-cli --pipe, and
reports used_memory after loading minus used_memory of the empty server, per key, and the
redust/Redis ratio (lower is better for redust).

    python3 bench/memory_collections.py [--keys 1000000] [--redust target/release/redust-server]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from common import cli, free_port, resp

KINDS = {
    # name: (command template, description)
    "hash": (lambda i: ["HSET", "h:%d" % i] + sum((["f%d" % j, "value-%04d" % j] for j in range(5)), []),
             "5 fields, 10-byte values"),
    "set-int": (lambda i: ["SADD", "si:%d" % i] + [str(i * 10 + j) for j in range(5)], "5 integer members"),
    "set-str": (lambda i: ["SADD", "ss:%d" % i] + ["member-%d" % j for j in range(5)], "5 string members"),
    "zset": (lambda i: ["ZADD", "z:%d" % i] + sum(([str(j * 1.5), "member-%d" % j] for j in range(5)), []),
             "5 members with scores"),
}








def used_memory(port):
    for line in cli(port, "INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory")


def start(binary, workdir):
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        if cli(port, "PING").strip() == "PONG":
            return proc, port
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("%s did not start" % binary)


def measure(binary, kind, n):
    make, _ = KINDS[kind]
    with tempfile.TemporaryDirectory() as d:
        proc, port = start(binary, d)
        try:
            base = used_memory(port)
            payload = os.path.join(d, "load.resp")
            with open(payload, "wb") as f:
                for i in range(n):
                    f.write(resp(make(i)))
            with open(payload, "rb") as f:
                subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, check=True)
            assert int(cli(port, "DBSIZE").strip()) == n, "not all keys loaded"
            enc = cli(port, "OBJECT", "ENCODING", make(0)[1]).strip()
            return used_memory(port) - base, enc
        finally:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--redust", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "redust-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of: " + ", ".join(KINDS))
    args = ap.parse_args()
    print("keys per kind: %d" % args.keys)
    print("| kind | content | redust bytes/key (encoding) | redis bytes/key (encoding) | redust/redis |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for kind in args.kinds.split(","):
        _, desc = KINDS[kind]
        ours, our_enc = measure(args.redust, kind, args.keys)
        theirs, their_enc = measure(args.redis, kind, args.keys)
        ratio = ours / theirs
        worst = max(worst, ratio)
        print("| %s | %s | %.1f (%s) | %.1f (%s) | %.2f |" % (
            kind, desc, ours / args.keys, our_enc, theirs / args.keys, their_enc, ratio))
        sys.stdout.flush()
    print("worst ratio: %.2f" % worst)


if __name__ == "__main__":
    main()
