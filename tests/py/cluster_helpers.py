"""Helpers for test_cluster_*.py: cluster nodes, a cluster builder, slot maths.

Every node is ``<REDUST_SERVER> <dir>/redis.conf`` (``cluster-enabled yes``,
``cluster-config-file <dir>/nodes.conf``, a short ``cluster-node-timeout``), on a
loopback port ``p`` chosen so that ``p`` and its bus port ``p + 10000`` are both free
(``free_cluster_port``). ``Cluster.cleanup`` kills (after a SIGCONT, in case a test left
a node stopped) and removes every node it started.

* ``ClusterNode(Server)``: one node; ``node.call(...)`` / ``node.err(...)`` run one
  command on a fresh connection; ``cluster_info()``, ``nodes()`` (parsed CLUSTER NODES),
  ``myid()``, ``role()``.
* ``Cluster``: ``start_nodes(n)``; ``create_with_cli(masters, replicas)`` runs
  ``redis-cli --cluster create ... --cluster-replicas R --cluster-yes``;
  ``create_by_hand(masters, replicas)`` does ADDSLOTSRANGE, MEET and REPLICATE itself;
  ``wait_ok()`` waits until every node says cluster_state:ok and every node has the same
  view (ids, addresses, roles, masters, slot ranges, no fail/handshake flags, links up);
  ``wait_replicas_visible()`` makes every replica's offset non-zero and waits until
  CLUSTER SLOTS lists them everywhere (7.0 hides replicas with offset 0);
  ``owner(slot)``, ``key_on(node)``, ``masters()``, ``replicas_of(master)``, ``by_id``...
* ``cli_cluster(*args, input="")``: runs ``redis-cli --cluster ...``; ``.out`` is stdout
  without colour codes.
* ``keyslot(key)``: CRC16 (XMODEM) mod 16384 with hash tags, as Redis computes it;
  ``key_for_slot(slot)``: a key hashing to ``slot``.
"""

import math
import os
import random
import re
import signal
import socket
import subprocess

from helpers import (
    HOST,
    REDIS_CLI,
    SERVER_BIN,
    Client,
    RespError,
    Server,
    parse_info,
    wait_until,
)

NODE_TIMEOUT = 1500  # cluster-node-timeout (ms) of every node unless a test says otherwise
SLOTS = 16384

# ---------------------------------------------------------------------------
# slots
# ---------------------------------------------------------------------------

_CRC_TABLE = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x1021) if _c & 0x8000 else (_c << 1)
    _CRC_TABLE.append(_c & 0xFFFF)


def crc16(data):
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def keyslot(key):
    """Redis's keyHashSlot: the part between the first '{' and the next '}' if non-empty."""
    if isinstance(key, str):
        key = key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % SLOTS


_slot_keys = {}


def key_for_slot(slot, prefix="k"):
    """A short key (``<prefix><n>``) whose slot is ``slot``; use it as a hash tag
    (``{%s}rest``) to make more keys in the same slot."""
    k = (slot, prefix)
    if k not in _slot_keys:
        i = 0
        while True:
            cand = "%s%d" % (prefix, i)
            if keyslot(cand) == slot:
                _slot_keys[k] = cand
                break
            i += 1
    return _slot_keys[k]


def parse_ranges(ranges):
    """[(a, b), ...] -> set of slots."""
    out = set()
    for a, b in ranges:
        out.update(range(a, b + 1))
    return out


def split_slots(n):
    """How redis-cli --cluster create splits 16384 slots among n masters."""
    per = SLOTS / n
    out = []
    first = 0
    cursor = 0.0
    for i in range(n):
        last = int(math.floor(cursor + per - 1 + 0.5))  # C lround
        if last > SLOTS - 1 or i == n - 1:
            last = SLOTS - 1
        if last < first:
            last = first
        out.append((first, last))
        first = last + 1
        cursor += per
    return out


# ---------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_cluster_port():
    """A client port p in 12000-21999 with p and p + 10000 (the default bus port) both
    free. Both lie below the kernel's ephemeral range (32768-60999 here), so client
    sockets and the other tests' free_port() servers never take them (and above the fixed
    10000-10002 of the shared scenario scripts). A race with another xdist worker makes
    the server exit with "Address already in use" (client or bus port) and Server.start
    retries on a new port."""
    rng = random.SystemRandom()
    for _ in range(1000):
        p = rng.randint(12000, 21999)
        if _bindable(p) and _bindable(p + 10000):
            return p
    raise RuntimeError("no free port pair p / p+10000")


# ---------------------------------------------------------------------------
# CLUSTER NODES
# ---------------------------------------------------------------------------

