#!/usr/bin/env python3
"""redust vs Redis 7.0 on the same machine, in the same run: throughput, latency, memory.

Starts redust and Debian's redis-server with equivalent settings (no persistence) on free
ports and runs the same redis-benchmark loads against each, alternating servers per test so
drift on a noisy machine hits both alike. Prints one table row per test with ops/s, p50/p99
latency and the server's CPU time per request for both, with the redust/Redis ratios; then, per
load, how busy redis-benchmark itself was (near 100%, the load generator sets the pace and
ops/s ratios stay near 1.0 whatever the servers cost: see BENCHMARKS.md); then memory.

    python3 bench/run.py                 # everything (a few minutes)
    python3 bench/run.py --quick         # fewer requests, for a smoke run
    python3 bench/run.py --only set,get  # a subset of the load list
    python3 bench/run.py --only-memory   # just the used_memory per key rows

The load generator is redis-benchmark (redis-tools), not ours.
"""

import argparse
import csv
import hashlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time

from common import cli, free_port, resp

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REDUST = os.path.join(HERE, "..", "target", "release", "redust-server")

# redis-benchmark's default tests, in its own order. Each runs as its own invocation (on the
# same data, no flush in between, so LPOP finds what LPUSH left, as in the default run), so
# the server CPU time of each can be measured. The LRANGE tests share one invocation, which
# fills the list once.
DEFAULT_TESTS = ["ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush", "lpop",
                 "rpop", "sadd", "hset", "spop", "zadd", "zpopmin",
                 "lrange_100,lrange_300,lrange_500,lrange_600", "mset"]

# A small script as applications run them (a rate limiter's counter): INCR, and EXPIRE
# on the first hit. Loaded into both servers; the evalsha load runs it by SHA1.
SMALL_SCRIPT = ("local v = redis.call('INCR', KEYS[1]) "
                "if v == 1 then redis.call('EXPIRE', KEYS[1], 60) end return v")
SMALL_SCRIPT_SHA = hashlib.sha1(SMALL_SCRIPT.encode()).hexdigest()
# The same counter as a library function, for the fcall load.
SMALL_LIBRARY = ("#!lua name=bench\nredis.register_function('counter', function(keys) "
                 "local v = redis.call('INCR', keys[1]) "
                 "if v == 1 then redis.call('EXPIRE', keys[1], 60) end return v end)")

# name -> (redis-benchmark arguments besides -p/-n/--csv/-t, each invocation: a -t list, or
# a command of its own as a list of arguments)
LOADS = {
    "default-P1": (["-c", "50"], DEFAULT_TESTS),
    "default-P16": (["-c", "50", "-P", "16"], DEFAULT_TESTS),
    "set-get-1KB": (["-c", "50", "-d", "1024"], ["set", "get"]),
    "set-get-1KB-P16": (["-c", "50", "-d", "1024", "-P", "16"], ["set", "get"]),
    "random-1M-keys": (["-c", "50", "-r", "1000000"], ["set", "get"]),
    "mset-10-keys": (["-c", "50"], ["mset"]),
    "lrange-100": (["-c", "50"], ["lpush", "lrange_100"]),
    "evalsha-small": (["-c", "50", "-r", "100000"], [["EVALSHA", SMALL_SCRIPT_SHA, "1", "key:__rand_int__"]]),
    "fcall-small": (["-c", "50", "-r", "100000"], [["FCALL", "counter", "1", "key:__rand_int__"]]),
}


