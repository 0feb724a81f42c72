"""A network partition in a 3x2 cluster (3 masters, 2 replicas each: 9 nodes), end to
end on real processes: the partitioned master is replaced by one of its replicas in the
majority, no write acknowledged by WAIT is lost, and everything converges after the
partition heals. Every node is REDUST_SERVER started from cluster_helpers.node_config
(cluster-node-timeout 1500). Every expectation was checked on Redis 7.0.15.

HOW THE PARTITION IS MADE (no iptables / network namespaces here)

Every node announces proxy ports instead of its real ones: ``cluster-announce-bus-port
<bus proxy>`` and ``cluster-announce-port <data proxy>``. The cluster is built by hand
(ADDSLOTSRANGE, SET-CONFIG-EPOCH, ``CLUSTER MEET 127.0.0.1 <data proxy> <bus proxy>``,
REPLICATE), so every bus link a node opens goes to a peer's bus proxy, every replica
replicates through its master's data proxy (the master's address in CLUSTER NODES is the
announced one), and MOVED replies point at data proxies. (``redis-cli --cluster create``
works with announced ports too, on Redis 7.0.15 and on redust; building by hand just
fixes which replica follows which master.) The test's own clients talk to the real ports.
``PartitionProxy`` is one selector thread forwarding every proxied connection to the
real port (bus: port + 10000). It knows where a connection comes from:

* bus: the first 80 bytes of the first message (signature ``RCmb`` at 0, sender node id
  at 40..79, docs/design/cluster-bus.md section 2) are held until the sender id is read;
* data: the client-to-server bytes are scanned (while forwarded) for a replica's
  ``REPLCONF listening-port <real port>``; a connection without it (a client) counts as
  coming from the majority side.

``partition(minority)`` cuts every (minority node, other node) pair: a connection between
the two sides (and a client connection to a minority node) is "held": it stays open but
nothing more is forwarded in either direction (bytes are read and dropped), which is what
lost packets look like to the nodes: silence, then their own timeouts. New connections
across the cut are accepted and held the same way. ``heal()`` forgets the cut and closes
every held connection (as the nodes' timeouts would eventually), so the nodes reconnect
through the proxies, which now forward. Before partitioning, the test checks that the
proxies carry every bus connection (the number of established connections on the real bus
ports equals the number the proxies opened) and every replication link (each replica's
master_port is its master's data proxy).

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH

Before the partition, batches of writes to M (a master) are acknowledged by WAIT 2 (both
  replicas). Right after the partition M still answers +OK to a write, but WAIT 2 1000
  counts only the replicas on its side (0 when M is alone, 1 with one replica).
The majority (the two other masters with their replicas, and M's replicas that are not
  cut off) flags M fail and promotes one of M's replicas in its side (a replica cut off
  with M is never promoted) within node timeout + election delay (asserted <= 15 s from
  the cut); every majority node then shows that replica as master of all of M's slots,
  and M's other majority replica (if any) follows it.
M (and a replica cut off with it) see cluster_state:fail once the node timeout has passed
  (they reach only a minority of the masters); M still calls itself master (ROLE) and
  answers "CLUSTERDOWN The cluster is down" to both SET and GET of its slots. The new
  master takes writes in the majority.
After heal(): M becomes a replica of the new master (in every node's view, and ROLE on
  M), a replica cut off with M follows the new master too, every node is ok and has the
  same view (cluster_helpers.Cluster.wait_ok), every slot has exactly one owner, every
  WAIT-acknowledged key (and every write taken by the new master) is on the new master
  and on both its replicas with its value, and the write M took in the minority is gone
  everywhere (M resyncs from the new master; its replica followed it): the shard's
  replicas have exactly the new master's DBSIZE.
"""

import os
import re
import selectors
import socket
import threading
import time

import pytest

from cluster_helpers import SLOTS, Cluster, key_for_slot, keyslot, split_slots
from helpers import HOST, SERVER_BIN, Client, wait_until

pytestmark = pytest.mark.timeout(150)

