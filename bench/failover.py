#!/usr/bin/env python3
"""Failover time, redust Sentinel vs Redis Sentinel, as a client sees it.

For each implementation (redust: data nodes and Sentinels from redust-server; Redis: from
redis-server), a master with two replicas and three Sentinels (quorum 2, the same
`down-after-milliseconds` and `failover-timeout`, no other tuning) are started on free
ports. A writer asks the Sentinels for the master and SETs a key every 10 ms. Once the
group has settled, the master is killed (SIGKILL); the time until the first write succeeds
on the new master is the failover time. Runs alternate between the implementations;
medians and the redust/Redis ratio are printed.

    python3 bench/failover.py                    # 3 runs each, down-after 3000 ms
    python3 bench/failover.py --runs 5 --down-after 5000

The floor is down-after itself: Sentinel cannot call a master down sooner.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

from common import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REDUST = os.path.join(HERE, "..", "target", "release", "redust-server")


def command(port, *args, timeout=0.5):
    """One command over a fresh connection; returns the reply's first line, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            out = [b"*%d\r\n" % len(args)]
            for a in args:
                a = str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
            s.sendall(b"".join(out))
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
            # enough for +OK, -ERR, and the first bulk of an array
            deadline = time.time() + timeout
            while data.startswith(b"*") and data.count(b"\r\n") < 5 and time.time() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return None


def master_from_sentinels(sentinels):
    for sp in sentinels:
        r = command(sp, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
        if r and r.startswith(b"*2"):
            parts = r.split(b"\r\n")
            try:
                return int(parts[4])
            except (IndexError, ValueError):
                continue
    return None


def wait(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out: " + what)


class Group:
    def __init__(self, binary, down_after, failover_timeout):
        self.dir = tempfile.mkdtemp(prefix="failover-bench-")
        self.procs = []
        self.binary = binary
        self.data_ports = [free_port() for _ in range(3)]
        for i, p in enumerate(self.data_ports):
            args = [binary, "--port", str(p), "--save", "", "--dir", self.dir,
                    "--dbfilename", "d%d.rdb" % p]
            if i > 0:
                args += ["--replicaof", "127.0.0.1", str(self.data_ports[0])]
            self.procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
        self.sentinel_ports = [free_port() for _ in range(3)]
        for p in self.sentinel_ports:
            conf = os.path.join(self.dir, "s%d.conf" % p)
            with open(conf, "w") as f:
                f.write("port %d\ndir %s\nlogfile %s\nsentinel monitor mymaster 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds mymaster %d\n"
                        "sentinel failover-timeout mymaster %d\n"
                        % (p, self.dir, os.path.join(self.dir, "s%d.log" % p), self.data_ports[0], down_after,
                           failover_timeout))
            self.procs.append(subprocess.Popen([binary, conf, "--sentinel"], stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))

    def settle(self):
        def ready():
            for sp in self.sentinel_ports:
                r = command(sp, "INFO", "sentinel")
                if not r or b"slaves=2,sentinels=3" not in r:
                    return False
            return True
        wait(ready, 60, "the group discovered every replica and Sentinel")
        # past one INFO period, so every replica's offset and link state are fresh
        time.sleep(11)

    def keep_logs(self):
        """Copies the Sentinels' logs somewhere that outlives the run; returns where."""
        dest = tempfile.mkdtemp(prefix="failover-slow-")
        for p in self.sentinel_ports:
            src = os.path.join(self.dir, "s%d.log" % p)
            if os.path.exists(src):
                shutil.copy(src, dest)
        return dest

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def one_run(binary, down_after, failover_timeout):
    g = Group(binary, down_after, failover_timeout)
    try:
        g.settle()
        old = g.data_ports[0]
        assert master_from_sentinels(g.sentinel_ports) == old
        n = 0
        while command(old, "SET", "k", n) != b"+OK\r\n":
            time.sleep(0.01)
        g.procs[0].kill()
        t0 = time.time()
        deadline = t0 + 120
        while time.time() < deadline:
            n += 1
            port = master_from_sentinels(g.sentinel_ports)
            if port and port != old and command(port, "SET", "k", n) == b"+OK\r\n":
                took = time.time() - t0
                if took > 2 * down_after / 1000 + 5:
                    print("slow failover (%.2f s): Sentinel logs kept in %s" % (took, g.keep_logs()),
                          flush=True)
                return took
            time.sleep(0.01)
        raise RuntimeError("no new master accepted a write within 120 s")
    finally:
        g.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redust", default=DEFAULT_REDUST)
    ap.add_argument("--redis", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--down-after", type=int, default=3000)
    ap.add_argument("--failover-timeout", type=int, default=10000)
    opts = ap.parse_args()
    times = {"redust": [], "redis": []}
    for i in range(opts.runs):
        for name, binary in (("redust", opts.redust), ("redis", opts.redis)):
            t = one_run(binary, opts.down_after, opts.failover_timeout)
            times[name].append(t)
            print("run %d %-6s %.2f s" % (i + 1, name, t), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print("| down-after | redust median (s) | Redis median (s) | redust/Redis |")
    print("|---|---|---|---|")
    print("| %d ms | %.2f | %.2f | %.2f |" % (opts.down_after, med["redust"], med["redis"],
                                             med["redust"] / med["redis"]))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
