#!/usr/bin/env python3
"""Replication: redust vs Redis 7.0 on the same machine, in the same run.

For each implementation a master and a replica of that same binary are started (no
persistence, repl-diskless-sync-delay 0) on free ports, and measured:

* full sync: the master is loaded with --keys keys (SET key:N <16 bytes>, via
  redis-cli --pipe), then an empty server gets REPLICAOF; the time from REPLICAOF until the
  replica reports master_link_status:up with the master's DBSIZE. Once with
  repl-diskless-sync yes (RDB streamed over the socket) and once with no (RDB on disk).
* lag under load: with the replica in sync, redis-benchmark runs a SET load on the master
  (-P 16, -c 50, random keys) while master_repl_offset - slave_repl_offset is sampled every
  few ms over persistent connections; p50/p99/max of that lag in bytes, the load's ops/s,
  and the time the replica needs to reach the master's offset after the load stops.

    python3 bench/replication.py                        # 1M keys (a minute or two)
    python3 bench/replication.py --keys 100000 --quick  # smoke run
    python3 bench/replication.py --redust /usr/bin/redis-server   # both roles by Redis

Runs alternate redust / Redis so drift on a noisy machine hits both alike; with --repeat N
the best (lowest) full-sync time and, for the lag test, the median of each metric over the N
runs are reported. On a 2-core machine the load generator, both servers and the sampler
compete for the CPUs: the lag percentiles vary a lot between runs, use --repeat 3 or more.
"""

import argparse
import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from common import free_port, resp

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REDUST = os.path.join(HERE, "..", "target", "release", "redust-server")


class Conn:
    """A persistent RESP connection, enough for INFO / DBSIZE / REPLICAOF."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        self.s.sendall(resp(list(args)))
        return self._read()

    def _read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode()
        if t == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)

    def info(self, section):
        out = {}
        for ln in self.call("INFO", section).splitlines():
            if ":" in ln:
                k, v = ln.split(":", 1)
                out[k] = v
        return out

    def close(self):
        self.s.close()


class Server:
    def __init__(self, name, binary, workdir, *extra):
        self.name = name
        self.port = free_port()
        self.dir = tempfile.mkdtemp(dir=workdir)
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--protected-mode", "no", "--repl-diskless-sync-delay", "0", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.c = Conn(self.port)
                if self.c.call("PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("%s did not start" % name)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out: " + what)
        time.sleep(0.001)


def load(port, path):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, text=True)
    if "errors: 0" not in out.stdout:
        raise RuntimeError("redis-cli --pipe: %s %s" % (out.stdout, out.stderr))


def full_sync(binary, workdir, datafile, keys, diskless):
    m = Server("master", binary, workdir, "--repl-diskless-sync", diskless)
    r = Server("replica", binary, workdir)
    try:
        load(m.port, datafile)
        assert m.c.call("DBSIZE") == keys, m.c.call("DBSIZE")
        t0 = time.monotonic()
        r.c.call("REPLICAOF", "127.0.0.1", str(m.port))
        wait(lambda: r.c.info("replication").get("master_link_status") == "up"
             and r.c.call("DBSIZE") == keys, 600, "full sync of %d keys" % keys)
        return time.monotonic() - t0
    finally:
        r.stop()
        m.stop()


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0
    i = min(len(sorted_vals) - 1, int(round(p / 100.0 * (len(sorted_vals) - 1))))
    return sorted_vals[i]


def lag_under_load(binary, workdir, requests):
    m = Server("master", binary, workdir)
    r = Server("replica", binary, workdir)
    try:
        r.c.call("REPLICAOF", "127.0.0.1", str(m.port))
        wait(lambda: r.c.info("replication").get("master_link_status") == "up", 60, "replica link up")
        mi, ri = Conn(m.port), Conn(r.port)
        samples = []
        done = threading.Event()
        result = {}

        def bench():
            out = subprocess.run(
                ["redis-benchmark", "-p", str(m.port), "-t", "set", "-n", str(requests), "-r", "1000000",
                 "-c", "50", "-P", "16", "-d", "64", "--csv"], capture_output=True, text=True)
            for row in csv.DictReader(io.StringIO(out.stdout)):
                result["rps"] = float(row["rps"])
            done.set()

        t = threading.Thread(target=bench)
        t.start()
        while not done.is_set():
            mo = int(mi.info("replication")["master_repl_offset"])
            ro = int(ri.info("replication")["slave_repl_offset"])
            samples.append(max(0, mo - ro))
            time.sleep(0.002)
        t0 = time.monotonic()
        target = int(mi.info("replication")["master_repl_offset"])
        wait(lambda: int(ri.info("replication")["slave_repl_offset"]) >= target, 120, "catch up")
        catch_up = time.monotonic() - t0
        t.join()
        mi.close()
        ri.close()
        samples.sort()
        return {
            "rps": result.get("rps", 0.0),
            "p50": pct(samples, 50),
            "p99": pct(samples, 99),
            "max": samples[-1] if samples else 0,
            "samples": len(samples),
            "catch_up": catch_up,
        }
    finally:
        r.stop()
        m.stop()


def ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redust", default=DEFAULT_REDUST)
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=2000000, help="SETs of the lag-under-load test")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="fewer requests for the load (200k)")
    args = ap.parse_args()
    if args.quick:
        args.requests = 200000
    impls = [("redust", args.redust), ("redis", args.redis)]
    for _, b in impls:
        if not os.path.exists(b):
            sys.exit("no such binary: %s" % b)

    with tempfile.TemporaryDirectory() as work:
        datafile = os.path.join(work, "load.resp")
        with open(datafile, "wb") as f:
            for i in range(args.keys):
                f.write(resp(["SET", "key:%d" % i, "v%015d" % i]))

        sync = {(n, d): [] for n, _ in impls for d in ("yes", "no")}
        lag = {n: [] for n, _ in impls}
        for _ in range(args.repeat):
            for diskless in ("yes", "no"):
                for name, binary in impls:
                    sync[(name, diskless)].append(full_sync(binary, work, datafile, args.keys, diskless))
            for name, binary in impls:
                lag[name].append(lag_under_load(binary, work, args.requests))

        print("| full sync of %d keys | redust s | redis s | ratio |" % args.keys)
        print("|---|---|---|---|")
        for diskless, label in (("yes", "diskless (socket)"), ("no", "disk (RDB file)")):
            a, b = min(sync[("redust", diskless)]), min(sync[("redis", diskless)])
            print("| %s | %.3f | %.3f | %s |" % (label, a, b, ratio(a, b)))
        print()
        print("| lag under SET load (%d requests, -P 16 -c 50 -d 64) | redust | redis | ratio |" % args.requests)
        print("|---|---|---|---|")
        # per metric, the median over the --repeat runs (the lag is noisy on a small machine)
        med = {n: {k: sorted(run[k] for run in lag[n])[len(lag[n]) // 2] for k in lag[n][0]} for n in lag}
        a, b = med["redust"], med["redis"]
        rows = [
            ("load ops/s", "%.0f", "rps"),
            ("lag p50 bytes", "%d", "p50"),
            ("lag p99 bytes", "%d", "p99"),
            ("lag max bytes", "%d", "max"),
            ("catch-up after the load, ms", "%.1f", "catch_up"),
            ("lag samples", "%d", "samples"),
        ]
        for label, fmt, key in rows:
            va, vb = a[key], b[key]
            if key == "catch_up":
                va, vb = va * 1000, vb * 1000
            print("| %s | %s | %s | %s |" % (label, fmt % va, fmt % vb, ratio(va, vb)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