FAILOVER_DEADLINE = 15.0  # s from the cut: node timeout + FAIL agreement + election + margin
BUS_HEADER = 80  # bytes of the first bus message needed to read its sender id
LISTENING_PORT = re.compile(rb"(?i)listening-port\r\n\$\d+\r\n(\d+)\r\n")


# ---------------------------------------------------------------------------
# the proxy
# ---------------------------------------------------------------------------


class _Link:
    """One proxied connection: ``down`` (accepted from a node or client), ``up`` (to
    the real port of node ``dst``)."""

    def __init__(self, kind, dst, down):
        self.kind = kind  # "bus" or "data"
        self.dst = dst
        self.down = down
        self.up = None
        self.src = None  # node index once known
        self.head = bytearray()  # bus: bytes held until the sender id is known
        self.sniff = bytearray()  # data: client-to-server bytes scanned for listening-port
        self.held = False
        self.closed = False
        self.out = {down: bytearray()}


class PartitionProxy:
    """Bus and data proxies for ``n`` nodes (indices 0..n-1), in one selector thread."""

    def __init__(self, n):
        self.sel = selectors.DefaultSelector()
        self.ops = []
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, ("wake", None))
        self.ports = {}  # (kind, i) -> proxy port
        self.targets = {}  # (kind, i) -> real port
        self.ids = {}  # node id -> i
        self.real_ports = {}  # real client port -> i
        self.listeners = []
        self.links = set()
        self.minority = set()
        self.stopping = False
        for i in range(n):
            for kind in ("bus", "data"):
                ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind((HOST, 0))
                ls.listen(128)
                ls.setblocking(False)
                self.listeners.append(ls)
                self.ports[(kind, i)] = ls.getsockname()[1]
                self.sel.register(ls, selectors.EVENT_READ, ("listen", (kind, i)))
        self.thread = threading.Thread(target=self._run, name="partition-proxy", daemon=True)
        self.thread.start()

    # -- API (any thread) ------------------------------------------------------
    def set_target(self, i, node):
        """Node ``i`` is ``node`` (started, on its real port; bus port + 10000)."""
        self.targets[("data", i)] = node.port
        self.targets[("bus", i)] = node.port + 10000
        self.real_ports[node.port] = i
        self.ids[node.myid()] = i

    def partition(self, minority):
        def op():
            self.minority = set(minority)
            for link in list(self.links):
                if not link.held and self._cut(link):
                    self._hold(link)
        self._submit(op)

    def heal(self):
        def op():
            self.minority = set()
            for link in list(self.links):
                if link.held:
                    self._close(link)
        self._submit(op)

    def bus_upstreams(self):
        """Number of bus connections the proxies have open to real bus ports."""
        return self._submit(lambda: sum(1 for lk in self.links if lk.kind == "bus" and lk.up is not None))

    def stop(self):
        self.stopping = True
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass
        self.thread.join(10)
        for link in list(self.links):
            self._close(link)
        for s in self.listeners + [self.wake_r, self.wake_w]:
            s.close()

    def _submit(self, fn):
        ev = threading.Event()
        box = {}
        with self.lock:
            self.ops.append((fn, ev, box))
        self.wake_w.send(b"x")
        assert ev.wait(10), "proxy thread did not run an operation"
        if "exc" in box:
            raise box["exc"]
        return box.get("result")

    # -- the loop (proxy thread) -----------------------------------------------
    def _run(self):
        while not self.stopping:
            for key, mask in self.sel.select(timeout=0.5):
                what, obj = key.data
                try:
                    if what == "wake":
                        self._run_ops()
                    elif what == "listen":
                        self._accept(key.fileobj, *obj)
                    else:
                        link = obj
                        if link.closed:
                            continue
                        if mask & selectors.EVENT_WRITE:
                            self._on_write(link, key.fileobj)
                        if mask & selectors.EVENT_READ and not link.closed:
                            self._on_read(link, key.fileobj)
                except Exception:  # noqa: BLE001 - one bad connection must not stop the proxy
                    if what == "link":
                        self._close(obj)

    def _run_ops(self):
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self.lock:
            ops, self.ops = self.ops, []
        for fn, ev, box in ops:
            try:
                box["result"] = fn()
            except Exception as e:  # noqa: BLE001
                box["exc"] = e
            ev.set()

    def _cut(self, link):
        if not self.minority:
            return False
        if link.src is None:  # a client: on the majority side
            return link.dst in self.minority
        return (link.src in self.minority) != (link.dst in self.minority)

    def _accept(self, ls, kind, dst):
        try:
            s, _ = ls.accept()
        except BlockingIOError:
            return
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(kind, dst, s)
        self.links.add(link)
        self.sel.register(s, selectors.EVENT_READ, ("link", link))
        if kind == "data":
            if self._cut(link):
                self._hold(link)
            else:
                self._connect_up(link)

    def _connect_up(self, link):
        port = self.targets.get((link.kind, link.dst))
        try:
            if port is None:
                raise OSError("no target yet")
            up = socket.create_connection((HOST, port), timeout=2)
        except OSError:
            self._close(link)
            return False
        up.setblocking(False)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.up = up
        link.out[up] = bytearray()
        self.sel.register(up, selectors.EVENT_READ, ("link", link))
        return True

    def _hold(self, link):
        link.held = True
        link.head.clear()
        for s, buf in link.out.items():
            buf.clear()
            self.sel.modify(s, selectors.EVENT_READ, ("link", link))

    def _close(self, link):
        if link.closed:
            return
        link.closed = True
        self.links.discard(link)
        for s in list(link.out):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _on_read(self, link, s):
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(link)
            return
        if link.held:
            return  # lost on the way
        if link.kind == "bus" and link.up is None:
            link.head += data
            if len(link.head) < BUS_HEADER:
                return
            if bytes(link.head[:4]) != b"RCmb":
                self._close(link)
                return
            link.src = self.ids.get(bytes(link.head[40:80]).decode("ascii", "replace"))
            if self._cut(link):
                self._hold(link)
                return
            if not self._connect_up(link):
                return
            data = bytes(link.head)
            link.head.clear()
        elif link.kind == "data" and s is link.down and link.src is None and len(link.sniff) < 65536:
            link.sniff += data
            m = LISTENING_PORT.search(link.sniff)
            if m:
                link.src = self.real_ports.get(int(m.group(1)))
                link.sniff = bytearray(b"-")  # stop scanning
                if self._cut(link):
                    self._hold(link)
                    return
        self._forward(link, link.up if s is link.down else link.down, data)

    def _forward(self, link, s, data):
        buf = link.out[s]
        buf += data
        self._on_write(link, s)

    def _on_write(self, link, s):
        buf = link.out.get(s)
        if buf is None or link.closed:
            return
        if buf:
            try:
                n = s.send(buf)
                del buf[:n]
            except BlockingIOError:
                pass
            except OSError:
                self._close(link)
                return
        self.sel.modify(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if buf else 0), ("link", link))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def established_on(ports):
    """Established TCP connections whose local (server) port is in ``ports``."""
    hexports = {"%04X" % p for p in ports}
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[3] == "01" and parts[1].split(":")[1] in hexports:
                n += 1
    return n