NODE_LINE = re.compile(
    r"^(?P<id>[0-9a-f]{40}) "
    r"(?P<ip>[^:@ ]*):(?P<port>\d+)@(?P<cport>\d+)(?:,(?P<hostname>[^ ]*))? "
    r"(?P<flags>[a-z?,]+) "
    r"(?P<master>-|[0-9a-f]{40}) "
    r"(?P<ping_sent>\d+) (?P<pong_recv>\d+) (?P<epoch>\d+) "
    r"(?P<link>connected|disconnected)"
    r"(?P<slots>(?: \d+(?:-\d+)?)*)"
    r"(?P<open>(?: \[\d+-[<>]-[0-9a-f]{40}\])*)$"
)


def parse_nodes(text):
    """CLUSTER NODES text -> list of dicts (ints for ports/epochs, flags as a list,
    slots as [(a, b)], open slots as [(slot, '>' or '<', id)])."""
    if isinstance(text, bytes):
        text = text.decode()
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        m = NODE_LINE.match(line)
        assert m, "bad CLUSTER NODES line: %r" % line
        d = m.groupdict()
        slots = []
        for tok in d["slots"].split():
            a, _, b = tok.partition("-")
            slots.append((int(a), int(b or a)))
        opens = []
        for tok in d["open"].split():
            mm = re.match(r"^\[(\d+)-([<>])-([0-9a-f]{40})\]$", tok)
            opens.append((int(mm.group(1)), mm.group(2), mm.group(3)))
        out.append({
            "id": d["id"], "ip": d["ip"], "port": int(d["port"]), "cport": int(d["cport"]),
            "hostname": d["hostname"], "flags": d["flags"].split(","), "master": d["master"],
            "ping_sent": int(d["ping_sent"]), "pong_recv": int(d["pong_recv"]),
            "epoch": int(d["epoch"]), "link": d["link"], "slots": slots, "open": opens,
            "line": line,
        })
    return out


# ---------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------


def node_config(port, dir_, node_timeout=NODE_TIMEOUT, extra=""):
    return (
        "port %d\n"
        "bind %s\n"
        "dir %s\n"
        "cluster-enabled yes\n"
        "cluster-config-file %s\n"
        "cluster-node-timeout %d\n"
        "save \"\"\n"
        "appendonly no\n"
        "repl-diskless-sync-delay 0\n"
        "enable-debug-command yes\n"
        "%s"
    ) % (port, HOST, dir_, os.path.join(dir_, "nodes.conf"), node_timeout, extra)


class ClusterNode(Server):
    """A cluster node: ``<binary> <dir>/redis.conf``, config written from ``node_config``
    (plus ``extra`` lines) for the port it is started on; restarts keep port and dir."""

    def __init__(self, extra="", node_timeout=NODE_TIMEOUT, binary=None, start_timeout=15.0):
        super().__init__(base_args=False, binary=binary, start_timeout=start_timeout)
        self.extra = extra
        self.node_timeout = node_timeout
        self.config_path = os.path.join(self.dir, "redis.conf")
        self.nodes_conf = os.path.join(self.dir, "nodes.conf")
        self._id = None

    def spawn(self, port=None):
        return super().spawn(port or free_cluster_port())

    def command_line(self, port):
        with open(self.config_path, "w") as f:
            f.write(node_config(port, self.dir, self.node_timeout, self.extra))
        return [self.binary, self.config_path]

    # -- one-shot commands ---------------------------------------------------
    def call(self, *args, timeout=10.0):
        c = Client(self.port, timeout=timeout)
        try:
            return c.call(*args)
        finally:
            c.close()

    def err(self, *args):
        c = Client(self.port, timeout=10)
        try:
            return c.err(*args)
        finally:
            c.close()

    def myid(self, refresh=False):
        if self._id is None or refresh:
            self._id = self.call("CLUSTER", "MYID").decode()
        return self._id

    def cluster_info(self):
        raw = self.call("CLUSTER", "INFO").decode()
        out = {}
        for line in raw.split("\r\n"):
            if line:
                k, _, v = line.partition(":")
                out[k] = v
        return out

    def nodes(self):
        return parse_nodes(self.call("CLUSTER", "NODES"))

    def me(self):
        return [n for n in self.nodes() if "myself" in n["flags"]][0]

    def info(self, section=None):
        raw = self.call("INFO", section) if section else self.call("INFO")
        return parse_info(raw)[1]

    def role(self):
        return self.info("replication")["role"]

    def addr(self):
        return "%s:%d" % (HOST, self.port)

    def read_nodes_conf(self):
        with open(self.nodes_conf) as f:
            return f.read()

    def __repr__(self):
        return "ClusterNode(:%s)" % self.port


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text):
    """redis-cli --cluster colours its output even when it is not a terminal."""
    return ANSI.sub("", text)


