#!/usr/bin/env python3
"""Memory of many small hashes and sets: redust against Redis.

Starts each server binary given on the command line (default: redust's release
build and /usr/bin/redis-server) with `--save '' --appendonly no`, fills it with
N keys of one kind, and prints `used_memory` (INFO memory) minus the figure of
the empty server, per kind, with the ratio of each server to the last one.

    python3 tools/mem_small_collections.py [-n 100000] [BINARY ...]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

import redis

KINDS = {
    # baseline: the per-key cost alone
    "string": lambda i: ("SET", "s:%d" % i, "v%09d" % i),
    # 5 fields, 10-byte values
    "hash5": lambda i: ("HSET", "h:%d" % i, *[x for f in range(5) for x in ("field%d" % f, "v%09d" % i)]),
    # 5 small integers
    "intset5": lambda i: ("SADD", "s:%d" % i, *[str(i % 1000 + m) for m in range(5)]),
    # 5 short strings
    "strset5": lambda i: ("SADD", "s:%d" % i, *["member:%d" % m for m in range(5)]),
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def used_memory(r):
    return int(r.info("memory")["used_memory"])


def measure(binary, kind, n):
    port = free_port()
    d = tempfile.mkdtemp(prefix="memcmp-")
    p = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        r = redis.Redis(port=port)
        for _ in range(500):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.01)
        time.sleep(0.2)
        empty = used_memory(r)
        make = KINDS[kind]
        pipe = r.pipeline(transaction=False)
        for i in range(n):
            pipe.execute_command(*make(i))
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        enc = r.object("encoding", make(0)[1])
        time.sleep(0.2)
        return used_memory(r) - empty, enc
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("binaries", nargs="*")
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bins = a.binaries or [os.path.join(here, "target/release/redust-server"), "/usr/bin/redis-server"]
    for kind in KINDS:
        results = [measure(b, kind, a.n) for b in bins]
        base = results[-1][0]
        for b, (used, enc) in zip(bins, results):
            print(
                "%-8s %-45s %-10s %12d bytes  %7.1f B/key  ratio %.3f"
                % (kind, b, enc.decode() if isinstance(enc, bytes) else enc, used, used / a.n, used / base)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