def view_of(node):
    return {x["id"]: x for x in node.nodes()}


def slot_owners(node):
    """Per slot: how many masters claim it in ``node``'s view."""
    count = [0] * SLOTS
    for x in node.nodes():
        if "master" in x["flags"]:
            for a, b in x["slots"]:
                for s in range(a, b + 1):
                    count[s] += 1
    return count


def read_all(node, keys, readonly=False):
    c = Client(node.port)
    try:
        if readonly:
            assert c.call("READONLY") == "OK"
        return dict(zip(keys, c.pipeline([("GET", k) for k in keys])))
    finally:
        c.close()


@pytest.fixture
def partitioned_cluster():
    """(cluster, proxy, masters, replicas): 3 masters (redis-cli's slot split) with 2
    replicas each (replicas[i] and replicas[i + 3] follow masters[i]), every node behind
    the proxies, ok and consistent everywhere, replicas visible in CLUSTER SLOTS."""
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    proxy = PartitionProxy(9)
    cl = Cluster()
    try:
        nodes = []
        for i in range(9):
            extra = "cluster-announce-port %d\ncluster-announce-bus-port %d\n" % (
                proxy.ports[("data", i)], proxy.ports[("bus", i)])
            n = cl.add_node(extra=extra)
            proxy.set_target(i, n)
            nodes.append(n)
        ms, rs = nodes[:3], nodes[3:]
        for i, (m, (a, b)) in enumerate(zip(ms, split_slots(3))):
            assert m.call("CLUSTER", "ADDSLOTSRANGE", a, b) == "OK"
            assert m.call("CLUSTER", "SET-CONFIG-EPOCH", i + 1) == "OK"
        for n in nodes[1:]:
            assert n.call("CLUSTER", "MEET", HOST, proxy.ports[("data", 0)], proxy.ports[("bus", 0)]) == "OK"
        ids = {n.myid() for n in nodes}
        wait_until(lambda: all({x["id"] for x in n.nodes() if "handshake" not in x["flags"]} == ids
                               for n in nodes), 20, 0.05, msg="every node knows every other node\n" + cl.diag())
        for i, r in enumerate(rs):
            assert r.call("CLUSTER", "REPLICATE", ms[i % 3].myid()) == "OK"
        view = cl.wait_ok(nodes)
        cl.wait_replicas_visible()
        # Everything goes through the proxies: announced addresses everywhere...
        for i, n in enumerate(nodes):
            addr = "%s:%d@%d" % (HOST, proxy.ports[("data", i)], proxy.ports[("bus", i)])
            assert view[n.myid()][0] == addr, (view, addr)
        # ...every replica replicates through its master's data proxy...
        for i, r in enumerate(rs):
            info = r.info("replication")
            assert int(info["master_port"]) == proxy.ports[("data", i % 3)], info
        # ...and no bus connection bypasses the proxies (one link per ordered pair of
        # nodes, at least; the proxies' upstream connections are all there is).
        bus_ports = [n.port + 10000 for n in nodes]
        wait_until(lambda: proxy.bus_upstreams() >= 72
                   and established_on(bus_ports) == proxy.bus_upstreams(), 10, 0.1,
                   msg="every bus connection goes through the proxies")
        yield cl, proxy, ms, rs
    finally:
        proxy.stop()
        cl.cleanup()


