"""Helpers for test_sentinel.py: Sentinel processes, a master + replicas + Sentinels
deployment, and event recorders (PSUBSCRIBE * on every Sentinel).

Every process (data node or Sentinel) is started from the REDUST_SERVER binary (or the
``binary`` given), on a free loopback port, in its own temp dir; ``Deployment.cleanup``
kills and removes them all. Sentinels are started as the tutorials do: a config file
(``port``, ``dir``, ``logfile``, ``sentinel monitor ...``, down-after, failover-timeout,
parallel-syncs) plus ``--sentinel``.
"""

import os
import signal
import threading
import time

from helpers import (
    HOST,
    REPL_ARGS,
    SERVER_BIN,
    Client,
    ConnectionClosed,
    RespError,
    Server,
    parse_info,
    repl_info,
    wait_online,
    wait_until,
)

MASTER = "mymaster"
# Fast Sentinel timings used throughout (see sentinel_config).
DOWN_AFTER = 1000
FAILOVER_TIMEOUT = 5000
# SENTINEL DEBUG knobs sent to every Sentinel after start (process-wide, not persisted):
# * info-period 1000: INFO every second (a returning old master is converted within ~3 s
#   instead of ~18 s);
# * publish-period 500: hellos twice a second (faster discovery; convert-to-slave waits
#   4 x this);
# * ping-period 250: PING (and reconnect attempts) 4 times a second. With the default
#   1000 = down-after, the promoted replica's CLIENT KILL TYPE normal (which drops every
#   Sentinel's command link) plus the once-per-ping-period reconnect can exceed
#   down-after, and all Sentinels then see the *new* master SDOWN/ODOWN (seen with Redis).
DEBUG_KNOBS = ("info-period", "1000", "publish-period", "500", "ping-period", "250")


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no %s)" % path
    return "\n".join(lines[-n:])


def fields(record):
    """A SENTINEL MASTER/REPLICAS/SENTINELS record (RESP2 flat array) -> dict of str."""
    assert isinstance(record, list) and len(record) % 2 == 0, record
    out = {}
    for i in range(0, len(record), 2):
        k, v = record[i], record[i + 1]
        out[k.decode() if isinstance(k, bytes) else k] = v.decode() if isinstance(v, bytes) else v
    return out


def names(record):
    return [record[i].decode() for i in range(0, len(record), 2)]


def sentinel_config(port, dir_, master_port, name=MASTER, quorum=2, down_after=DOWN_AFTER,
                    failover_timeout=FAILOVER_TIMEOUT, parallel_syncs=1, extra="", header=""):
    return (
        "%s"
        "port %d\n"
        "bind %s\n"
        "daemonize no\n"
        "dir %s\n"
        "logfile %s\n"
        "sentinel monitor %s %s %d %d\n"
        "sentinel down-after-milliseconds %s %d\n"
        "sentinel failover-timeout %s %d\n"
        "sentinel parallel-syncs %s %d\n"
        "%s"
    ) % (header, port, HOST, dir_, os.path.join(dir_, "sentinel.log"), name, HOST, master_port, quorum,
         name, down_after, name, failover_timeout, name, parallel_syncs, extra)


class SentinelServer(Server):
    """A Sentinel: ``<binary> <dir>/sentinel.conf --sentinel``.

    ``config_fn(port, dir)`` returns the config text; it is written when the process is
    first started (again only if a port clash forced a new port before the first
    successful start). Restarts reuse the file as Sentinel rewrote it.
    """

    def __init__(self, config_fn, binary=None, start_timeout=15.0):
        super().__init__(base_args=False, binary=binary, start_timeout=start_timeout)
        self.config_fn = config_fn
        self.config_path = os.path.join(self.dir, "sentinel.conf")
        self.logfile = os.path.join(self.dir, "sentinel.log")
        self._written_for = None
        self._started_once = False

    def command_line(self, port):
        if not self._started_once and self._written_for != port:
            with open(self.config_path, "w") as f:
                f.write(self.config_fn(port, self.dir))
            self._written_for = port
        return [self.binary, self.config_path, "--sentinel"]

    def start(self, port=None, retries=3):
        super().start(port=port, retries=retries)
        self._started_once = True
        return self

    def log(self):
        # Server.start looks for "already in use" here: Sentinel writes to its logfile.
        return super().log() + tail(self.logfile, 200)

    def log_tail(self, n=40):
        return "--- sentinel :%s (%s) ---\n%s" % (self.port, self.dir, tail(self.logfile, n))

    def read_config(self):
        with open(self.config_path) as f:
            return f.read()


