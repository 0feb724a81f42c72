#!/usr/bin/env python3
"""Lost-writes checker for Sentinel failovers (Jepsen-style).

For every (fault, implementation) pair: start one master, two replicas and three
Sentinels (quorum 2) from the same binary, each behind its own TCP fault proxy
(faultproxy.py), so every process reaches every other one only through proxies. Four
writer threads SET unique keys on the master's real port and record each write whose
reply was +OK. A fault is injected on the master for --seconds, then healed; once the
Sentinels agree on one master and every node has caught up, every acknowledged key is
looked up on the surviving master. Lost = acknowledged but missing (or wrong value).

    python3 tests/lostwrites/lostwrites.py --server /usr/bin/redis-server --fault partition
    python3 tests/lostwrites/lostwrites.py --all \\
        --server /usr/bin/redis-server:redis \\
        --server /tmp/redust-server-snap:redust \\
        --server /tmp/redust-server-snap:redust-safe --mode-args "--safe-writes yes" \\
        --expect-zero redust-safe

A variant is a binary, extra data-node arguments (--mode-args, after the config file on
the command line, so they override it) and extra Sentinel config lines (--sentinel-conf);
both options apply to the --server given just before them. See README.md.

Standard library only (Python 3.11).
"""

import argparse
import atexit
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from faultproxy import FaultProxy, ProxyLoop  # noqa: E402

FAULTS = ("kill", "pause", "partition", "link-reset", "link-hang")
# faults after which the Sentinels are expected to elect a new master (if --seconds is
# longer than down-after); link-reset is expected to leave the master in place
FAILOVER_FAULTS = ("kill", "pause", "partition", "link-hang")
MASTER_NAME = "mymaster"

_LIVE_PROCS = set()  # every child process still to be killed, whatever happens


def _kill_all_children():
    for p in list(_LIVE_PROCS):
        try:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        except Exception:
            pass
        _LIVE_PROCS.discard(p)


atexit.register(_kill_all_children)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# RESP client


class Err(str):
    """An error reply."""


class ProtocolError(Exception):
    pass


class Conn:
    def __init__(self, port, timeout=1.0, connect_timeout=None):
        self.port = port
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=connect_timeout if connect_timeout else timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Unblock a thread waiting on this connection (called from another thread)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("connection closed by peer")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        d = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return d

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Err(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ProtocolError("unexpected reply %r" % line[:80])

    def call(self, *args):
        self.sock.sendall(self.encode(args))
        return self.read()


def call(port, *args, timeout=0.5):
    """One command over a fresh connection; the reply, or None if unreachable/timed out."""
    try:
        c = Conn(port, timeout=timeout)
    except OSError:
        return None
    try:
        return c.call(*args)
    except (OSError, ProtocolError, ValueError):
        return None
    finally:
        c.close()


def parse_info(reply):
    out = {}
    if not isinstance(reply, bytes):
        return out
    for line in reply.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def kv(flat):
    """A flat [k, v, k, v, ...] array as a dict of str."""
    d = {}
    if isinstance(flat, list):
        for i in range(0, len(flat) - 1, 2):
            k, v = flat[i], flat[i + 1]
            d[k.decode() if isinstance(k, bytes) else str(k)] = (
                v.decode() if isinstance(v, bytes) else v)
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=25):
    if not os.path.exists(path):
        return []
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return lines[-n:]
    except OSError as e:
        return ["(cannot read %s: %s)" % (path, e)]


# --------------------------------------------------------------------------------------
# variants and options


class Variant:
    def __init__(self, path, label):
        self.path = path
        self.label = label
        self.mode_args = []       # extra data-node command-line arguments
        self.sentinel_conf = []   # extra Sentinel config lines

    def describe(self):
        s = "%s = %s" % (self.label, self.path)
        if self.mode_args:
            s += "  data-node args: %s" % " ".join(shlex.quote(a) for a in self.mode_args)
        if self.sentinel_conf:
            s += "  sentinel conf: %s" % " | ".join(self.sentinel_conf)
        return s


def default_label(path):
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    if "redust" in out:
        return "redust"
    for tok in out.split():
        if tok.startswith("v="):
            return "redis-" + ".".join(tok[2:].split(".")[:2])
    return os.path.basename(path)