# What ``redis-cli --cluster check`` prints for a healthy cluster.
CHECK_OK = [
    "[OK] All nodes agree about slots configuration.",
    ">>> Check for open slots...",
    ">>> Check slots coverage...",
    "[OK] All 16384 slots covered.",
]


def in_order(lines, wanted):
    """True if every line of ``wanted`` appears in ``lines`` in this order."""
    it = iter(lines)
    return all(any(line == w for line in it) for w in wanted)


def cli_ok(res):
    """``res`` (a ``cli_cluster`` result), asserting it exited 0."""
    assert res.returncode == 0, "rc=%s\n%s\n%s" % (res.returncode, res.out, res.stderr)
    return res


def cli_cluster(*args, timeout=60, input=""):
    """``redis-cli --cluster <args>``; returns CompletedProcess (text) with ``.out``: stdout
    without colour codes. stdin is ``input`` (empty: every prompt reads EOF = "no")."""
    cmd = [REDIS_CLI, "--cluster", *[str(a) for a in args]]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    res.out = strip_ansi(res.stdout)
    return res


class Cluster:
    """Nodes started by one test; ``cleanup()`` removes them all."""

    def __init__(self, binary=None, node_timeout=NODE_TIMEOUT, extra=""):
        self.binary = binary or SERVER_BIN
        self.node_timeout = node_timeout
        self.extra = extra
        self.nodes = []

    # -- processes -------------------------------------------------------------
    def add_node(self, extra=None, node_timeout=None, start=True):
        n = ClusterNode(extra=self.extra if extra is None else extra,
                        node_timeout=node_timeout or self.node_timeout, binary=self.binary)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def start_nodes(self, n, **kw):
        return [self.add_node(**kw) for _ in range(n)]

    def cleanup(self):
        for n in self.nodes:
            if n.proc is not None and n.is_alive():
                try:
                    os.kill(n.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
            n.cleanup()

    def alive(self):
        return [n for n in self.nodes if n.is_alive()]

    # -- building --------------------------------------------------------------
    def create_with_cli(self, masters=3, replicas=0, nodes=None, wait=True):
        """Start ``masters * (1 + replicas)`` nodes (unless ``nodes`` are given) and run
        ``redis-cli --cluster create <addrs> --cluster-replicas R --cluster-yes``."""
        if nodes is None:
            nodes = self.start_nodes(masters * (1 + replicas))
        args = ["create", *[n.addr() for n in nodes]]
        if replicas:
            args += ["--cluster-replicas", replicas]
        args.append("--cluster-yes")
        res = cli_cluster(*args)
        assert res.returncode == 0, "cluster create failed:\n%s\n%s" % (res.out, res.stderr)
        self.create_output = res.stdout
        if wait:
            self.wait_ok(nodes)
        return res

    def create_by_hand(self, masters=3, replicas=0, wait=True):
        """ADDSLOTSRANGE on each master (redis-cli's split), CLUSTER MEET from the first
        node to every other, then CLUSTER REPLICATE on the replicas (replicas of master i
        come after the masters; replica i follows master i % masters)."""
        ms = self.start_nodes(masters)
        rs = self.start_nodes(masters * replicas)
        for m, (a, b) in zip(ms, split_slots(masters)):
            assert m.call("CLUSTER", "ADDSLOTSRANGE", a, b) == "OK"
        first = ms[0]
        for n in ms[1:] + rs:
            assert first.call("CLUSTER", "MEET", HOST, n.port) == "OK"
        allnodes = ms + rs
        ids = {n.myid() for n in allnodes}
        wait_until(lambda: all({x["id"] for x in n.nodes() if "handshake" not in x["flags"]} == ids
                               for n in allnodes), 20, 0.05, msg="every node knows every other node")
        for i, r in enumerate(rs):
            m = ms[i % masters]
            assert r.call("CLUSTER", "REPLICATE", m.myid()) == "OK"
        if wait:
            self.wait_ok(allnodes)
        return ms, rs

    # -- views -----------------------------------------------------------------
    @staticmethod
    def view(node):
        """What must be the same everywhere: id -> (addr, role, master id, slots)."""
        out = {}
        for x in node.nodes():
            role = "master" if "master" in x["flags"] else ("slave" if "slave" in x["flags"] else "?")
            out[x["id"]] = ("%s:%d@%d" % (x["ip"], x["port"], x["cport"]), role, x["master"],
                            tuple(x["slots"]))
        return out

    def consistent(self, nodes=None, wait_sync=True):
        """The common view if all ``nodes`` agree and are healthy, else None. Nodes known
        to them but not in ``nodes`` (killed ones) must be flagged ``fail``."""
        nodes = nodes or self.alive()
        ids = {n.myid() for n in nodes}
        views = []
        for n in nodes:
            if n.cluster_info()["cluster_state"] != "ok":
                return None
            parsed = n.nodes()
            if not ids <= {x["id"] for x in parsed}:
                return None
            for x in parsed:
                if x["id"] not in ids:
                    if "fail" not in x["flags"]:
                        return None
                    continue
                bad = {"fail", "fail?", "handshake", "noaddr"} & set(x["flags"])
                if bad or x["link"] != "connected" or x["open"]:
                    return None
            views.append(self.view(n))
        if any(v != views[0] for v in views):
            return None
        if wait_sync:
            for n in nodes:
                info = n.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return None
        return views[0]

    def wait_ok(self, nodes=None, timeout=30, wait_sync=True):
        """Every node in ``nodes`` (default: the live ones) has cluster_state:ok, knows
        all of them, none flagged fail/pfail/handshake/noaddr, every link connected, no
        open (migrating/importing) slot, the same (addr, role, master, slots) for each id;
        any other known node (a killed one) flagged fail; replicas' links are up.
        Returns the common view."""
        nodes = nodes or self.alive()
        try:
            return wait_until(lambda: self.consistent(nodes, wait_sync), timeout, 0.05,
                              msg="cluster ok and consistent on %s" % nodes)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.diag(nodes))) from None

    def wait_replicas_visible(self, timeout=20):
        """Make every replica's replication offset non-zero (a SET and DEL on each master,
        then WAIT) and wait until every node lists every live replica in CLUSTER SLOTS:
        Redis 7.0 leaves out of CLUSTER SLOTS (and shows as "loading" in CLUSTER SHARDS) a
        replica whose known offset is 0, which is the case after a sync with no writes."""
        masters = self.masters()
        for m in masters:
            reps = self.replicas_of(m)
            if not reps:
                continue
            key = key_for_slot(m.me()["slots"][0][0], "__offset")
            c = Client(m.port)
            try:
                c.call("SET", key, "1")
                c.call("DEL", key)
                assert c.call("WAIT", str(len(reps)), "5000") == len(reps)
            finally:
                c.close()
        want = sum(len(self.replicas_of(m)) for m in masters)

        def visible():
            for n in self.alive():
                slots = n.call("CLUSTER", "SLOTS")
                if sum(len(r) - 3 for r in slots) != want:
                    return False
            return True

        wait_until(visible, timeout, 0.05, msg="every replica listed in CLUSTER SLOTS everywhere")

    def diag(self, nodes=None):
        parts = []
        for n in nodes or self.nodes:
            try:
                parts.append("--- :%s ---\n%s" % (n.port, n.call("CLUSTER", "NODES", timeout=2).decode()))
            except Exception as e:  # noqa: BLE001
                parts.append("--- :%s --- %r" % (n.port, e))
        return "\n".join(parts)

    def by_id(self, node_id):
        for n in self.nodes:
            if n.is_alive() and n.myid() == node_id:
                return n
        for n in self.nodes:
            if n._id == node_id:
                return n
        raise KeyError(node_id)

    def by_port(self, port):
        for n in self.nodes:
            if n.port == int(port):
                return n
        raise KeyError(port)

    def masters(self, via=None):
        """Live master nodes that own slots, in slot order (per ``via``'s view)."""
        via = via or self.alive()[0]
        ms = [x for x in via.nodes() if "master" in x["flags"] and x["slots"]
              and "fail" not in x["flags"]]
        ms.sort(key=lambda x: x["slots"][0][0])
        return [self.by_id(x["id"]) for x in ms]

    def replicas_of(self, master, via=None):
        via = via or self.alive()[0]
        mid = master.myid()
        return [self.by_id(x["id"]) for x in via.nodes()
                if "slave" in x["flags"] and x["master"] == mid and "fail" not in x["flags"]]

    def owner(self, slot, via=None):
        via = via or self.alive()[0]
        for x in via.nodes():
            if "master" in x["flags"] and any(a <= slot <= b for a, b in x["slots"]):
                return self.by_id(x["id"])
        return None

    def key_on(self, node, prefix="k"):
        """A key whose slot ``node`` (a master) owns."""
        me = [x for x in node.nodes() if "myself" in x["flags"]][0]
        return key_for_slot(me["slots"][0][0], prefix)


__all__ = [
    "CHECK_OK", "NODE_TIMEOUT", "cli_ok", "in_order", "SLOTS", "Cluster", "ClusterNode", "cli_cluster", "crc16", "free_cluster_port",
    "key_for_slot", "keyslot", "strip_ansi", "node_config", "parse_nodes", "parse_ranges", "split_slots",
    "RespError",
]