def wait_diag(cl, cond, timeout, msg):
    try:
        return wait_until(cond, timeout, 0.05, msg=msg)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, cl.diag())) from None


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("with_replica", [False, True], ids=["master-alone", "master-and-a-replica"])
def test_partitioned_master_is_replaced_and_rejoins(partitioned_cluster, with_replica):
    cl, proxy, ms, rs = partitioned_cluster
    nodes = ms + rs
    M = ms[0]
    mid = M.myid()
    m_reps = [rs[0], rs[3]]
    assert sorted(r.myid() for r in cl.replicas_of(M)) == sorted(r.myid() for r in m_reps)
    if with_replica:
        minority = [M, m_reps[0]]
        candidates = [m_reps[1]]  # the only replica of M on the majority side
    else:
        minority = [M]
        candidates = m_reps
    majority = [n for n in nodes if n not in minority]
    m_ranges = M.me()["slots"]
    m_slots = {s for a, b in m_ranges for s in range(a, b + 1)}

    # 1. writes acknowledged by both replicas.
    keys = [k for k in ("pk:%d" % i for i in range(5000)) if keyslot(k) in m_slots][:300]
    acked = {}
    c = Client(M.port)
    for b in range(0, len(keys), 50):
        batch = keys[b:b + 50]
        replies = c.pipeline([("SET", k, "v-" + k) for k in batch])
        assert replies == ["OK"] * len(batch)
        assert c.call("WAIT", "2", "5000") == 2
        acked.update((k, b"v-" + k.encode()) for k in batch)

    # 2. partition.
    t0 = time.monotonic()
    proxy.partition({nodes.index(n) for n in minority})
    lost_key = key_for_slot(m_ranges[0][0], "minority")
    assert c.call("SET", lost_key, "lost") == "OK"
    assert c.call("WAIT", "2", "1000") == (1 if with_replica else 0)
    c.close()

    cand_ids = {n.myid() for n in candidates}

    def majority_promoted():
        new = None
        for n in majority:
            v = view_of(n)
            if "fail" not in v[mid]["flags"]:
                return None
            owners = {x["id"] for x in v.values() if "master" in x["flags"]
                      and m_slots & {s for a, b in x["slots"] for s in range(a, b + 1)}}
            if len(owners) != 1:
                return None
            owner = owners.pop()
            if owner not in cand_ids or set(v[owner]["slots"]) != set(m_ranges):
                return None
            if new not in (None, owner):
                return None
            new = owner
        return new

    new_id = wait_diag(cl, majority_promoted, FAILOVER_DEADLINE - (time.monotonic() - t0),
                       "one of M's majority-side replicas is master of M's slots in the majority's view")
    failover_s = time.monotonic() - t0
    assert failover_s <= FAILOVER_DEADLINE
    print("failover seen by the whole majority after %.2fs" % failover_s)
    new = cl.by_id(new_id)
    others = [r for r in m_reps if r is not new]  # M's other replica

    # The minority: state fail after the node timeout; M still a master but refusing.
    for n in minority:
        wait_diag(cl, lambda n=n: n.cluster_info()["cluster_state"] == "fail",
                  max(1.0, FAILOVER_DEADLINE - (time.monotonic() - t0)), "%r sees cluster_state:fail" % n)
    assert M.role() == "master"
    assert "master" in M.me()["flags"]
    assert M.err("SET", lost_key, "again") == "CLUSTERDOWN The cluster is down"
    assert M.err("GET", keys[0]) == "CLUSTERDOWN The cluster is down"
    if with_replica:
        assert minority[1].me()["master"] == mid  # never promoted
        assert minority[1].role() == "slave"

    # The majority: M's other majority replica follows the new master; writes go on.
    during = {}
    cn = Client(new.port)
    try:
        if not with_replica:
            other = others[0]
            wait_diag(cl, lambda: all(view_of(n)[other.myid()]["master"] == new_id for n in majority)
                      and other.info("replication").get("master_link_status") == "up", 15,
                      "M's other replica follows the new master")
        during_keys = ["{%s}during" % k for k in keys[:20]]
        assert cn.pipeline([("SET", k, "d-" + k) for k in during_keys]) == ["OK"] * len(during_keys)
        during.update((k, b"d-" + k.encode()) for k in during_keys)
        if not with_replica:
            assert cn.call("WAIT", "1", "5000") == 1
    finally:
        cn.close()

    # 3. heal.
    proxy.heal()

    def rejoined():
        for n in nodes:
            v = view_of(n)
            for r in [M] + others:
                if "slave" not in v[r.myid()]["flags"] or v[r.myid()]["master"] != new_id:
                    return False
        return M.role() == "slave"

    wait_diag(cl, rejoined, 30, "M and M's other replica follow the new master everywhere")
    cl.wait_ok(nodes, timeout=30)
    for n in nodes:
        owners = slot_owners(n)
        assert all(o == 1 for o in owners), "%r: slots without exactly one owner: %s" % (
            n, [s for s, o in enumerate(owners) if o != 1][:20])
    assert cl.owner(m_ranges[0][0]) is new

    # 4. data: nothing acknowledged is lost, the minority write is gone, the shard agrees.
    want = dict(acked)
    want.update(during)
    got = read_all(new, list(want) + [lost_key])
    assert got.pop(lost_key) is None
    missing = {k: v for k, v in want.items() if got[k] != v}
    assert not missing, "lost on the new master: %d keys, e.g. %r" % (len(missing), list(missing.items())[:5])
    c = Client(new.port)
    try:
        assert c.call("SET", key_for_slot(m_ranges[0][0], "sync"), "1") == "OK"
        assert c.call("WAIT", "2", "10000") == 2
        size = c.call("DBSIZE")
    finally:
        c.close()
    for r in [M] + others:
        got = read_all(r, list(want) + [lost_key], readonly=True)
        assert got.pop(lost_key) is None, "%r kept the write M took in the minority" % r
        missing = {k: v for k, v in want.items() if got[k] != v}
        assert not missing, "%r: %d keys differ, e.g. %r" % (r, len(missing), list(missing.items())[:5])
        assert r.call("DBSIZE") == size
