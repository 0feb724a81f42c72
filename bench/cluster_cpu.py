#!/usr/bin/env python3
"""What cluster mode costs per request: redust and Redis 7.0, each standalone and as a
one-node cluster that owns every slot, under the same redis-benchmark SET/GET loads.

Every request then goes through the slot check (the key's CRC16, the owner lookup, the
migrating/importing tests) but is never redirected, so the difference in server CPU per
request between the two modes of one implementation is the price of the check. The
issue's bar: redust's cluster-mode overhead must not exceed Redis's.

    python3 bench/cluster_cpu.py                   # 4 x 200000 requests per cell
    python3 bench/cluster_cpu.py --requests 50000  # a quicker run
"""

import argparse
import os
import sys
import tempfile
import time

from common import cli
from run import DEFAULT_REDUST, Server, benchmark

LOADS = {
    "P1": ["-c", "50", "-r", "100000"],
    "P16": ["-c", "50", "-r", "100000", "-P", "16"],
}


def start(name, binary, work, cluster):
    extra = []
    if cluster:
        extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes-%s.conf" % name]
    s = Server(name, binary, work, extra)
    if cluster:
        cli(s.port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        deadline = time.time() + 20
        while "cluster_state:ok" not in cli(s.port, "CLUSTER", "INFO"):
            if time.time() > deadline:
                raise RuntimeError("%s: cluster state not ok" % name)
            time.sleep(0.05)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redust", default=DEFAULT_REDUST)
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        servers = {}
        try:
            for impl, binary in (("redust", args.redust), ("redis", args.redis)):
                for cluster in (False, True):
                    name = "%s-%s" % (impl, "cluster" if cluster else "standalone")
                    servers[(impl, cluster)] = start(name, binary, work, cluster)
            print("| load | test | redust standalone | redust cluster | redust overhead "
                  "| redis standalone | redis cluster | redis overhead |")
            print("|---|---|---|---|---|---|---|---|")
            for load, extra in LOADS.items():
                for test in ("set", "get"):
                    # CPU seconds per cell, summed over rounds taken in turn so that drift
                    # on a noisy machine hits every cell alike.
                    cpu = {k: [0.0, 0.0, 0.0] for k in servers}
                    for _ in range(args.rounds):
                        for k, s in servers.items():
                            benchmark(s, args.requests, extra + ["-t", test], cpu[k])
                    us = {k: 1e6 * v[0] / (args.rounds * args.requests) for k, v in cpu.items()}
                    row = [load, test]
                    for impl in ("redust", "redis"):
                        a, b = us[(impl, False)], us[(impl, True)]
                        row += ["%.2f us" % a, "%.2f us" % b, "%+.1f%%" % (100 * (b - a) / a)]
                    print("| " + " | ".join(row) + " |")
                    sys.stdout.flush()
        finally:
            for s in servers.values():
                s.stop()


if __name__ == "__main__":
    main()