class Server:
    def __init__(self, name, binary, workdir, extra=()):
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--protected-mode", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if cli(self.port, "PING").strip() == "PONG":
                cli(self.port, "SCRIPT", "LOAD", SMALL_SCRIPT)
                cli(self.port, "FUNCTION", "LOAD", "REPLACE", SMALL_LIBRARY)
                return
            time.sleep(0.05)
        raise RuntimeError("%s did not start" % name)

    def info(self, section):
        out = {}
        for line in cli(self.port, "INFO", section).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v.strip()
        return out

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def cpu_seconds(pid):
    """User + system CPU time a process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def benchmark(server, requests, extra, usage=None):
    """Runs one redis-benchmark load. Adds to `usage` [server CPU s, client CPU s, wall s]:
    on a small machine the load generator itself can be the bottleneck, and these tell."""
    server_cpu = cpu_seconds(server.proc.pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    out = subprocess.run(["redis-benchmark", "-p", str(server.port), "-n", str(requests), "--csv", *extra],
                         capture_output=True, text=True, check=True).stdout
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if usage is not None:
        usage[0] += cpu_seconds(server.proc.pid) - server_cpu
        usage[1] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        usage[2] += wall
    rows = {}
    for row in csv.DictReader(io.StringIO(out)):
        rows[row["test"]] = (float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))
    return rows




def load_and_measure(server, kind, n, workdir):
    server_base = int(server.info("memory")["used_memory"])
    path = os.path.join(workdir, "%s-%s.resp" % (server.name, kind))
    with open(path, "wb") as f:
        for i in range(n):
            if kind == "strings":
                f.write(resp(["SET", "key:%d" % i, "v" * 16]))
            else:
                f.write(resp(["HSET", "hash:%d" % i, "a", "1", "b", "2", "c", "3"]))
    with open(path, "rb") as f:
        cli(server.port, "--pipe", stdin=f)
    os.unlink(path)
    mem = server.info("memory")
    return int(mem["used_memory"]) - server_base, int(mem["used_memory_rss"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redust", default=DEFAULT_REDUST)
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--memory-keys", type=int, default=1000000)
    ap.add_argument("--only-memory", action="store_true", help="skip the throughput loads")
    ap.add_argument("--client-threads", type=int, default=1,
                    help="redis-benchmark --threads: on a machine with cores to spare, so the "
                         "load generator is not the bottleneck (it is on 2 cores)")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.memory_keys = 20000, 100000
    only = [x for x in args.only.split(",") if x]

    with tempfile.TemporaryDirectory() as work:
        if not args.only_memory:
            throughput(args, only, work)
        memory(args, work)


def throughput(args, only, work):
    ours = Server("redust", args.redust, work)
    theirs = Server("redis", args.redis, work)
    usage = []
    try:
        # CPU us/req: the server's user+system CPU time per request (for the LRANGE rows, the
        # average over the invocation that runs them all, with its LPUSH).
        print("| load | test | redust ops/s | redis ops/s | ratio | redust p50/p99 ms | redis p50/p99 ms"
              " | redust CPU us/req | redis CPU us/req | CPU ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, (extra, invocations) in LOADS.items():
            if only and not any(o in name for o in only):
                continue
            usage_a, usage_b = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
            for tests in invocations:
                args_t = extra + (tests if isinstance(tests, list) else ["-t", tests])
                if args.client_threads > 1:
                    args_t += ["--threads", str(args.client_threads)]
                # Alternate which server goes first, so slow drift hits both alike. CPU time
                # is summed over both runs of each server.
                ua, ub = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
                a = benchmark(ours, args.requests, args_t, ua)
                b = benchmark(theirs, args.requests, args_t, ub)
                a2 = benchmark(ours, args.requests, args_t, ua)
                b2 = benchmark(theirs, args.requests, args_t, ub)
                for total, part in ((usage_a, ua), (usage_b, ub)):
                    for i in range(3):
                        total[i] += part[i]
                # Requests per server in this invocation, over both runs.
                served = 2 * args.requests * max(1, len(a))
                for test in a:
                    if test not in b:
                        continue
                    ra = max(a[test][0], a2[test][0])
                    rb = max(b[test][0], b2[test][0])
                    pa = min(a[test], a2[test], key=lambda r: r[2])
                    pb = min(b[test], b2[test], key=lambda r: r[2])
                    ca, cb = 1e6 * ua[0] / served, 1e6 * ub[0] / served
                    print("| %s | %s | %.0f | %.0f | %.2f | %.3f/%.3f | %.3f/%.3f | %.2f | %.2f | %.2f |" % (
                        name, test, ra, rb, ra / rb, pa[1], pa[2], pb[1], pb[2], ca, cb,
                        ca / cb if cb else 0))
                    sys.stdout.flush()
            usage.append((name, usage_a, usage_b))
            cli(ours.port, "FLUSHALL")
            cli(theirs.port, "FLUSHALL")
    finally:
        ours.stop()
        theirs.stop()
    print()
    # Same requests to both, so server CPU seconds compare CPU per request. "client busy" is
    # redis-benchmark's CPU time over wall time: near 100% it, not the server, sets the pace.
    print("| load | redust server CPU s | redis server CPU s | CPU ratio | client busy vs redust | client busy vs redis |")
    print("|---|---|---|---|---|---|")
    for name, ua, ub in usage:
        print("| %s | %.2f | %.2f | %.2f | %.0f%% | %.0f%% |" % (
            name, ua[0], ub[0], ua[0] / ub[0] if ub[0] else 0, 100 * ua[1] / ua[2], 100 * ub[1] / ub[2]))
    print()


def memory(args, work):
    print("| memory: %d keys | redust used_memory/key | redis used_memory/key | ratio | redust RSS MB | redis RSS MB |"
          % args.memory_keys)
    print("|---|---|---|---|---|---|")
    for kind in ("strings", "hashes"):
        ours = Server("redust", args.redust, work)
        theirs = Server("redis", args.redis, work)
        try:
            ua, ra = load_and_measure(ours, kind, args.memory_keys, work)
            ub, rb = load_and_measure(theirs, kind, args.memory_keys, work)
            print("| %s | %.1f | %.1f | %.2f | %.1f | %.1f |" % (
                kind, ua / args.memory_keys, ub / args.memory_keys, ua / ub, ra / 1e6, rb / 1e6))
            sys.stdout.flush()
        finally:
            ours.stop()
            theirs.stop()


if __name__ == "__main__":
    main()
