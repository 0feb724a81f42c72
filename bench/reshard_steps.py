#!/usr/bin/env python3
"""Where a slot move spends its time: the commands redis-cli --cluster reshard sends per
slot (SETSLOT IMPORTING on the target, SETSLOT MIGRATING on the source, GETKEYSINSLOT and
MIGRATE of 10 keys until the slot is empty, SETSLOT NODE on every master), each timed, for
200 slots of 20 keys, on a 3-master cluster of redust and of Redis 7.0.

    python3 bench/reshard_steps.py
"""

import argparse
import collections
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))

from cluster_helpers import Cluster, keyslot  # noqa: E402
from helpers import Client  # noqa: E402

SLOTS, KEYS_PER_SLOT = 200, 20


def measure(binary):
    cl = Cluster(binary=binary, node_timeout=5000)
    try:
        cl.create_with_cli(3, 0)
        a, b, other = cl.masters()
        ca, cb, cc = Client(a.port), Client(b.port), Client(other.port)
        aid, bid = a.myid(), b.myid()
        per, n = collections.Counter(), 0
        while sum(per.values()) < SLOTS * KEYS_PER_SLOT:
            key = "r%d" % n
            n += 1
            slot = keyslot(key)
            if slot < SLOTS and per[slot] < KEYS_PER_SLOT:
                ca.call("SET", key, "v")
                per[slot] += 1
        spent = collections.defaultdict(float)

        def timed(step, client, *args):
            t0 = time.perf_counter()
            reply = client.call(*args)
            spent[step] += time.perf_counter() - t0
            return reply

        start = time.perf_counter()
        for slot in range(SLOTS):
            timed("setslot importing", cb, "CLUSTER", "SETSLOT", slot, "IMPORTING", aid)
            timed("setslot migrating", ca, "CLUSTER", "SETSLOT", slot, "MIGRATING", bid)
            while True:
                keys = timed("getkeysinslot", ca, "CLUSTER", "GETKEYSINSLOT", slot, 10)
                if not keys:
                    break
                timed("migrate", ca, "MIGRATE", "127.0.0.1", b.port, "", 0, 60000, "KEYS", *keys)
            timed("setslot node (target)", cb, "CLUSTER", "SETSLOT", slot, "NODE", bid)
            timed("setslot node (source)", ca, "CLUSTER", "SETSLOT", slot, "NODE", bid)
            timed("setslot node (other)", cc, "CLUSTER", "SETSLOT", slot, "NODE", bid)
        total = time.perf_counter() - start
        return total, spent
    finally:
        cl.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redust", default=os.path.join(HERE, "..", "target", "release", "redust-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    args = ap.parse_args()
    results = {name: measure(os.path.abspath(b) if name == "redust" else b)
               for name, b in (("redust", args.redust), ("redis", args.redis))}
    print("| step (ms per slot) | redust | Redis |")
    print("|---|---|---|")
    for step in results["redust"][1]:
        print("| %s | %.3f | %.3f |" % (step, 1000 * results["redust"][1][step] / SLOTS,
                                        1000 * results["redis"][1][step] / SLOTS))
    print("| whole slot | %.3f | %.3f |" % (1000 * results["redust"][0] / SLOTS, 1000 * results["redis"][0] / SLOTS))


if __name__ == "__main__":
    main()
