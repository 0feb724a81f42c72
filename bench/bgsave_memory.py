#!/usr/bin/env python3
"""Peak extra memory during BGSAVE under a full-speed write load, redust vs redis-server.

Fills each server with DEBUG POPULATE, then runs BGSAVE while redis-benchmark overwrites
random existing keys as fast as it can, sampling memory every 20 ms until the save ends.
Redis forks: its cost is the copy-on-write pages, measured as the PSS of parent + child
(PSS splits shared pages, so nothing is counted twice). redust does not fork: its cost is
the growth of its RSS. Both are reported as a fraction of the dataset (used_memory after
the fill).

    python3 bench/bgsave_memory.py [--keys 12000000] [--value-size 100]
"""

import argparse
import os
import subprocess
import tempfile
import time

from common import cli, free_port


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def family_pss_bytes(pid):
    return 1024 * (pss_kb(pid) + sum(pss_kb(c) for c in children(pid)))


def info(port, section):
    out = {}
    for line in cli(port, "INFO", section).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def run(binary, keys, value_size):
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", d, "--enable-debug-command", "yes"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while cli(port, "PING").strip() != "PONG":
                if time.time() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.05)
            cli(port, "DEBUG", "POPULATE", str(keys), "key", str(value_size))
            dataset = int(info(port, "memory")["used_memory"])
            base = family_pss_bytes(proc.pid)
            load = subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "set", "-r", str(keys),
                                     "-d", str(value_size), "-n", "1000000000", "-P", "16", "-c", "20", "-q"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)  # let the load reach full speed
            assert cli(port, "BGSAVE").strip().startswith("Background saving")
            peak, started = base, time.time()
            while True:
                peak = max(peak, family_pss_bytes(proc.pid))
                if info(port, "persistence").get("rdb_bgsave_in_progress") == "0":
                    break
                time.sleep(0.02)
            seconds = time.time() - started
            load.kill()
            load.wait()
            status = info(port, "persistence").get("rdb_last_bgsave_status")
            return dataset, peak - base, seconds, status
        finally:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=12_000_000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--redust", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "redust-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    args = ap.parse_args()
    print("| server | dataset (used_memory) | peak extra memory during BGSAVE | extra/dataset | BGSAVE seconds | status |")
    print("|---|---|---|---|---|---|")
    for name, binary in (("redust", args.redust), ("redis", args.redis)):
        dataset, extra, seconds, status = run(binary, args.keys, args.value_size)
        print("| %s | %.0f MB | %.0f MB | %.2f | %.1f | %s |" % (
            name, dataset / 1e6, extra / 1e6, extra / dataset, seconds, status))


if __name__ == "__main__":
    main()
