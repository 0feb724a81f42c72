#!/usr/bin/env python3
"""used_memory of one long list under list-compress-depth 0, 1 and 2, redust vs redis-server.

Pushes N elements ("item-<i>-some-compressible-payload-payload", ~44 bytes, RPUSH in batches
of 10 through redis-cli --pipe) into a fresh server per depth, and reports used_memory after
minus before (a first list is pushed the same way beforehand, so the first key's fixed costs
and what serving a --pipe client leaves behind are not counted), with the node count DEBUG
OBJECT reports.

    python3 bench/list_memory.py [--elements 20000] [--redust target/release/redust-server]
"""

import argparse
import os
import subprocess
import tempfile
import time

from common import cli, free_port, resp


def used_memory(port):
    for line in cli(port, "INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory")


def measure(binary, depth, n, workdir):
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir, "--enable-debug-command", "yes",
                             "--list-compress-depth", str(depth)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while cli(port, "PING").strip() != "PONG":
            if time.time() > deadline:
                raise RuntimeError("%s did not start" % binary)
            time.sleep(0.05)
        # Warm up through the same path (a --pipe client), so that what the
        # server keeps from having served one is in "before" too.
        warm = os.path.join(workdir, "warm.resp")
        with open(warm, "wb") as f:
            f.write(resp(["RPUSH", "warm-up"] + ["x" * 40] * 10))
        with open(warm, "rb") as f:
            subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, check=True)
        time.sleep(0.2)
        before = used_memory(port)
        payload = os.path.join(workdir, "list.resp")
        with open(payload, "wb") as f:
            for i in range(0, n, 10):
                f.write(resp(["RPUSH", "l"] + ["item-%d-some-compressible-payload-payload" % j
                                               for j in range(i, min(i + 10, n))]))
        with open(payload, "rb") as f:
            subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, check=True)
        time.sleep(0.2)
        nodes = [w for w in cli(port, "DEBUG", "OBJECT", "l").split() if w.startswith("ql_nodes:")]
        return used_memory(port) - before, nodes[0].split(":")[1] if nodes else "?"
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elements", type=int, default=20000)
    ap.add_argument("--redust", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "redust-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    args = ap.parse_args()
    print("elements: %d" % args.elements)
    print("| list-compress-depth | redust bytes (nodes) | redis bytes (nodes) | redust/redis |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for depth in (0, 1, 2):
            ours, our_nodes = measure(args.redust, depth, args.elements, d)
            theirs, their_nodes = measure(args.redis, depth, args.elements, d)
            print("| %d | %d (%s) | %d (%s) | %.2f |" % (depth, ours, our_nodes, theirs, their_nodes, ours / theirs))


if __name__ == "__main__":
    main()
