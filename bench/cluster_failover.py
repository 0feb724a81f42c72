#!/usr/bin/env python3
"""Cluster failover time and resharding speed, redust vs Redis 7.0, on the same machine.

Failover: for each implementation, 3 masters with 1 replica each (redis-cli --cluster
create --cluster-replicas 1, the same cluster-node-timeout, nothing else tuned). A writer
SETs a key of the first master's slots every 10 ms against whichever node owns it. The master
is killed (SIGKILL); the failover time is from the kill to the first write that succeeds on
the promoted replica.

Resharding: 3 masters, N keys written, then `redis-cli --cluster reshard` moves 1000 slots
(with their keys) from the first master to the second; keys/s is the number of keys moved
over the time the command took.

Runs alternate between the implementations; medians and redust/Redis ratios are printed.

    python3 bench/cluster_failover.py                 # 3 runs, node-timeout 3000 ms
    python3 bench/cluster_failover.py --runs 5 --node-timeout 5000 --keys 50000
"""

import argparse
import os
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))

from cluster_helpers import Cluster, cli_cluster, key_for_slot, keyslot  # noqa: E402
from helpers import Client, RespError  # noqa: E402

DEFAULT_REDUST = os.path.join(HERE, "..", "target", "release", "redust-server")


def failover_once(binary, node_timeout):
    cl = Cluster(binary=binary, node_timeout=node_timeout)
    try:
        cl.create_with_cli(3, 1)
        cl.wait_replicas_visible()
        master = cl.masters()[0]
        replica = cl.replicas_of(master)[0]
        key = key_for_slot(0, "bench")
        assert master.call("SET", key, "0") == "OK"
        t0 = time.monotonic()
        os.kill(master.proc.pid, signal.SIGKILL)
        deadline = t0 + 120
        while time.monotonic() < deadline:
            try:
                c = Client(replica.port, timeout=1)
                try:
                    if c.call("SET", key, "1") == "OK":
                        return time.monotonic() - t0
                finally:
                    c.close()
            except (RespError, OSError):
                pass
            time.sleep(0.01)
        raise RuntimeError("no failover within 120 s")
    finally:
        cl.cleanup()


def reshard_once(binary, keys):
    cl = Cluster(binary=binary, node_timeout=5000)
    try:
        cl.create_with_cli(3, 0)
        a, b = cl.masters()[:2]
        # Keys in the slots that will move (0..999), written to their owner.
        c = Client(a.port, timeout=10)
        try:
            written, n = 0, 0
            while written < keys:
                key = "r%d" % n
                n += 1
                if keyslot(key) < 1000:
                    c.call("SET", key, "v")
                    written += 1
        finally:
            c.close()
        t0 = time.monotonic()
        cli_cluster("reshard", "127.0.0.1:%d" % a.port, "--cluster-from", a.myid(), "--cluster-to", b.myid(),
                    "--cluster-slots", "1000", "--cluster-yes", timeout=600)
        took = time.monotonic() - t0
        moved = int(b.call("DBSIZE"))
        return moved / took
    finally:
        cl.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--node-timeout", type=int, default=3000)
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--redust", default=DEFAULT_REDUST)
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    args = ap.parse_args()
    impls = [("redust", os.path.abspath(args.redust)), ("redis", args.redis)]
    failover = {name: [] for name, _ in impls}
    reshard = {name: [] for name, _ in impls}
    for run in range(args.runs):
        for name, binary in impls:
            f = failover_once(binary, args.node_timeout)
            r = reshard_once(binary, args.keys)
            failover[name].append(f)
            reshard[name].append(r)
            print("run %d %-6s failover %.2f s, reshard %.0f keys/s" % (run + 1, name, f, r), flush=True)
    fr, fx = statistics.median(failover["redust"]), statistics.median(failover["redis"])
    rr, rx = statistics.median(reshard["redust"]), statistics.median(reshard["redis"])
    print("failover (node-timeout %d ms), median of %d: redust %.2f s, Redis %.2f s, ratio %.2f"
          % (args.node_timeout, args.runs, fr, fx, fr / fx))
    print("reshard (1000 slots, %d keys), median of %d: redust %.0f keys/s, Redis %.0f keys/s, ratio %.2f"
          % (args.keys, args.runs, rr, rx, rr / rx))


if __name__ == "__main__":
    main()