class EventRecorder:
    """PSUBSCRIBE * (or SUBSCRIBE <channels>) on a Sentinel from a thread; keeps
    (monotonic time, kind, channel, message) of every message, all as str."""

    def __init__(self, port, channels=None, label=None):
        self.port = port
        self.label = label or str(port)
        self.events = []
        self.lock = threading.Lock()
        self.cl = Client(port, timeout=10)
        if channels:
            self.confirm = self.cl.call("SUBSCRIBE", *channels)
            for _ in channels[1:]:
                self.cl.read_reply()
        else:
            self.confirm = self.cl.call("PSUBSCRIBE", "*")
        self.cl.settimeout(None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                msg = self.cl.read_reply(raise_errors=False)
            except (ConnectionClosed, OSError, AssertionError, ValueError):
                return
            if not isinstance(msg, list):
                continue
            msg = [m.decode("utf-8", "replace") if isinstance(m, bytes) else m for m in msg]
            now = time.monotonic()
            with self.lock:
                if msg[0] == "pmessage":
                    self.events.append((now, "pmessage", msg[2], msg[3]))
                elif msg[0] == "message":
                    self.events.append((now, "message", msg[1], msg[2]))

    def stop(self):
        import socket

        try:
            self.cl.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.cl.close()
        self.thread.join(timeout=2)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def find(self, channel, contains=None, after=0.0):
        return [e for e in self.snapshot()
                if e[2] == channel and e[0] >= after and (contains is None or contains in e[3])]

    def channels(self):
        return [e[2] for e in self.snapshot()]

    def dump(self, n=60):
        return "--- events on :%s ---\n%s" % (
            self.label, "\n".join("%s %s" % (e[2], e[3]) for e in self.snapshot()[-n:]))


class Deployment:
    """A master, ``replicas`` replicas and ``sentinels`` Sentinels monitoring it."""

    def __init__(self, binary=None):
        self.binary = binary or SERVER_BIN
        self.master = None
        self.replicas = []
        self.sentinels = []
        self.recorders = []
        self.extra = []  # other processes to clean up

    # -- data nodes ---------------------------------------------------------
    def data_node(self, *args):
        s = Server(args=[*REPL_ARGS, *[str(a) for a in args]], binary=self.binary)
        self.extra.append(s)
        s.start()
        return s

    def start_data(self, replicas=2):
        self.master = self.data_node()
        for _ in range(replicas):
            self.replicas.append(self.data_node("--replicaof", HOST, self.master.port))
        mc = self.master.client()
        wait_online(mc, replicas)
        mc.close()
        return self

    @property
    def data_nodes(self):
        return [self.master, *self.replicas]

    def node_by_port(self, port):
        for s in self.data_nodes:
            if s.port == int(port):
                return s
        raise KeyError(port)

    # -- sentinels ----------------------------------------------------------
    def add_sentinel(self, master_port=None, knobs=True, record=True, config_fn=None, **cfg):
        """Start one more Sentinel. ``config_fn(port, dir)`` overrides the config text
        (default: ``sentinel_config`` for this master with ``cfg``)."""
        mp = master_port if master_port is not None else self.master.port
        if config_fn is None:
            def config_fn(port, d):
                return sentinel_config(port, d, mp, **cfg)
        s = SentinelServer(config_fn, binary=self.binary)
        self.sentinels.append(s)
        s.start()
        if knobs:
            self.debug_knobs(s)
        if record:
            self.recorders.append(EventRecorder(s.port, label="sentinel :%d" % s.port))
        else:
            self.recorders.append(None)
        return s

    def debug_knobs(self, s):
        c = Client(s.port)
        try:
            assert c.call("SENTINEL", "DEBUG", *DEBUG_KNOBS) == "OK"
        finally:
            c.close()

    def start_sentinels(self, n=3, **cfg):
        for _ in range(n):
            self.add_sentinel(**cfg)
        return self

    def call(self, i, *args):
        """One command on Sentinel ``i`` (a fresh connection); errors raise RespError."""
        c = Client(self.sentinels[i].port, timeout=10)
        try:
            return c.call(*args)
        finally:
            c.close()

    def err(self, i, *args):
        c = Client(self.sentinels[i].port, timeout=10)
        try:
            return c.err(*args)
        finally:
            c.close()

    def alive_sentinels(self):
        return [i for i, s in enumerate(self.sentinels) if s.is_alive()]

    def master_addr(self, i):
        a = self.call(i, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
        return None if a is None else (a[0].decode(), int(a[1]))

    def sentinel_info(self, i):
        return parse_info(self.call(i, "INFO", "sentinel"))[1]

    def wait_discovery(self, replicas=None, timeout=20):
        """Every live Sentinel sees the master ok with all replicas and all other Sentinels."""
        nrep = len(self.replicas) if replicas is None else replicas
        alive = self.alive_sentinels()
        want = "name=%s,status=ok,address=%s:%d,slaves=%d,sentinels=%d" % (
            MASTER, HOST, self.master.port, nrep, len(self.sentinels))

        def linked(i):
            # every record connected, and an INFO reply seen from the master and each replica
            m = fields(self.call(i, "SENTINEL", "MASTER", MASTER))
            reps = [fields(r) for r in self.call(i, "SENTINEL", "REPLICAS", MASTER)]
            sents = [fields(r) for r in self.call(i, "SENTINEL", "SENTINELS", MASTER)]
            return (m["flags"] == "master" and m["runid"] != ""
                    and all(r["flags"] == "slave" and r["runid"] != "" and r["master-link-status"] == "ok"
                            for r in reps)
                    and all(s["flags"] == "sentinel" for s in sents))

        def ok():
            return all(self.sentinel_info(i).get("master0") == want and linked(i) for i in alive)

        self.wait(ok, timeout, "discovery: every Sentinel shows master0:%s, all links up" % want)

    # -- diagnostics / waiting ---------------------------------------------
    def diag(self, n=30):
        parts = []
        for s in self.sentinels:
            parts.append(s.log_tail(n))
        for r in self.recorders:
            if r is not None:
                parts.append(r.dump(n))
        return "\n".join(parts)

    def wait(self, cond, timeout, what, interval=0.05):
        try:
            return wait_until(cond, timeout, interval=interval, msg=what)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.diag())) from None

    def check(self, ok, what):
        if not ok:
            raise AssertionError("%s\n%s" % (what, self.diag()))

    def wait_event(self, i, channel, contains=None, timeout=20, after=0.0):
        rec = self.recorders[i]
        return self.wait(lambda: rec.find(channel, contains, after), timeout,
                         "event %s %r on sentinel %d" % (channel, contains, i))

    def wait_new_master(self, old_port, timeout=30):
        """Every live Sentinel reports a master other than ``old_port``; returns its port."""
        alive = self.alive_sentinels()

        def ok():
            addrs = {self.master_addr(i) for i in alive}
            if len(addrs) == 1:
                (addr,) = addrs
                if addr[1] != old_port:
                    return addr[1]
            return None

        return self.wait(ok, timeout, "all Sentinels agree on a new master (old %d)" % old_port)

    def wait_role(self, node, role, master_port=None, timeout=20):
        def ok():
            c = Client(node.port, timeout=5)
            try:
                info = repl_info(c)
            finally:
                c.close()
            if info["role"] != role:
                return False
            if master_port is not None:
                return info["master_port"] == str(master_port) and info["master_link_status"] == "up"
            return True

        self.wait(ok, timeout, "node :%d role %s (master %s)" % (node.port, role, master_port))

    def cleanup(self):
        for r in self.recorders:
            if r is not None:
                r.stop()
        for s in [*self.sentinels, *self.extra]:
            if s.proc is not None and s.is_alive():
                try:
                    os.kill(s.proc.pid, signal.SIGCONT)  # in case a test left it stopped
                except OSError:
                    pass
            s.cleanup()


__all__ = [
    "MASTER", "DOWN_AFTER", "FAILOVER_TIMEOUT", "DEBUG_KNOBS", "Deployment", "EventRecorder",
    "SentinelServer", "sentinel_config", "fields", "names", "tail", "RespError",
]