class ServerAction(argparse.Action):
    def __call__(self, parser, ns, value, option_string=None):
        variants = getattr(ns, "variants", None) or []
        path, sep, label = value.partition(":")
        # Processes run in their own directories: a relative path is made
        # absolute here.
        if os.sep in path:
            path = os.path.abspath(path)
        v = Variant(path, label if sep else None)
        variants.append(v)
        ns.variants = variants


class VariantOption(argparse.Action):
    """--mode-args / --sentinel-conf: attach to the --server given just before."""

    def __call__(self, parser, ns, value, option_string=None):
        variants = getattr(ns, "variants", None)
        if not variants:
            parser.error("%s must follow the --server it applies to" % option_string)
        v = variants[-1]
        if self.dest == "mode_args":
            v.mode_args += shlex.split(value)
        else:
            v.sentinel_conf.append(value)


# --------------------------------------------------------------------------------------
# the group: 3 data nodes + 3 Sentinels, each behind a fault proxy


class Node:
    def __init__(self, kind, index, real_port, proxy, directory):
        self.kind = kind            # "data" or "sentinel"
        self.index = index
        self.name = ("n%d" if kind == "data" else "s%d") % index
        self.real_port = real_port
        self.proxy = proxy
        self.dir = directory
        self.conf = os.path.join(directory, "node.conf")
        self.logfile = os.path.join(directory, "server.log")
        self.stdout = os.path.join(directory, "stdout.log")
        self.argv = None
        self.proc = None
        self.paused = False

    @property
    def proxy_port(self):
        return self.proxy.port

    def start(self):
        out = open(self.stdout, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.dir, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            out.close()
        _LIVE_PROCS.add(self.proc)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None:
            _LIVE_PROCS.discard(self.proc)
        self.paused = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("%s (%s) exited with status %s at startup:\n  %s" % (
                    self.name, " ".join(self.argv), self.proc.returncode,
                    "\n  ".join(tail(self.stdout, 10) + tail(self.logfile, 10))))
            if call(self.real_port, "PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("%s did not answer PING within %ss" % (self.name, timeout))


class Group:
    def __init__(self, variant, opts, ploop):
        self.variant = variant
        self.opts = opts
        self.ploop = ploop
        self.dir = tempfile.mkdtemp(prefix="lostwrites-")
        self.data = []
        self.sentinels = []
        self.events = []
        self.t0 = time.monotonic()
        self._ev_lock = threading.Lock()
        self._monitor_stop = threading.Event()
        self._monitor = None
        self.sentinel_view = {}   # sentinel name -> proxy port it reports as master
        self.role_view = {}       # data node name -> role summary string

    # ----- bookkeeping -----

    def now(self):
        return time.monotonic() - self.t0

    def event(self, text, wall=False):
        if wall:  # to line up with the servers' logs
            t = time.time()
            text += " (%s.%03d)" % (time.strftime("%H:%M:%S", time.localtime(t)),
                                    int(t * 1000) % 1000)
        with self._ev_lock:
            self.events.append((self.now(), text))
        if self.opts.verbose:
            log("    %7.2fs  %s" % (self.now(), text))

    def by_proxy_port(self, port):
        for n in self.data:
            if n.proxy_port == port:
                return n
        return None

    # ----- startup -----

    def start(self):
        for kind, count, out in (("data", 3, self.data), ("sentinel", 3, self.sentinels)):
            for i in range(count):
                d = os.path.join(self.dir, ("n%d" if kind == "data" else "s%d") % i)
                os.makedirs(d)
                real = free_port()
                proxy = FaultProxy(self.ploop, real, name="%s%d" % (kind[0], i))
                out.append(Node(kind, i, real, proxy, d))
        master = self.data[0]
        for n in self.data:
            lines = [
                "port %d" % n.real_port,
                "bind 127.0.0.1",
                "dir %s" % n.dir,
                "logfile %s" % n.logfile,
                'save ""',
                "appendonly no",
                "repl-diskless-sync-delay 0",
                "replica-announce-ip 127.0.0.1",
                "replica-announce-port %d" % n.proxy_port,
            ]
            if n is not master:
                lines.append("replicaof 127.0.0.1 %d" % master.proxy_port)
            with open(n.conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            n.argv = [self.variant.path, n.conf] + list(self.variant.mode_args)
        for s in self.sentinels:
            lines = [
                "port %d" % s.real_port,
                "bind 127.0.0.1",
                "dir %s" % s.dir,
                "logfile %s" % s.logfile,
                "sentinel announce-ip 127.0.0.1",
                "sentinel announce-port %d" % s.proxy_port,
                "sentinel monitor %s 127.0.0.1 %d 2" % (MASTER_NAME, master.proxy_port),
                "sentinel down-after-milliseconds %s %d" % (MASTER_NAME, self.opts.down_after),
                "sentinel failover-timeout %s %d" % (MASTER_NAME, self.opts.failover_timeout),
            ] + list(self.variant.sentinel_conf)
            with open(s.conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            s.argv = [self.variant.path, s.conf, "--sentinel"]

        master.start()
        master.wait_ready()
        for n in self.data[1:]:
            n.start()
        for n in self.data[1:]:
            n.wait_ready()
        self.wait_for(self._replicas_online, 30, "both replicas in sync with the master")
        for s in self.sentinels:
            s.start()
        for s in self.sentinels:
            s.wait_ready()
        self.wait_for(self._sentinels_ready, 40,
                      "every Sentinel sees the master, 2 replicas and 2 other Sentinels")
        self.event("group ready: master n0 (real %d, proxy %d)" % (
            master.real_port, master.proxy_port))
        self._monitor = threading.Thread(target=self._monitor_loop, daemon=True)
        self._monitor.start()

    def wait_for(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.1)
        raise TimeoutError("timed out after %ss waiting until %s" % (timeout, what))

    def _replicas_online(self):
        info = parse_info(call(self.data[0].real_port, "INFO", "replication"))
        online = [v for k, v in info.items() if k.startswith("slave") and k[5:].isdigit()
                  and "state=online" in v]
        return len(online) == 2

    def _sentinels_ready(self):
        for s in self.sentinels:
            m = kv(call(s.real_port, "SENTINEL", "MASTER", MASTER_NAME))
            if m.get("flags") != "master":
                return False
            reps = call(s.real_port, "SENTINEL", "REPLICAS", MASTER_NAME)
            if not isinstance(reps, list) or len(reps) != 2:
                return False
            for r in reps:
                r = kv(r)
                if r.get("flags") != "slave" or r.get("master-link-status") != "ok":
                    return False
            sens = call(s.real_port, "SENTINEL", "SENTINELS", MASTER_NAME)
            if not isinstance(sens, list) or len(sens) != 2:
                return False
            for o in sens:
                if kv(o).get("flags") != "sentinel":
                    return False
        return True

    # ----- observation -----

    def sentinel_master(self, s, timeout=0.5):
        """The proxy port a Sentinel reports as the master, or None."""
        r = call(s.real_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME,
                 timeout=timeout)
        if isinstance(r, list) and len(r) == 2:
            try:
                return int(r[1])
            except (TypeError, ValueError):
                return None
        return None

    def role(self, n, timeout=0.3):
        """('master', offset) / ('slave', master proxy port, state, offset) / None."""
        r = call(n.real_port, "ROLE", timeout=timeout)
        if not isinstance(r, list) or not r:
            return None
        kind = r[0].decode() if isinstance(r[0], bytes) else str(r[0])
        try:
            if kind == "master":
                return ("master", int(r[1]))
            if kind == "slave":
                return ("slave", int(r[2]), r[3].decode(), int(r[4]))
        except (IndexError, ValueError, AttributeError):
            return None
        return (kind,)

    def role_str(self, n, role):
        if role is None:
            return "unreachable" if not n.paused else "paused"
        if role[0] == "master":
            return "master"
        if role[0] == "slave":
            m = self.by_proxy_port(role[1])
            return "replica of %s (%s)" % (m.name if m else role[1], role[2])
        return role[0]

    def _monitor_loop(self):
        while not self._monitor_stop.is_set():
            for s in self.sentinels:
                p = self.sentinel_master(s, timeout=0.3)
                if p is not None and self.sentinel_view.get(s.name) != p:
                    self.sentinel_view[s.name] = p
                    n = self.by_proxy_port(p)
                    self.event("%s reports master %s" % (s.name, n.name if n else p))
            for n in self.data:
                if n.paused:
                    continue
                st = self.role_str(n, self.role(n))
                if self.role_view.get(n.name) != st:
                    self.role_view[n.name] = st
                    self.event("%s is %s" % (n.name, st))
            self._monitor_stop.wait(0.1)

    def first_event(self, prefix_fn, after=0.0):
        with self._ev_lock:
            for t, text in self.events:
                if t >= after and prefix_fn(text):
                    return t
        return None

    def discover_master(self, start=0):
        """Ask the Sentinels (real ports) for the master; map its proxy port to a real port."""
        k = len(self.sentinels)
        for i in range(k):
            s = self.sentinels[(start + i) % k]
            p = self.sentinel_master(s)
            if p is not None:
                n = self.by_proxy_port(p)
                return n.real_port if n else None
        return None

    def converged(self):
        """The master node if the group is settled, else None.

        Settled: every Sentinel names the same master and has no down/failover flag on
        it, that node is a master, and the two others are replicas of it, link up."""
        ports = set()
        for s in self.sentinels:
            p = self.sentinel_master(s)
            if p is None:
                return None
            ports.add(p)
            flags = kv(call(s.real_port, "SENTINEL", "MASTER", MASTER_NAME)).get("flags")
            if flags != "master":
                return None
        if len(ports) != 1:
            return None
        m = self.by_proxy_port(ports.pop())
        if m is None or m.paused:
            return None
        r = self.role(m, timeout=1)
        if not r or r[0] != "master":
            return None
        for n in self.data:
            if n is m:
                continue
            r = self.role(n, timeout=1)
            if not r or r[0] != "slave" or r[1] != m.proxy_port or r[2] != "connected":
                return None
        return m

    def caught_up(self, m):
        r = self.role(m, timeout=1)
        if not r or r[0] != "master":
            return False
        target = r[1]
        for n in self.data:
            if n is m:
                continue
            rr = self.role(n, timeout=1)
            if not rr or rr[0] != "slave" or rr[2] != "connected" or rr[3] < target:
                return False
        return True

    def log_tails(self, nodes, n=25):
        out = []
        for node in nodes:
            out.append("  --- %s (%s) %s" % (node.name, node.logfile, node.kind))
            out += ["    " + line for line in tail(node.logfile, n)]
        return "\n".join(out)

    # ----- teardown -----

    def close(self):
        self._monitor_stop.set()
        for n in self.data + self.sentinels:
            try:
                n.kill()
            except Exception:
                pass
            try:
                n.proxy.close()
            except Exception:
                pass
        if self._monitor is not None:
            self._monitor.join(5)
        if self.opts.keep:
            log("    kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# writers


class Writer(threading.Thread):
    def __init__(self, group, cid, first_port, opts, stop):
        super().__init__(daemon=True, name="writer-%d" % cid)
        self.group = group
        self.cid = cid
        self.port = first_port
        self.opts = opts
        self.stop = stop
        self.acked = []          # (n, t_ack, real port that acked)
        self.attempts = 0
        self.rejected = {}       # error prefix -> count
        self.unknown = 0         # timeouts / connection lost mid-command
        self.conn_failures = 0
        self.conn = None
        self.last_port = first_port
        self._lock = threading.Lock()

    def abort(self):
        with self._lock:
            if self.conn is not None:
                self.conn.abort()

    def _drop(self):
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
        self.port = None

    def run(self):
        g, opts = self.group, self.opts
        interval = 1.0 / opts.rate if opts.rate > 0 else 0
        next_t = time.monotonic()
        n = 0
        while not self.stop.is_set():
            if self.conn is None:
                if self.port is None:
                    self.port = g.discover_master(start=self.cid)
                    if self.port is None:
                        time.sleep(0.1)
                        continue
                try:
                    c = Conn(self.port, timeout=opts.client_timeout, connect_timeout=1.0)
                except OSError:
                    self.conn_failures += 1
                    self.port = None
                    time.sleep(0.1)
                    continue
                with self._lock:
                    self.conn = c
                if c.port != self.last_port:
                    node = next((d.name for d in g.data if d.real_port == c.port), c.port)
                    g.event("writer %d now on %s" % (self.cid, node))
                    self.last_port = c.port
                if self.stop.is_set():
                    break
            n += 1
            self.attempts += 1
            try:
                reply = self.conn.call("SET", "w:%d:%d" % (self.cid, n), n)
            except (OSError, ProtocolError, ValueError):
                self.unknown += 1
                self._drop()
                time.sleep(0.05)
                continue
            if reply == "OK" and not isinstance(reply, Err):
                self.acked.append((n, g.now(), self.conn.port))
            else:
                key = (reply.split(" ", 1)[0] if isinstance(reply, Err) else repr(reply))[:20]
                self.rejected[key] = self.rejected.get(key, 0) + 1
                self._drop()
                time.sleep(0.05)
                continue
            if interval:
                next_t += interval
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -1:
                    next_t = time.monotonic()
        self._drop()


# --------------------------------------------------------------------------------------
# one run


def run_one(variant, fault, opts, ploop, run=1):
    res = {"fault": fault, "implementation": variant.label, "acknowledged": 0, "lost": 0,
           "window_acked": 0, "window_lost": 0, "after_lost": 0, "before_lost": 0,
           "failover": None, "notes": [], "error": None, "converged": False,
           "replica_missing": 0}
    tag = "[%s / %s]" % (fault, variant.label)
    g = Group(variant, opts, ploop)
    stop = threading.Event()
    writers = []
    link_reset_stop = threading.Event()
    try:
        g.start()
        log("%s group ready in %.1fs (%s)" % (tag, g.now(), g.dir))
        old = g.data[0]
        writers = [Writer(g, i, old.real_port, opts, stop) for i in range(opts.writers)]
        for w in writers:
            w.start()
        time.sleep(opts.warmup)

        # ---- inject ----
        t_fault = g.now()
        g.event("FAULT %s on n0 for %ss" % (fault, opts.seconds), wall=True)
        lr_thread = None
        if fault == "kill":
            old.kill()
        elif fault == "pause":
            os.kill(old.proc.pid, signal.SIGSTOP)
            old.paused = True
        elif fault == "partition":
            old.proxy.set_mode("reset")
        elif fault == "link-hang":
            old.proxy.set_mode("hang")
        elif fault == "link-reset":
            rng = random.Random(opts.seed * 1000 + run)  # same sequence for every variant

            def pulse():
                while not link_reset_stop.is_set():
                    period = opts.link_reset_period * (
                        1 + rng.uniform(-opts.link_reset_jitter, opts.link_reset_jitter))
                    old.proxy.set_mode("reset")
                    link_reset_stop.wait(opts.link_reset_hold)
                    old.proxy.set_mode("pass")
                    link_reset_stop.wait(max(0.0, period - opts.link_reset_hold))
            lr_thread = threading.Thread(target=pulse, daemon=True)
            lr_thread.start()
        time.sleep(max(0.0, t_fault + opts.seconds - g.now()))

        # ---- heal ----
        if fault == "kill":
            # restart only after the failover, so the old master comes back as a replica
            def failed_over():
                views = [g.sentinel_master(s) for s in g.sentinels]
                return all(v is not None and v != old.proxy_port for v in views)
            try:
                g.wait_for(failed_over, opts.failover_wait, "every Sentinel names a new master")
            except TimeoutError as e:
                res["notes"].append("no failover before restart (%s)" % e)
            t_heal = g.now()
            old.start()
            try:
                old.wait_ready()
            except RuntimeError as e:
                res["notes"].append(str(e))
        elif fault == "pause":
            os.kill(old.proc.pid, signal.SIGCONT)
            old.paused = False
        elif fault in ("partition", "link-hang"):
            old.proxy.set_mode("pass")
        elif fault == "link-reset":
            link_reset_stop.set()
            lr_thread.join(5)
            old.proxy.set_mode("pass")
        if fault != "kill":
            t_heal = g.now()
        g.event("HEALED %s" % fault, wall=True)

        # ---- settle ----
        master = None
        stable_since = None
        deadline = time.monotonic() + opts.converge_timeout
        while time.monotonic() < deadline:
            m = g.converged()
            if m is not None and (stable_since is None or stable_since[0] is not m):
                stable_since = (m, time.monotonic())
            elif m is None:
                stable_since = None
            if stable_since and time.monotonic() - stable_since[1] >= opts.stable:
                master = m
                break
            time.sleep(0.1)
        stop.set()
        for w in writers:
            w.abort()
        for w in writers:
            w.join(opts.client_timeout + 5)
        t_stop = g.now()
        g.event("writers stopped")

        if master is not None:
            res["converged"] = True
            try:
                g.wait_for(lambda: g.caught_up(master), opts.converge_timeout,
                           "every replica caught up with %s" % master.name)
            except TimeoutError as e:
                res["notes"].append(str(e))
                res["converged"] = False
        else:
            res["notes"].append("NOT CONVERGED within %ss after heal" % opts.converge_timeout)
            # read from whatever the Sentinels' majority names, if it is a master
            views = [g.sentinel_master(s) for s in g.sentinels]
            views = [v for v in views if v is not None]
            cand = max(set(views), key=views.count) if views else None
            master = g.by_proxy_port(cand) if cand else None
            if master is None or (g.role(master) or ("?",))[0] != "master":
                masters = [n for n in g.data if (g.role(n) or ("?",))[0] == "master"]
                master = masters[0] if masters else None
            if master is None:
                raise RuntimeError("no master to read from after the fault")
            res["notes"].append("read from %s" % master.name)
        g._monitor_stop.set()

        # ---- failover summary ----
        res["failover"] = master is not old
        t_switch = g.first_event(lambda s: s.startswith("s") and "reports master" in s
                                 and not s.endswith(" n0"), after=t_fault)
        t_demote = g.first_event(lambda s: s.startswith("n0 is replica"), after=t_fault)
        res["final_master"] = master.name
        res["t_fault"], res["t_heal"], res["t_stop"] = t_fault, t_heal, t_stop
        res["failover_after_s"] = None if t_switch is None else round(t_switch - t_fault, 2)
        res["old_master_demoted_after_heal_s"] = (
            None if t_demote is None else round(t_demote - t_heal, 2))
        if fault in FAILOVER_FAULTS and opts.seconds * 1000 > opts.down_after and \
                not res["failover"]:
            res["notes"].append("NO FAILOVER (expected one: %ss fault > down-after %sms)"
                                % (opts.seconds, opts.down_after))
            res["sentinel_logs"] = g.log_tails(g.sentinels)

        # ---- check every acknowledged write ----
        acked = []
        for w in writers:
            for (n, t, port) in w.acked:
                acked.append((w.cid, n, t, port))
        res["acknowledged"] = len(acked)
        present = read_keys(master.real_port, acked)
        lost = [a for a, ok in zip(acked, present) if not ok]
        res["lost"] = len(lost)
        res["window_acked"] = sum(1 for a in acked if t_fault <= a[2] <= t_heal)
        res["window_lost"] = sum(1 for a in lost if t_fault <= a[2] <= t_heal)
        res["before_lost"] = sum(1 for a in lost if a[2] < t_fault)
        res["after_lost"] = sum(1 for a in lost if a[2] > t_heal)
        by_node = {}
        for a in lost:
            n = next((d.name for d in g.data if d.real_port == a[3]), str(a[3]))
            by_node[n] = by_node.get(n, 0) + 1
        res["lost_by_acking_node"] = by_node
        if lost:
            res["last_lost_after_heal_s"] = round(max(a[2] for a in lost) - t_heal, 2)
        # replicas must hold what the master holds (a replication check, not a lost write)
        if res["converged"]:
            kept = [a for a, ok in zip(acked, present) if ok]
            for n in g.data:
                if n is master:
                    continue
                on_rep = read_keys(n.real_port, kept)
                miss = sum(1 for ok in on_rep if not ok)
                res["replica_missing"] = max(res["replica_missing"], miss)
                if miss:
                    res["notes"].append("%s lacks %d keys the master has" % (n.name, miss))
        res["writers"] = {
            "attempts": sum(w.attempts for w in writers),
            "unknown": sum(w.unknown for w in writers),
            "rejected": merge_counts(w.rejected for w in writers),
            "connect_failures": sum(w.conn_failures for w in writers),
        }
        res["events"] = [("%.2f" % t, e) for t, e in g.events]
        log("%s acked %d (in window %d), lost %d (in window %d, after heal %d); "
            "failover %s%s" % (
                tag, res["acknowledged"], res["window_acked"], res["lost"],
                res["window_lost"], res["after_lost"],
                "%s at +%ss" % (master.name, res["failover_after_s"]) if res["failover"]
                else "none", "; " + "; ".join(res["notes"]) if res["notes"] else ""))
        if res.get("sentinel_logs"):
            log("%s Sentinel logs (tail):\n%s" % (tag, res["sentinel_logs"]))
    except BaseException as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("%s %s" % (tag, "interrupted" if isinstance(e, (KeyboardInterrupt, SystemExit))
                       else "ERROR " + res["error"]))
        if not isinstance(e, (KeyboardInterrupt, SystemExit)):
            try:
                log(g.log_tails(g.data + g.sentinels, 15))
                log("  --- events\n" + "\n".join("    %7.2fs  %s" % ev for ev in g.events))
            except Exception:
                pass
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
    finally:
        stop.set()
        link_reset_stop.set()
        for w in writers:
            w.abort()
        g.close()
    if opts.verbose and res.get("events"):
        log("%s timeline:\n%s" % (tag, "\n".join("    %7ss  %s" % ev for ev in res["events"])))
    return res


def merge_counts(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def read_keys(port, acked, batch=1000):
    """For each (cid, n, ...) whether key w:cid:n holds n on the node at port."""
    out = []
    c = Conn(port, timeout=10)
    try:
        for i in range(0, len(acked), batch):
            chunk = acked[i:i + batch]
            r = c.call("MGET", *["w:%d:%d" % (a[0], a[1]) for a in chunk])
            if not isinstance(r, list) or len(r) != len(chunk):
                raise RuntimeError("MGET on %d failed: %r" % (port, r if not isinstance(r, list)
                                                             else "wrong length"))
            out += [v == str(a[1]).encode() for a, v in zip(chunk, r)]
    finally:
        c.close()
    return out


# --------------------------------------------------------------------------------------
# report


def short(text, n=300):
    """An error's first meaningful lines, on one line."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip() and "***" not in ln]
    out = " / ".join(lines[:4])
    return out if len(out) <= n else out[:n - 3] + "..."


def pct(a, b):
    if not b:
        return "-"
    x = 100.0 * a / b
    return "%.3f%%" % x if 0 < x < 0.1 else "%.1f%%" % x


def table(results, with_run=False):
    head = ["fault", "implementation", "acknowledged", "lost", "lost %", "acked in window",
            "lost in window", "lost after heal", "failover", "notes"]
    rows = []
    for r in results:
        impl = r["implementation"] + (" #%d" % r.get("run", 1) if with_run else "")
        if r["error"]:
            rows.append([r["fault"], impl, "-", "-", "-", "-", "-", "-", "-",
                         "ERROR " + short(r["error"])])
            continue
        fo = "none"
        if r["failover"]:
            fo = "%s +%ss" % (r["final_master"], r["failover_after_s"])
        notes = list(r["notes"])
        rows.append([r["fault"], impl, str(r["acknowledged"]), str(r["lost"]),
                     pct(r["lost"], r["acknowledged"]), str(r["window_acked"]),
                     "%d (%s)" % (r["window_lost"], pct(r["window_lost"], r["window_acked"])),
                     str(r["after_lost"]), fo, "; ".join(notes)])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    widths[-1] = len(head[-1])  # notes: no padding

    def fmt(row):
        return " | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    lines = [fmt(head), "-+-".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def matrix(results):
    """fault x implementation: lost/acknowledged (lost %), summed over runs."""
    impls, faults, cells = [], [], {}
    for r in results:
        if r["implementation"] not in impls:
            impls.append(r["implementation"])
        if r["fault"] not in faults:
            faults.append(r["fault"])
        c = cells.setdefault((r["fault"], r["implementation"]), [0, 0, 0, 0])
        if r["error"]:
            c[3] += 1
            continue
        c[0] += r["lost"]
        c[1] += r["acknowledged"]
        c[2] += 0 if r["failover"] or r["fault"] not in FAILOVER_FAULTS else 1
    rows = [["lost/acknowledged"] + impls]
    for f in faults:
        row = [f]
        for i in impls:
            c = cells.get((f, i))
            if c is None:
                row.append("")
                continue
            txt = "%d/%d (%s)" % (c[0], c[1], pct(c[0], c[1]))
            if c[2]:
                txt += " no-failover x%d" % c[2]
            if c[3]:
                txt += " error x%d" % c[3]
            row.append(txt)
        rows.append(row)
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    out = [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Lost-writes checker for Sentinel failovers (see README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--server", action=ServerAction, metavar="PATH[:LABEL]", dest="variants",
                    help="an implementation (binary for data nodes and Sentinels); "
                         "repeatable. Default: /usr/bin/redis-server")
    ap.add_argument("--mode-args", action=VariantOption, metavar="ARGS", dest="mode_args",
                    help="extra data-node arguments for the preceding --server "
                         "(shell-split, appended after the config file)")
    ap.add_argument("--sentinel-conf", action=VariantOption, metavar="LINE",
                    dest="sentinel_conf",
                    help="extra Sentinel config line for the preceding --server; repeatable "
                         "(the master is named %s)" % MASTER_NAME)
    ap.add_argument("--fault", action="append", choices=FAULTS,
                    help="fault to inject; repeatable")
    ap.add_argument("--all", action="store_true", help="every fault")
    ap.add_argument("--seconds", type=float, default=8.0, help="fault duration")
    ap.add_argument("--down-after", type=int, default=2000,
                    help="sentinel down-after-milliseconds")
    ap.add_argument("--failover-timeout", type=int, default=10000,
                    help="sentinel failover-timeout (ms)")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=500,
                    help="writes per second per writer (0: as fast as possible)")
    ap.add_argument("--client-timeout", type=float, default=30.0,
                    help="writers' reply timeout in seconds (a timed-out write is not "
                         "acknowledged); longer than the fault by default, like a client "
                         "without a timeout")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="seconds of writes before the fault")
    ap.add_argument("--converge-timeout", type=float, default=45.0,
                    help="max seconds after healing for the group to settle")
    ap.add_argument("--stable", type=float, default=0.5,
                    help="the settled state must hold this long")
    ap.add_argument("--failover-wait", type=float, default=30.0,
                    help="kill: max seconds to wait for the failover before restarting")
    ap.add_argument("--link-reset-period", type=float, default=0.5)
    ap.add_argument("--link-reset-hold", type=float, default=0.05,
                    help="link-reset: how long each reset refuses connections")
    ap.add_argument("--link-reset-jitter", type=float, default=0.2,
                    help="link-reset: each period is randomly +-this fraction (0: strictly "
                         "periodic, which can phase-lock with a fixed reconnect timer)")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat every (fault, implementation) pair this many times")
    ap.add_argument("--expect-zero", action="append", default=[], metavar="LABEL",
                    help="exit non-zero if this implementation loses any acknowledged write "
                         "(or cannot be checked)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed for the link-reset jitter (default: random, printed)")
    ap.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, configs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the event timeline")
    opts = ap.parse_args(argv)

    variants = opts.variants or [Variant("/usr/bin/redis-server", None)]
    seen = {}
    for v in variants:
        if not os.access(v.path, os.X_OK):
            ap.error("not an executable: %s" % v.path)
        if v.label is None:
            v.label = default_label(v.path)
        if v.label in seen:
            seen[v.label] += 1
            v.label = "%s#%d" % (v.label, seen[v.label])
        else:
            seen[v.label] = 1
    labels = {v.label for v in variants}
    for lab in opts.expect_zero:
        if lab not in labels:
            ap.error("--expect-zero %s: no --server with that label (have: %s)"
                     % (lab, ", ".join(sorted(labels))))
    faults = list(FAULTS) if opts.all else (opts.fault or [])
    if not faults:
        ap.error("give --fault NAME (repeatable) or --all")
    if opts.seed is None:
        opts.seed = random.randrange(1 << 30)
    log("seed %d" % opts.seed)
    if opts.seconds * 1000 <= opts.down_after:
        log("note: --seconds %s is not longer than down-after %sms: no failover expected"
            % (opts.seconds, opts.down_after))

    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    for v in variants:
        log("implementation " + v.describe())
    ploop = ProxyLoop()
    results = []
    interrupted = False
    try:
        for fault in faults:
            for run in range(opts.runs):
                for v in variants:
                    r = run_one(v, fault, opts, ploop, run + 1)
                    r["run"] = run + 1
                    results.append(r)
    except (KeyboardInterrupt, SystemExit):
        interrupted = True
        log("interrupted: every process was killed")
    finally:
        _kill_all_children()
        ploop.close()

    print()
    print("lost writes: %s s fault, %d writers x %s/s, down-after %d ms, failover-timeout %d ms"
          % (opts.seconds, opts.writers, opts.rate or "max", opts.down_after,
             opts.failover_timeout))
    print(table(results, opts.runs > 1))
    if len(variants) > 1 or opts.runs > 1:
        print()
        print(matrix(results))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"options": {k: v for k, v in vars(opts).items() if k != "variants"},
                       "variants": [v.describe() for v in variants],
                       "results": results}, f, indent=1, default=str)

    status = 0
    for r in results:
        if r["implementation"] in opts.expect_zero:
            if r["error"]:
                status = 1
                print("FAIL: %s under %s: could not run: %s" % (
                    r["implementation"], r["fault"], short(r["error"])))
            elif r["lost"] or not r["converged"]:
                status = 1
                print("FAIL: %s lost %s of %s acknowledged writes under %s%s" % (
                    r["implementation"], r["lost"], r["acknowledged"], r["fault"],
                    "" if r["converged"] else " (did not settle)"))
    if status == 0 and any(r["error"] for r in results):
        status = 2
    if interrupted:
        status = 130
    return status


if __name__ == "__main__":
    sys.exit(main())
