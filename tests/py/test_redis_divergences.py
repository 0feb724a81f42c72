"""Redis 7.0 behaviours checked one by one against Debian's redis-server 7.0.15.

Every test here passes with ``REDUST_SERVER=/usr/bin/redis-server``; each docstring
says what Redis does.  Sections:

1. propagation shape of MULTI/EXEC (raw replication link)
2. EXEC when the server state changed after queueing (NOREPLICAS / OOM / READONLY)
3. WATCH and expiry / SWAPDB / FLUSHALL / FLUSHDB
4. INFO latencystats
5. OBJECT IDLETIME / OBJECT FREQ: which commands touch a key
6. RESP3 push messages and CLIENT REPLY OFF / SKIP
7. blocked clients: CLIENT LIST, CLIENT UNBLOCK, SWAPDB, MULTI
8. COMMAND GETKEYS / GETKEYSANDFLAGS
9. DEBUG subcommands
"""

import re
import socket
import time

import pytest

from helpers import (
    HOST,
    RespError,
    encode_command,
    free_port,
    parse_info,
    wait_until,
)

DEBUG_ARGS = ["--enable-debug-command", "yes"]


def client_fields(client, cid):
    """CLIENT LIST ID <cid> as an ordered dict of field -> value."""
    line = client.call("CLIENT", "LIST", "ID", cid).decode().strip()
    out = {}
    for part in line.split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def blocked_clients(client):
    return int(parse_info(client.call("INFO", "clients"))[1]["blocked_clients"])


def wait_blocked(client, n=1, timeout=5):
    """Wait until INFO clients reports ``n`` blocked clients."""
    wait_until(lambda: blocked_clients(client) == n, timeout, msg="blocked_clients != %d" % n)


def expect_bytes(client, want, timeout=3.0):
    """Read exactly len(want) bytes from a helpers.Client and compare; on a timeout the
    assertion shows what did arrive."""
    deadline = time.monotonic() + timeout
    old = client.sock.gettimeout()
    try:
        while len(client.buf) < len(want):
            rem = deadline - time.monotonic()
            if rem <= 0:
                break
            client.sock.settimeout(rem)
            try:
                chunk = client.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            client.buf += chunk
    finally:
        client.sock.settimeout(old)
    got = bytes(client.buf[:len(want)])
    assert got == want, "expected %r, got %r" % (want, bytes(client.buf))
    del client.buf[:len(want)]


# ---------------------------------------------------------------------------
# 1. propagation shape of MULTI/EXEC
# ---------------------------------------------------------------------------

REPL_SERVER = ["--repl-diskless-sync", "no", "--repl-diskless-sync-delay", "0",
               "--repl-ping-replica-period", "1"]


class FakeReplica:
    """A raw replication link: handshake, PSYNC ? -1, read the RDB, then the stream."""

    def __init__(self, server, timeout=10.0):
        self.sock = socket.create_connection((HOST, server.port), timeout=timeout)
        self.buf = bytearray()
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def _fill(self, deadline):
        rem = deadline - time.monotonic()
        if rem <= 0:
            raise AssertionError("timed out; buffered %r" % bytes(self.buf[:300]))
        self.sock.settimeout(rem)
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout:
            raise AssertionError("timed out; buffered %r" % bytes(self.buf[:300]))
        if not chunk:
            raise AssertionError("connection closed; buffered %r" % bytes(self.buf[:300]))
        self.buf += chunk

    def line(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return out

    def exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def skip_newlines(self):
        deadline = time.monotonic() + self.timeout
        while True:
            while not self.buf:
                self._fill(deadline)
            while self.buf[:1] == b"\n":
                del self.buf[:1]
            if self.buf:
                return

    def call(self, *args):
        self.sock.sendall(encode_command(*args))
        return self.line()

    def sync(self):
        assert self.call("PING") == b"+PONG"
        assert self.call("REPLCONF", "listening-port", "40000") == b"+OK"
        assert self.call("REPLCONF", "capa", "eof", "capa", "psync2") == b"+OK"
        self.sock.sendall(encode_command("PSYNC", "?", "-1"))
        self.skip_newlines()
        first = self.line()
        assert re.match(rb"^\+FULLRESYNC [0-9a-f]{40} \d+$", first), first
        self.skip_newlines()
        head = self.line(30)
        assert re.match(rb"^\$\d+$", head), head  # repl-diskless-sync no: $<len> payload
        payload = self.exact(int(head[1:]), 30)
        assert payload.startswith(b"REDIS0010"), payload[:9]

    def command(self, timeout=None):
        first = self.line(timeout)
        assert first[:1] == b"*", first
        args = []
        for _ in range(int(first[1:])):
            h = self.line(timeout)
            assert h[:1] == b"$", h
            args.append(self.exact(int(h[1:]) + 2, timeout)[:-2])
        return args

    def until_sentinel(self, sentinel=b"sentinel"):
        """Commands (PINGs filtered) up to and including the first one naming ``sentinel``."""
        out = []
        deadline = time.monotonic() + 10
        while True:
            args = self.command(max(0.05, deadline - time.monotonic()))
            if args[0].lower() == b"ping":
                continue
            out.append(args)
            if sentinel in args:
                return out


def repl_pair(server):
    fr = FakeReplica(server)
    fr.sync()
    return fr


def cmds(*lines):
    return [[a.encode() for a in line.split()] for line in lines]


@pytest.mark.server(args=REPL_SERVER)
def test_multi_with_one_write_propagates_the_bare_command(server):
    """A MULTI/EXEC holding a single effective write is propagated without MULTI/EXEC:
    just SELECT 0 (first write after the full sync) and the command."""
    fr = repl_pair(server)
    c = server.client()
    assert c.pipeline([["MULTI"], ["SET", "a", "1"], ["EXEC"]]) == ["OK", "QUEUED", ["OK"]]
    c.call("SET", "sentinel", "1")
    got = fr.until_sentinel()
    assert got == cmds("SELECT 0", "SET a 1", "SET sentinel 1"), repr(got)


@pytest.mark.server(args=REPL_SERVER)
def test_multi_select_then_one_write_propagates_select_and_bare_command(server):
    """MULTI, SELECT 1, SET q 1, EXEC from db 0: the stream gets SELECT 1 and SET q 1
    (one write: no MULTI/EXEC wrapper; the SELECT itself is not propagated as a command)."""
    fr = repl_pair(server)
    c = server.client()
    assert c.pipeline([["MULTI"], ["SELECT", "1"], ["SET", "q", "1"], ["EXEC"]]) == [
        "OK", "QUEUED", "QUEUED", ["OK", "OK"]]
    c.call("SET", "sentinel", "1")  # the client is in db 1 now
    got = fr.until_sentinel()
    assert got == cmds("SELECT 1", "SET q 1", "SET sentinel 1"), repr(got)


@pytest.mark.server(args=REPL_SERVER)
def test_multi_with_writes_and_select_between_propagates_exact_sequence(server):
    """MULTI, SET a 1, SELECT 1, SET b 2, EXEC from db 0 on a fresh stream propagates
    SELECT 0, MULTI, SET a 1, SELECT 1, SET b 2, EXEC (the SELECT for the first command comes
    before MULTI). A second such transaction from db 1 (stream already in db 1) back to db 0:
    MULTI, SET c 3, SELECT 0, SET d 4, EXEC. Reads inside are dropped."""
    fr = repl_pair(server)
    c = server.client()
    assert c.pipeline([["MULTI"], ["SET", "a", "1"], ["SELECT", "1"], ["SET", "b", "2"], ["EXEC"]]) == [
        "OK", "QUEUED", "QUEUED", "QUEUED", ["OK", "OK", "OK"]]
    assert c.pipeline([["MULTI"], ["SET", "c", "3"], ["GET", "c"], ["SELECT", "0"], ["SET", "d", "4"],
                       ["EXEC"]]) == ["OK", "QUEUED", "QUEUED", "QUEUED", "QUEUED", ["OK", b"3", "OK", "OK"]]
    c.call("SET", "sentinel", "1")
    got = fr.until_sentinel()
    assert got == cmds(
        "SELECT 0", "MULTI", "SET a 1", "SELECT 1", "SET b 2", "EXEC",
        "MULTI", "SET c 3", "SELECT 0", "SET d 4", "EXEC",
        "SET sentinel 1"), repr(got)


@pytest.mark.server(args=REPL_SERVER)
def test_multi_with_only_reads_or_noop_writes_propagates_nothing(server):
    """Read-only transactions, transactions of SELECTs only, a DEL of a missing key and a
    transaction discarded by EXECABORT propagate nothing at all (no MULTI/EXEC, no SELECT)."""
    fr = repl_pair(server)
    c = server.client()
    assert c.pipeline([["MULTI"], ["GET", "a"], ["EXISTS", "a"], ["EXEC"]]) == ["OK", "QUEUED", "QUEUED", [None, 0]]
    assert c.pipeline([["MULTI"], ["SELECT", "2"], ["SELECT", "0"], ["EXEC"]]) == [
        "OK", "QUEUED", "QUEUED", ["OK", "OK"]]
    assert c.pipeline([["MULTI"], ["DEL", "nokey"], ["EXEC"]]) == ["OK", "QUEUED", [0]]
    r = c.pipeline([["MULTI"], ["SET", "x", "1"], ["SET", "x"], ["EXEC"]])
    assert r == ["OK", "QUEUED", RespError("ERR wrong number of arguments for 'set' command"),
                 RespError("EXECABORT Transaction discarded because of previous errors.")]
    c.call("SET", "sentinel", "1")
    got = fr.until_sentinel()
    assert got == cmds("SELECT 0", "SET sentinel 1"), repr(got)


@pytest.mark.server(args=REPL_SERVER)
def test_multi_with_failing_writes_propagates_only_the_successful_ones(server):
    """Writes failing at EXEC time (WRONGTYPE) are not propagated: a transaction whose only
    write fails propagates nothing; with one successful write left it is propagated bare
    (no MULTI/EXEC); with two or more the successful ones are wrapped in MULTI/EXEC.
    EXPIRE inside MULTI is rewritten to PEXPIREAT and SET EX to SET PXAT."""
    fr = repl_pair(server)
    c = server.client()
    c.call("SET", "s", "x")
    wt = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert c.pipeline([["MULTI"], ["LPUSH", "s", "1"], ["EXEC"]])[-1] == [wt]
    assert c.pipeline([["MULTI"], ["LPUSH", "s", "1"], ["SET", "z", "1"], ["EXEC"]])[-1] == [wt, "OK"]
    assert c.pipeline([["MULTI"], ["SET", "z", "2"], ["LPUSH", "s", "1"], ["SET", "y", "3"],
                       ["EXEC"]])[-1] == ["OK", wt, "OK"]
    assert c.pipeline([["MULTI"], ["INCR", "n"], ["EXPIRE", "n", "100"], ["EXEC"]])[-1] == [1, 1]
    assert c.pipeline([["MULTI"], ["SET", "e", "1", "EX", "100"], ["EXEC"]])[-1] == ["OK"]
    c.call("SET", "sentinel", "1")
    got = fr.until_sentinel()
    assert got[:8] == cmds("SELECT 0", "SET s x", "SET z 1", "MULTI", "SET z 2", "SET y 3", "EXEC", "MULTI"), repr(got)
    assert got[8] == [b"INCR", b"n"]
    assert got[9][:2] == [b"PEXPIREAT", b"n"] and re.match(rb"^\d{13}$", got[9][2]), got[9]
    assert got[10] == [b"EXEC"]
    assert got[11][:4] == [b"SET", b"e", b"1", b"PXAT"] and re.match(rb"^\d{13}$", got[11][4]), got[11]
    assert got[12:] == cmds("SET sentinel 1")


# ---------------------------------------------------------------------------
# 2. EXEC when the state changed between queueing and EXEC
# ---------------------------------------------------------------------------

OOM = "OOM command not allowed when used memory > 'maxmemory'."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
READONLY = "READONLY You can't write against a read only replica."


class _State:
    """Turn a refusing server state on / off from another client."""

    def __init__(self, kind, o):
        self.kind, self.o = kind, o
        self.dead = free_port()

    def on(self):
        if self.kind == "min-replicas":
            self.o.call("CONFIG", "SET", "min-replicas-to-write", "1")
        elif self.kind == "maxmemory":
            self.o.call("CONFIG", "SET", "maxmemory", "1")
        else:
            self.o.call("REPLICAOF", HOST, str(self.dead))

    def off(self):
        if self.kind == "min-replicas":
            self.o.call("CONFIG", "SET", "min-replicas-to-write", "0")
        elif self.kind == "maxmemory":
            self.o.call("CONFIG", "SET", "maxmemory", "0")
        else:
            self.o.call("REPLICAOF", "NO", "ONE")


def _queue(c, *commands):
    assert c.call("MULTI") == "OK"
    for cmd in commands:
        assert c.call(*cmd) == "QUEUED"


def _exec(c):
    c.send("EXEC")
    return c.read_reply(raise_errors=False)


STATE_ERR = {"min-replicas": NOREPLICAS, "maxmemory": OOM, "replicaof": READONLY}
STATES = ["min-replicas", "maxmemory", "replicaof"]


@pytest.mark.parametrize("kind", STATES)
def test_exec_of_write_tx_is_execabort_when_state_changed_after_queueing(server, kind):
    """min-replicas-to-write 1 / maxmemory 1 / REPLICAOF an unreachable master, set by another
    client after the transaction was queued: EXEC of a transaction holding a write (SET; also
    GET+SET, INCR) fails with 'EXECABORT Transaction discarded because of: <the error the write
    would get>' ('NOREPLICAS Not enough good replicas to write.' / "OOM command not allowed
    when used memory > 'maxmemory'." / "READONLY You can't write against a read only
    replica.") and nothing runs."""
    c, o = server.client(), server.client()
    st = _State(kind, o)
    c.call("SET", "a", "1")
    want = RespError("EXECABORT Transaction discarded because of: " + STATE_ERR[kind])
    for tx in ([["SET", "a", "2"]], [["GET", "a"], ["SET", "a", "3"]], [["INCR", "n"]]):
        _queue(c, *tx)
        st.on()
        assert _exec(c) == want, tx
        st.off()
    assert o.call("GET", "a") == b"1"
    assert o.call("EXISTS", "n") == 0


@pytest.mark.parametrize("kind", STATES)
def test_refused_exec_ends_the_transaction(server, kind):
    """An EXEC refused with EXECABORT because the state changed ends the transaction like any
    EXEC: the client is out of MULTI (PING -> PONG, not QUEUED; EXEC -> 'ERR EXEC without
    MULTI'; MULTI works again) and the write was not applied."""
    c, o = server.client(), server.client()
    st = _State(kind, o)
    c.call("SET", "a", "1")
    _queue(c, ["SET", "a", "2"])
    st.on()
    refused = _exec(c)
    st.off()
    assert isinstance(refused, RespError), refused  # exact text: the test above
    assert c.pipeline([["PING"], ["EXEC"]]) == ["PONG", RespError("ERR EXEC without MULTI")]
    assert c.pipeline([["MULTI"], ["GET", "a"], ["EXEC"]]) == ["OK", "QUEUED", [b"1"]]


@pytest.mark.parametrize("kind", STATES)
def test_exec_of_del_tx_when_state_changed_after_queueing(server, kind):
    """A transaction whose only write is DEL: refused with EXECABORT NOREPLICAS / READONLY,
    but it runs under maxmemory (DEL is not a deny-oom command) -> [1]."""
    c, o = server.client(), server.client()
    st = _State(kind, o)
    c.call("SET", "a", "1")
    _queue(c, ["DEL", "a"])
    st.on()
    got = _exec(c)
    st.off()
    if kind == "maxmemory":
        assert got == [1]
    else:
        assert got == RespError("EXECABORT Transaction discarded because of: " + STATE_ERR[kind])
        assert o.call("GET", "a") == b"1"


@pytest.mark.parametrize("kind", STATES)
def test_exec_of_read_only_tx_runs_when_state_changed_after_queueing(server, kind):
    """A transaction of only reads (GET, PING, EXISTS) queued before the state change is not
    refused: EXEC returns its replies."""
    c, o = server.client(), server.client()
    st = _State(kind, o)
    c.call("SET", "a", "1")
    _queue(c, ["GET", "a"], ["PING"], ["EXISTS", "a"])
    st.on()
    got = _exec(c)
    st.off()
    assert got == [b"1", "PONG", 1]


@pytest.mark.parametrize("kind", STATES)
def test_queueing_inside_multi_while_state_holds(server, kind):
    """While the state holds, queueing a write inside MULTI fails at once with the plain error
    (-NOREPLICAS / -OOM / -READONLY); under maxmemory even a read (GET) is refused when queued
    (any command inside MULTI is refused over the limit), otherwise reads queue; EXEC then
    gives 'EXECABORT Transaction discarded because of previous errors.'"""
    c, o = server.client(), server.client()
    st = _State(kind, o)
    st.on()
    got = c.pipeline([["MULTI"], ["SET", "x", "1"], ["GET", "x"], ["EXEC"]])
    st.off()
    err = RespError(STATE_ERR[kind])
    assert got == ["OK", err, err if kind == "maxmemory" else "QUEUED",
                   RespError("EXECABORT Transaction discarded because of previous errors.")]


# ---------------------------------------------------------------------------
# 3. WATCH rules
# ---------------------------------------------------------------------------

def _exec_ping(c):
    return c.pipeline([["MULTI"], ["PING"], ["EXEC"]])[-1]


def _wait_logically_expired(o, key, px=30):
    """SET key with PX, then a probe key with the same PX: once the probe is gone (polled
    with EXISTS on the probe only), ``key`` is logically expired but never accessed."""
    o.call("SET", key, "v", "PX", str(px))
    o.call("SET", "probe:" + key, "v", "PX", str(px))
    wait_until(lambda: o.call("EXISTS", "probe:" + key) == 0, 5)


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_already_expired_key_exec_succeeds(server):
    """WATCH of a key that is already logically expired (not yet deleted, active expiry off):
    EXEC succeeds."""
    c, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    _wait_logically_expired(o, "k")
    assert o.call("DBSIZE") == 1  # k is still there (the probe was lazily deleted)
    c.call("WATCH", "k")
    assert _exec_ping(c) == ["PONG"]


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_already_expired_key_then_lazy_delete_exec_succeeds(server):
    """WATCH of an already logically expired key, then another client's GET lazily deletes it:
    EXEC still succeeds (the key was already 'missing' when watched)."""
    c, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    _wait_logically_expired(o, "k")
    c.call("WATCH", "k")
    assert o.call("GET", "k") is None
    assert o.call("DBSIZE") == 0
    assert _exec_ping(c) == ["PONG"]


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_already_expired_key_then_recreated_aborts(server):
    """WATCH of an already logically expired key, then another client SETs it: EXEC returns
    a nil array."""
    c, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    _wait_logically_expired(o, "k")
    c.call("WATCH", "k")
    o.call("SET", "k", "new")
    assert _exec_ping(c) is None


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_live_key_that_expires_before_exec_aborts(server):
    """WATCH of a live key that then logically expires (nobody touches it, active expiry off)
    before EXEC: EXEC returns a nil array. Same if another client's EXISTS lazily deleted it."""
    c, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    o.call("SET", "k", "v", "PX", "100")
    o.call("SET", "probe", "v", "PX", "100")
    c.call("WATCH", "k")
    wait_until(lambda: o.call("EXISTS", "probe") == 0, 5)
    assert o.call("DBSIZE") == 1
    assert _exec_ping(c) is None
    o.call("SET", "k", "v", "PX", "100")
    o.call("SET", "probe", "v", "PX", "100")
    c.call("WATCH", "k")
    wait_until(lambda: o.call("EXISTS", "probe") == 0, 5)
    assert o.call("EXISTS", "k") == 0
    assert _exec_ping(c) is None


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_key_deleted_by_active_expiry_aborts(server):
    """A watched key deleted by the active expire cycle: EXEC returns a nil array."""
    c, o = server.client(), server.client()
    o.call("SET", "k", "v", "PX", "50")
    c.call("WATCH", "k")
    wait_until(lambda: o.call("DBSIZE") == 0, 5)
    assert _exec_ping(c) is None


def test_watch_and_swapdb(server):
    """SWAPDB 0 1 aborts a transaction watching a key that exists in db 0 or in db 1 (it
    appears / disappears); it does not if the key exists in neither, nor for SWAPDB of two
    other databases."""
    c, o = server.client(), server.client()
    o.call("SET", "k", "v")
    c.call("WATCH", "k")
    o.call("SWAPDB", "0", "1")
    assert _exec_ping(c) is None
    o.call("FLUSHALL")
    o.call("SET", "k", "v")
    c.call("WATCH", "k")
    o.call("SWAPDB", "1", "2")
    assert _exec_ping(c) == ["PONG"]
    o.call("FLUSHALL")
    c.call("WATCH", "k")
    o.call("SWAPDB", "0", "1")
    assert _exec_ping(c) == ["PONG"]
    o.call("SELECT", "1")
    o.call("SET", "k", "x")
    o.call("SELECT", "0")
    c.call("WATCH", "k")
    o.call("SWAPDB", "0", "1")
    assert _exec_ping(c) is None
    assert c.call("GET", "k") == b"x"


def test_watch_and_flushall_flushdb(server):
    """FLUSHALL / FLUSHDB abort a transaction watching a key that existed; they do not if the
    watched key did not exist; FLUSHDB of another database does not."""
    c, o = server.client(), server.client()
    o.call("SET", "k", "v")
    c.call("WATCH", "k")
    o.call("FLUSHALL")
    assert _exec_ping(c) is None
    o.call("SET", "k", "v")
    c.call("WATCH", "k")
    o.call("FLUSHDB")
    assert _exec_ping(c) is None
    c.call("WATCH", "k")
    o.call("FLUSHALL")
    assert _exec_ping(c) == ["PONG"]
    c.call("WATCH", "k")
    o.call("FLUSHDB")
    assert _exec_ping(c) == ["PONG"]
    o.call("SET", "k", "v")
    c.call("WATCH", "k")
    o.call("SELECT", "1")
    o.call("FLUSHDB")
    assert _exec_ping(c) == ["PONG"]


@pytest.mark.server(args=DEBUG_ARGS)
def test_watch_of_expired_key_then_flushall_or_swapdb_exec_succeeds(server):
    """A key already logically expired when WATCHed counts as missing: a later FLUSHALL,
    FLUSHDB or SWAPDB (which drop it) does not abort EXEC."""
    c, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    for cmd in (["FLUSHALL"], ["FLUSHDB"], ["SWAPDB", "0", "1"]):
        _wait_logically_expired(o, "k")
        c.call("WATCH", "k")
        o.call(*cmd)
        assert _exec_ping(c) == ["PONG"], cmd
        o.call("FLUSHALL")


# ---------------------------------------------------------------------------
# 4. INFO latencystats
# ---------------------------------------------------------------------------

NUM = r"\d+\.\d{3}"


def _latency_lines(c, section="latencystats"):
    raw = c.call("INFO", section)
    lines = [l for l in raw.decode().split("\r\n") if l.startswith("latency_percentiles_usec_")]
    return raw, lines


def test_info_latencystats_label_format(server):
    """INFO latencystats: '# Latencystats' then one line per command called since CONFIG
    RESETSTAT (subcommands as 'config|resetstat'), each
    'latency_percentiles_usec_<cmd>:p50=<x.xxx>,p99=<x.xxx>,p99.9=<x.xxx>' with non-decreasing
    values. INFO itself shows up from the next call. Plain INFO does not include the section,
    INFO ALL does."""
    c = server.client()
    c.call("CONFIG", "RESETSTAT")
    first = c.call("INFO", "latencystats").decode()
    c.call("SET", "a", "1")
    c.call("GET", "a")
    c.call("GET", "a")
    c.call("CLIENT", "ID")
    raw, lines = _latency_lines(c)
    assert raw.startswith(b"# Latencystats\r\n"), raw
    names = {re.match(r"^latency_percentiles_usec_([^:]+):", l).group(1) for l in lines}
    assert names == {"config|resetstat", "info", "set", "get", "client|id"}, lines
    assert re.fullmatch(r"# Latencystats\r\nlatency_percentiles_usec_config\|resetstat:"
                        r"p50=%s,p99=%s,p99\.9=%s\r\n" % (NUM, NUM, NUM), first), first
    pat = re.compile(r"^latency_percentiles_usec_([a-z|]+):p50=(%s),p99=(%s),p99\.9=(%s)$" % (NUM, NUM, NUM))
    for line in lines:
        m = pat.match(line)
        assert m, line
        p50, p99, p999 = float(m.group(2)), float(m.group(3)), float(m.group(4))
        assert p50 <= p99 <= p999, line
    assert b"latency_percentiles_usec_" not in c.call("INFO")
    assert b"# Latencystats\r\nlatency_percentiles_usec_" in c.call("INFO", "all")


def test_info_latencystats_custom_percentiles(server):
    """latency-tracking-info-percentiles sets the labels in the configured order ('0 50 99.99
    100' -> p0,p50,p99.99,p100); an empty list leaves 'latency_percentiles_usec_<cmd>:' with
    nothing after the colon; latency-tracking no leaves the section empty. Bad values give
    the CONFIG SET error texts."""
    c = server.client()
    assert c.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 99.99 100") == "OK"
    c.call("CONFIG", "RESETSTAT")
    c.call("PING")
    _, lines = _latency_lines(c)
    ping = [l for l in lines if l.startswith("latency_percentiles_usec_ping:")]
    assert len(ping) == 1
    assert re.fullmatch(r"latency_percentiles_usec_ping:p0=%s,p50=%s,p99\.99=%s,p100=%s" % (NUM, NUM, NUM, NUM),
                        ping[0]), ping[0]
    assert c.call("CONFIG", "SET", "latency-tracking-info-percentiles", "") == "OK"
    assert c.call("CONFIG", "GET", "latency-tracking-info-percentiles") == [
        b"latency-tracking-info-percentiles", b""]
    _, lines = _latency_lines(c)
    assert "latency_percentiles_usec_ping:" in lines
    assert all(l.endswith(":") for l in lines), lines
    assert c.err("CONFIG", "SET", "latency-tracking-info-percentiles", "101") == (
        "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - "
        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
    assert c.err("CONFIG", "SET", "latency-tracking-info-percentiles", "abc") == (
        "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - "
        "Invalid latency-tracking-info-percentiles parameters")
    assert c.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9") == "OK"
    assert c.call("CONFIG", "SET", "latency-tracking", "no") == "OK"
    c.call("CONFIG", "RESETSTAT")
    c.call("PING")
    assert c.call("INFO", "latencystats") == b"# Latencystats\r\n"


# ---------------------------------------------------------------------------
# 5. OBJECT IDLETIME / OBJECT FREQ
# ---------------------------------------------------------------------------

# (name, command with "K" for the key, touches?)
TOUCH_TABLE = [
    ("ttl", ["TTL", "K"], False),
    ("pttl", ["PTTL", "K"], False),
    ("type", ["TYPE", "K"], False),
    ("exists", ["EXISTS", "K"], False),
    ("objenc", ["OBJECT", "ENCODING", "K"], False),
    ("objref", ["OBJECT", "REFCOUNT", "K"], False),
    ("expiretime", ["EXPIRETIME", "K"], False),
    ("memusage", ["MEMORY", "USAGE", "K"], False),
    ("debugobj", ["DEBUG", "OBJECT", "K"], False),
    ("touch", ["TOUCH", "K"], True),
    ("get", ["GET", "K"], True),
    ("strlen", ["STRLEN", "K"], True),
    ("persist", ["PERSIST", "K"], True),
    ("dump", ["DUMP", "K"], True),
]


def _run_touch_table(c):
    for name, cmd, _ in TOUCH_TABLE:
        c.call(*[("t:" + name) if a == "K" else a for a in cmd])


@pytest.mark.server(args=DEBUG_ARGS)
def test_object_idletime_which_commands_reset_access_time(server):
    """After >= 2 s idle: TTL, PTTL, TYPE, EXISTS, OBJECT ENCODING/REFCOUNT, EXPIRETIME,
    MEMORY USAGE and DEBUG OBJECT leave OBJECT IDLETIME alone; TOUCH, GET, STRLEN, PERSIST
    and DUMP reset it to 0. OBJECT IDLETIME itself does not touch. Under an LFU policy
    OBJECT IDLETIME is an error."""
    c = server.client()
    for name, _, _ in TOUCH_TABLE:
        c.call("SET", "t:" + name, "v")
    c.call("SET", "idle-probe", "v")
    wait_until(lambda: c.call("OBJECT", "IDLETIME", "idle-probe") >= 2, 10, interval=0.1)
    _run_touch_table(c)
    got = {name: c.call("OBJECT", "IDLETIME", "t:" + name) for name, _, _ in TOUCH_TABLE}
    bad = {n: got[n] for n, _, touches in TOUCH_TABLE if (got[n] == 0) != touches}
    assert not bad, "idle times (touching commands must give 0): %r" % got
    c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    assert c.err("OBJECT", "IDLETIME", "idle-probe") == (
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        "switching between policies at runtime LRU and LFU data will take some time to adjust.")


@pytest.mark.server(args=DEBUG_ARGS + ["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0"])
def test_object_freq_which_commands_bump_the_counter(server):
    """allkeys-lfu (no decay): a new key has OBJECT FREQ 5; the first access bumps it to 6
    (certain at counter 5). TTL, PTTL, TYPE, EXISTS, OBJECT ENCODING/REFCOUNT, EXPIRETIME,
    MEMORY USAGE, DEBUG OBJECT and OBJECT FREQ do not bump; TOUCH, GET, STRLEN, PERSIST, DUMP
    do. SET over an existing key bumps and keeps the counter (6). Without an LFU policy
    OBJECT FREQ is an error."""
    c = server.client()
    for name, _, _ in TOUCH_TABLE:
        c.call("SET", "t:" + name, "v")
    c.call("SET", "fresh", "v")
    assert c.call("OBJECT", "FREQ", "fresh") == 5
    assert c.call("OBJECT", "FREQ", "fresh") == 5
    _run_touch_table(c)
    got = {name: c.call("OBJECT", "FREQ", "t:" + name) for name, _, _ in TOUCH_TABLE}
    want = {name: (6 if touches else 5) for name, _, touches in TOUCH_TABLE}
    assert got == want
    c.call("SET", "fresh", "w")
    assert c.call("OBJECT", "FREQ", "fresh") == 6
    c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
    assert c.err("OBJECT", "FREQ", "fresh") == (
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time to adjust.")


# ---------------------------------------------------------------------------
# 6. RESP3 + CLIENT REPLY OFF / SKIP
# ---------------------------------------------------------------------------

def _push_msg(ch, msg):
    return b">3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(ch), ch, len(msg), msg)


def _push_sub(kind, ch, n):
    return b">3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n:%d\r\n" % (len(kind), kind, len(ch), ch, n)


def test_resp3_client_reply_off_still_gets_push_messages(server):
    """RESP3 client: HELLO 3, SUBSCRIBE ch, CLIENT REPLY OFF. PUBLISH from another client is
    still delivered as a '>3 message' push; a further SUBSCRIBE's confirmation push is
    delivered too; ordinary replies (PING) are suppressed; CLIENT REPLY ON answers +OK."""
    sub, pub = server.client(), server.client()
    hello = sub.call("HELLO", "3")
    assert hello[b"proto"] == 3
    sub.send("SUBSCRIBE", "ch")
    expect_bytes(sub, _push_sub(b"subscribe", b"ch", 1))
    sub.send("CLIENT", "REPLY", "OFF")
    assert pub.call("PUBLISH", "ch", "hello") == 1
    want = _push_msg(b"ch", b"hello")
    expect_bytes(sub, want)
    sub.send("SUBSCRIBE", "ch2")
    want = _push_sub(b"subscribe", b"ch2", 2)
    expect_bytes(sub, want)
    sub.send("PING")
    sub.send("CLIENT", "REPLY", "ON")
    expect_bytes(sub, b"+OK\r\n")
    assert pub.call("PUBLISH", "ch2", "x") == 1
    want = _push_msg(b"ch2", b"x")
    expect_bytes(sub, want)


def test_resp3_client_reply_skip_does_not_eat_push_messages(server):
    """RESP3 + CLIENT REPLY SKIP: a push message arriving meanwhile is delivered and does not
    consume the skip: the next command's reply is skipped, the one after is sent. A SKIPped
    SUBSCRIBE / UNSUBSCRIBE still delivers its confirmation push."""
    sub, pub = server.client(), server.client()
    sub.call("HELLO", "3")
    sub.send("SUBSCRIBE", "ch")
    sub.read_reply()
    sub.send("CLIENT", "REPLY", "SKIP")
    assert pub.call("PUBLISH", "ch", "y") == 1
    sub.send("PING")
    sub.send("PING")
    want = _push_msg(b"ch", b"y") + b"+PONG\r\n"
    expect_bytes(sub, want)
    sub.send("CLIENT", "REPLY", "SKIP")
    sub.send("SUBSCRIBE", "ch3")
    sub.send("CLIENT", "REPLY", "SKIP")
    sub.send("UNSUBSCRIBE", "ch3")
    sub.send("PING")
    want = _push_sub(b"subscribe", b"ch3", 2) + _push_sub(b"unsubscribe", b"ch3", 1) + b"+PONG\r\n"
    expect_bytes(sub, want)


def test_resp2_subscriber_cannot_use_client_reply(server):
    """A RESP2 client in subscribe mode cannot run CLIENT REPLY: "ERR Can't execute
    'client|reply': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed
    in this context"."""
    sub = server.client()
    sub.send("SUBSCRIBE", "z")
    assert sub.read_reply() == [b"subscribe", b"z", 1]
    assert sub.err("CLIENT", "REPLY", "OFF") == (
        "ERR Can't execute 'client|reply': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context")


# ---------------------------------------------------------------------------
# 7. blocked clients
# ---------------------------------------------------------------------------

def test_client_list_shows_blocked_client_and_client_unblock(server):
    """A client blocked in BLPOP shows flags=b cmd=blpop in CLIENT LIST (blocked_clients:1 in
    INFO). CLIENT UNBLOCK <id> -> :1 and the client gets a nil array (*-1); CLIENT UNBLOCK <id>
    TIMEOUT the same; CLIENT UNBLOCK <id> ERROR -> the client gets '-UNBLOCKED client unblocked
    via CLIENT UNBLOCK'. UNBLOCK of a non-blocked or unknown id -> :0."""
    b, o = server.client(), server.client()
    bid = b.call("CLIENT", "ID")
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    f = client_fields(o, bid)
    assert (f["flags"], f["cmd"], f["db"]) == ("b", "blpop", "0")
    assert parse_info(o.call("INFO", "clients"))[1]["blocked_clients"] == "1"
    assert o.call("CLIENT", "UNBLOCK", bid) == 1
    expect_bytes(b, b"*-1\r\n")
    assert client_fields(o, bid)["flags"] == "N"
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.call("CLIENT", "UNBLOCK", bid, "TIMEOUT") == 1
    expect_bytes(b, b"*-1\r\n")
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.call("CLIENT", "UNBLOCK", bid, "ERROR") == 1
    want = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    expect_bytes(b, want)
    assert o.call("CLIENT", "UNBLOCK", bid) == 0
    assert o.call("CLIENT", "UNBLOCK", "999999") == 0
    assert parse_info(o.call("INFO", "clients"))[1]["blocked_clients"] == "0"


def test_client_unblock_errors(server):
    """CLIENT UNBLOCK error texts: bad reason, non-integer id, missing id, too many args (the
    subcommand is echoed as typed)."""
    o = server.client()
    assert o.err("CLIENT", "UNBLOCK", "1", "FOO") == "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    assert o.err("CLIENT", "UNBLOCK", "abc") == "ERR value is not an integer or out of range"
    assert o.err("CLIENT", "UNBLOCK") == "ERR wrong number of arguments for 'client|unblock' command"
    assert o.err("CLIENT", "UNBLOCK", "1", "ERROR", "x") == (
        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.")
    assert o.err("client", "unblock", "1", "error", "x") == (
        "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")


@pytest.mark.parametrize("cmd,resp2,resp3", [
    (["BLPOP", "k", "0"], b"*-1\r\n", b"_\r\n"),
    (["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], b"*-1\r\n", b"_\r\n"),
    (["BRPOPLPUSH", "k", "d", "0"], b"*-1\r\n", b"_\r\n"),
    (["BLMPOP", "0", "1", "k", "LEFT"], b"*-1\r\n", b"_\r\n"),
    (["BZPOPMIN", "z", "0"], b"*-1\r\n", b"_\r\n"),
    (["BZMPOP", "0", "1", "z", "MIN"], b"*-1\r\n", b"_\r\n"),
    # XREAD BLOCK joins this table when streams land.
    (["WAIT", "1", "0"], b":0\r\n", b":0\r\n"),
])
def test_client_unblock_reply_per_blocking_command(server, cmd, resp2, resp3):
    """CLIENT UNBLOCK (timeout) reply per blocking command: every list/zset/stream blocking
    command (BLMOVE and BRPOPLPUSH included) gets a nil *array* (*-1) in RESP2 and _ in RESP3;
    WAIT gets the number of acknowledging replicas (:0)."""
    b, o = server.client(), server.client()
    bid = b.call("CLIENT", "ID")
    for proto, want in (("2", resp2), ("3", resp3)):
        b.call("HELLO", proto)
        b.send(*cmd)
        wait_blocked(o)
        assert o.call("CLIENT", "UNBLOCK", bid) == 1
        expect_bytes(b, want)


def test_swapdb_wakes_client_blocked_on_key(server):
    """A client blocked on k in db 0 is served when SWAPDB 0 1 brings a list k into db 0; it
    pops from the (now db 0) list. A non-list k swapped in does not wake it."""
    b, o = server.client(), server.client()
    bid = b.call("CLIENT", "ID")
    o.call("SELECT", "1")
    o.call("RPUSH", "k", "a", "b")
    o.call("SELECT", "0")
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.call("SWAPDB", "0", "1") == "OK"
    wait_until(lambda: blocked_clients(o) == 0, 3, msg="SWAPDB 0 1 did not wake the client blocked on k")
    assert b.read_reply() == [b"k", b"a"]
    assert o.call("LRANGE", "k", "0", "-1") == [b"b"]
    o.call("FLUSHALL")
    o.call("SELECT", "1")
    o.call("SET", "k", "str")
    o.call("SELECT", "0")
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.call("SWAPDB", "0", "1") == "OK"
    assert blocked_clients(o) == 1
    o.call("DEL", "k")
    o.call("RPUSH", "k", "z")
    assert b.read_reply() == [b"k", b"z"]


@pytest.mark.server(args=DEBUG_ARGS)
def test_key_gone_or_expired_inside_multi_does_not_serve_blocked_client(server):
    """Blocked clients are served after EXEC, on the final state: MULTI RPUSH k a, PEXPIRE k 0
    (deletes k) -> not served; MULTI RPUSH k a, PEXPIRE k 1, DEBUG SLEEP 0.01 (k logically
    expired when EXEC ends) -> not served; MULTI RPUSH k a, SET k s -> not served;
    MULTI RPUSH k a, DEL k, RPUSH k b -> served with b."""
    b, o = server.client(), server.client()
    o.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    bid = b.call("CLIENT", "ID")
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.pipeline([["MULTI"], ["RPUSH", "k", "a"], ["PEXPIRE", "k", "0"], ["EXEC"]])[-1] == [1, 1]
    assert blocked_clients(o) == 1
    assert o.call("EXISTS", "k") == 0
    assert o.pipeline([["MULTI"], ["RPUSH", "k", "a"], ["PEXPIRE", "k", "1"], ["DEBUG", "SLEEP", "0.01"],
                       ["EXEC"]])[-1] == [1, 1, "OK"]
    assert blocked_clients(o) == 1
    assert o.call("EXISTS", "k") == 0
    assert o.pipeline([["MULTI"], ["RPUSH", "k", "a"], ["SET", "k", "s"], ["EXEC"]])[-1] == [1, "OK"]
    assert blocked_clients(o) == 1
    o.call("DEL", "k")
    o.call("RPUSH", "k", "z")
    assert b.read_reply() == [b"k", b"z"]
    b.send("BLPOP", "k", "0")
    wait_blocked(o)
    assert o.pipeline([["MULTI"], ["RPUSH", "k", "a"], ["DEL", "k"], ["RPUSH", "k", "b"], ["EXEC"]])[-1] == [1, 1, 1]
    assert b.read_reply() == [b"k", b"b"]
    assert o.call("EXISTS", "k") == 0


# ---------------------------------------------------------------------------
# 8. COMMAND GETKEYS / GETKEYSANDFLAGS
# ---------------------------------------------------------------------------

RO_A = ["RO", "access"]
RW_AD = ["RW", "access", "delete"]
OW_U = ["OW", "update"]

# command line -> [(key, flags)] as Redis 7.0.15 answers GETKEYSANDFLAGS (GETKEYS = the keys)
GETKEYS_TABLE = [
    ("SET k v", [("k", OW_U)]),
    ("SET k v EX 10 GET", [("k", ["RW", "access", "update"])]),
    ("GET k", [("k", RO_A)]),
    ("MSET a 1 b 2 c 3", [("a", OW_U), ("b", OW_U), ("c", OW_U)]),
    ("MSETNX a 1 b 2", [("a", ["OW", "insert"]), ("b", ["OW", "insert"])]),
    ("MGET a b c", [("a", RO_A), ("b", RO_A), ("c", RO_A)]),
    ("DEL a b c", [("a", ["RM", "delete"]), ("b", ["RM", "delete"]), ("c", ["RM", "delete"])]),
    ("EXISTS a a b", [("a", ["RO"]), ("a", ["RO"]), ("b", ["RO"])]),
    ("RENAME a b", [("a", RW_AD), ("b", OW_U)]),
    ("RENAMENX a b", [("a", RW_AD), ("b", ["OW", "insert"])]),
    ("COPY a b DB 1", [("a", RO_A), ("b", OW_U)]),
    ("MOVE a 1", [("a", ["RW", "access", "update"])]),
    ("LMOVE s d LEFT RIGHT", [("s", RW_AD), ("d", ["RW", "insert"])]),
    ("BLMOVE s d LEFT RIGHT 0", [("s", RW_AD), ("d", ["RW", "insert"])]),
    ("BRPOPLPUSH s d 5", [("s", RW_AD), ("d", ["RW", "insert"])]),
    ("BLPOP a b c 0", [("a", RW_AD), ("b", RW_AD), ("c", RW_AD)]),
    ("BRPOP a 1.5", [("a", RW_AD)]),
    ("BZPOPMIN z1 z2 0", [("z1", RW_AD), ("z2", RW_AD)]),
    ("ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 2", [("dst", OW_U), ("z1", RO_A), ("z2", RO_A)]),
    ("ZINTERSTORE dst 3 a b c", [("dst", OW_U), ("a", RO_A), ("b", RO_A), ("c", RO_A)]),
    ("ZUNION 2 a b WITHSCORES", [("a", RO_A), ("b", RO_A)]),
    ("ZDIFFSTORE d 2 a b", [("d", OW_U), ("a", RO_A), ("b", RO_A)]),
    ("ZINTERCARD 2 a b LIMIT 1", [("a", RO_A), ("b", RO_A)]),
    ("SINTERCARD 3 a b c", [("a", RO_A), ("b", RO_A), ("c", RO_A)]),
    ("LMPOP 2 a b LEFT COUNT 2", [("a", RW_AD), ("b", RW_AD)]),
    ("ZMPOP 1 z MIN", [("z", RW_AD)]),
    ("BLMPOP 0 2 a b RIGHT", [("a", RW_AD), ("b", RW_AD)]),
    ("BZMPOP 1.5 1 z MAX", [("z", RW_AD)]),
    ("SORT src", [("src", RO_A)]),
    ("SORT src BY w_* GET o_* STORE dst", [("src", RO_A), ("dst", OW_U)]),
    ("SORT_RO src BY w_*", [("src", RO_A)]),
    ("OBJECT ENCODING k", [("k", ["RO"])]),
    ("MEMORY USAGE k SAMPLES 5", [("k", ["RO"])]),
    ("SMOVE s d m", [("s", RW_AD), ("d", ["RW", "insert"])]),
    ("SINTERSTORE d a b", [("d", ["RW", "update"]), ("a", RO_A), ("b", RO_A)]),
    ("SUNIONSTORE d a b", [("d", OW_U), ("a", RO_A), ("b", RO_A)]),
    ("LCS a b", [("a", RO_A), ("b", RO_A)]),
    ("GETEX k PERSIST", [("k", ["RW", "access", "update"])]),
    ("GETDEL k", [("k", RW_AD)]),
    ("TOUCH a b", [("a", ["RO"]), ("b", ["RO"])]),
    ("TYPE k", [("k", ["RO"])]),
    ("RESTORE k 0 payload", [("k", OW_U)]),
    ("EXPIRE k 10", [("k", ["RW", "update"])]),
    ("WATCH a b", [("a", ["RO"]), ("b", ["RO"])]),
    ("ZRANGESTORE d s 0 -1", [("d", OW_U), ("s", RO_A)]),
]

# Families outside strings/lists/sets/zsets/keys: streams, geo, HyperLogLog, bit ops,
# scripting, MIGRATE.
GETKEYS_TABLE_OTHER = [
    ("MIGRATE host 6379 k 0 1000", [("k", RW_AD)]),
    ("MIGRATE host 6379 '' 0 1000 KEYS a b c", [("a", RW_AD), ("b", RW_AD), ("c", RW_AD)]),
    ("XREAD COUNT 1 STREAMS s1 s2 0 0", [("s1", RO_A), ("s2", RO_A)]),
    ("XREAD BLOCK 0 STREAMS s $", [("s", RO_A)]),
    ("XREAD STREAMS a b c", [("a", RO_A)]),
    ("XREADGROUP GROUP g c STREAMS s >", [("s", RO_A)]),
    ("XADD s * f v", [("s", ["RW", "update"])]),
    ("XGROUP CREATE s g $", [("s", ["RW", "insert"])]),
    ("XGROUP CREATECONSUMER s g c", [("s", ["RW", "insert"])]),
    ("XINFO STREAM s", [("s", RO_A)]),
    ("XAUTOCLAIM s g c 0 0", [("s", ["RW", "delete"])]),
    ("GEORADIUS src 0 0 10 km STORE dst", [("src", RO_A), ("dst", OW_U)]),
    ("GEORADIUS src 0 0 10 km STOREDIST dst", [("src", RO_A), ("dst", OW_U)]),
    ("GEORADIUSBYMEMBER src m 10 km STORE dst", [("src", RO_A), ("dst", OW_U)]),
    ("GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km", [("dst", OW_U), ("src", RO_A)]),
    ("PFCOUNT a b", [("a", ["RW", "access"]), ("b", ["RW", "access"])]),
    ("PFMERGE d a b", [("d", ["RW", "access", "insert"]), ("a", RO_A), ("b", RO_A)]),
    ("BITOP AND d a b c", [("d", OW_U), ("a", RO_A), ("b", RO_A), ("c", RO_A)]),
    ("BITOP NOT d a", [("d", OW_U), ("a", RO_A)]),
    ("BITFIELD_RO k GET u8 0", [("k", RO_A)]),
    ("EVAL script 2 a b c", [("a", ["RW", "access", "update"]), ("b", ["RW", "access", "update"])]),
    ("EVAL script 0", []),
    ("EVAL script 5 a", []),
    ("FCALL_RO f 1 a", [("a", RO_A)]),
]


def _check_getkeys(c, table, sub):
    bad = []
    for line, want in table:
        c.send("COMMAND", sub, *_split(line))
        got = c.read_reply(raise_errors=False)
        if sub == "GETKEYS":
            exp = [k.encode() for k, _ in want]
        else:
            exp = [[k.encode(), flags] for k, flags in want]
        if got != exp:
            bad.append("%s: expected %r, got %r" % (line, exp, got))
    assert not bad, "\n".join(bad)


def _split(line):
    return [("" if a == "''" else a) for a in line.split()]


def test_command_getkeys_table(server):
    """COMMAND GETKEYS for representative string/list/set/zset/key commands (numkeys commands,
    blocking pops with a timeout, SORT STORE, OBJECT / MEMORY USAGE)."""
    _check_getkeys(server.client(), GETKEYS_TABLE, "GETKEYS")


def test_command_getkeysandflags_table(server):
    """COMMAND GETKEYSANDFLAGS: [[key, [flag, ...]], ...] with flags as simple strings
    (RW/RO/OW/RM, access/update/insert/delete) from the 7.0 key specs."""
    _check_getkeys(server.client(), GETKEYS_TABLE, "GETKEYSANDFLAGS")


@pytest.mark.parametrize("sub", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_command_getkeys_streams_geo_hll_bitop_scripting_migrate(server, sub):
    """GETKEYS / GETKEYSANDFLAGS for streams (XREAD STREAMS with odd counts too), GEO ...
    STORE/STOREDIST, PFCOUNT (RW: it may write its cache), BITOP, BITFIELD_RO, EVAL/FCALL numkeys
    (numkeys 0 or larger than the arguments -> [] because they have no mandatory keys),
    MIGRATE (single key and KEYS form)."""
    c = server.client()
    _check_getkeys(c, GETKEYS_TABLE_OTHER, sub)
    # STREAMS with no ID after the key: arity error of the inner command
    c.send("COMMAND", sub, "XREAD", "STREAMS", "a")
    assert c.read_reply(raise_errors=False) == RespError("ERR Invalid number of arguments specified for command")


@pytest.mark.parametrize("sub", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_command_getkeys_errors(server, sub):
    """Error texts: no key arguments (PUBLISH, SUBSCRIBE, CLIENT LIST, OBJECT HELP, DEBUG
    OBJECT k) -> 'ERR The command has no key arguments'; wrong arity of the inner command ->
    'ERR Invalid number of arguments specified for command'; unknown command -> 'ERR Invalid
    command specified'; bad numkeys -> 'ERR Invalid arguments specified for command'; no inner
    command -> arity error of command|getkeys itself."""
    c = server.client()
    cases = [
        ("PUBLISH ch m", "ERR The command has no key arguments"),
        ("SUBSCRIBE ch", "ERR The command has no key arguments"),
        ("CLIENT LIST", "ERR The command has no key arguments"),
        ("CONFIG GET x", "ERR The command has no key arguments"),
        ("OBJECT HELP", "ERR The command has no key arguments"),
        ("DEBUG OBJECT k", "ERR The command has no key arguments"),
        ("SET k", "ERR Invalid number of arguments specified for command"),
        ("BLPOP a", "ERR Invalid number of arguments specified for command"),
        ("MEMORY USAGE", "ERR Invalid number of arguments specified for command"),
        ("OBJECT ENCODING", "ERR Invalid number of arguments specified for command"),
        ("NOSUCH a", "ERR Invalid command specified"),
        ("ZUNIONSTORE d 3 a b", "ERR Invalid arguments specified for command"),
        ("ZUNIONSTORE d 0 a", "ERR Invalid arguments specified for command"),
        ("ZUNIONSTORE d x a", "ERR Invalid arguments specified for command"),
        ("LMPOP 0 a LEFT", "ERR Invalid arguments specified for command"),
        ("GET", "ERR wrong number of arguments for 'command|%s' command" % sub.lower()),
        ("", "ERR wrong number of arguments for 'command|%s' command" % sub.lower()),
    ]
    bad = []
    for line, want in cases:
        c.send("COMMAND", sub, *line.split())
        got = c.read_reply(raise_errors=False)
        if got != RespError(want):
            bad.append("%r: expected %r, got %r" % (line, want, got))
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------
# 9. DEBUG subcommands
# ---------------------------------------------------------------------------

DEBUG_HELP_NAMES = [
    "AOF-FLUSH-SLEEP <microsec>", "ASSERT", "CHANGE-REPL-ID", "CONFIG-REWRITE-FORCE-ALL",
    "CRASH-AND-RECOVER [<milliseconds>]", "DIGEST", "DIGEST-VALUE <key> [<key> ...]", "ERROR <string>",
    "LEAK <string>", "LOG <message>", "HTSTATS <dbid>", "HTSTATS-KEY <key>", "LOADAOF",
    "REPLICATE <string>", "MALLCTL <key> [<val>]", "MALLCTL-STR <key> [<val>]", "OBJECT <key>",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>", "OOM", "PANIC", "POPULATE <count> [<prefix>] [<size>]",
    "PROTOCOL <type>", "RELOAD [option ...]", "RESTART [<milliseconds>]", "SDSLEN <key>", "SEGFAULT",
    "SET-ACTIVE-EXPIRE <0|1>", "QUICKLIST-PACKED-THRESHOLD <size>", "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "SLEEP <seconds>", "STRINGMATCH-TEST", "STRUCTSIZE", "LISTPACK <key>", "QUICKLIST <key> [<0|1>]",
    "CLIENT-EVICTION", "PAUSE-CRON <0|1>", "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "REPLYBUFFER RESIZING <0|1>", "CLUSTERLINK KILL <to|from|all> <node-id>", "HELP",
]


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_help(server):
    """DEBUG HELP: the usage line, then Redis 7.0's entries (a subcommand line and its
    indented description, word for word) for the subcommands the server has, in Redis's
    order, ending with HELP. Redis itself lists all 52 (106 lines)."""
    c = server.client()
    lines = c.call("DEBUG", "HELP")
    assert all(isinstance(l, str) for l in lines)
    assert lines[0] == "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    entries = []
    for l in lines[1:]:
        if l.startswith(" "):
            entries[-1].append(l)
        else:
            entries.append([l])
    names = [e[0] for e in entries]
    assert names == [n for n in DEBUG_HELP_NAMES if n in names]  # Redis's order
    for must in ("AOF-FLUSH-SLEEP <microsec>", "CHANGE-REPL-ID", "DIGEST", "LOG <message>",
                 "LOADAOF", "PAUSE-CRON <0|1>", "SET-SKIP-CHECKSUM-VALIDATION <0|1>"):
        assert must in names
    assert entries[0] == ["AOF-FLUSH-SLEEP <microsec>",
                          "    Server will sleep before flushing the AOF, this is used for testing."]
    if len(names) == len(DEBUG_HELP_NAMES):
        assert len(lines) == 106


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_log_writes_a_warning_line(server):
    """DEBUG LOG <msg> -> +OK and a warning-level line '... # DEBUG LOG: <msg>' in the log.
    Missing or extra arguments: the DEBUG unknown-subcommand error (subcommand echoed)."""
    c = server.client()
    assert c.call("DEBUG", "LOG", "hello from the test") == "OK"
    wait_until(lambda: re.search(r"^\d+:M \d\d \w{3} \d{4} [\d:.]+ # DEBUG LOG: hello from the test$",
                                 server.log(), re.M), 5, msg=server.log()[-500:])
    assert c.err("DEBUG", "log") == "ERR unknown subcommand or wrong number of arguments for 'log'. Try DEBUG HELP."
    assert c.err("DEBUG", "LOG", "a", "b") == (
        "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try DEBUG HELP.")
    assert c.err("DEBUG", "nosuchsub") == (
        "ERR unknown subcommand or wrong number of arguments for 'nosuchsub'. Try DEBUG HELP.")


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_change_repl_id(server):
    """DEBUG CHANGE-REPL-ID -> +OK; master_replid in INFO replication becomes a new 40-hex id,
    master_replid2 stays all zeros and the offset does not move. With an argument: the DEBUG
    unknown-subcommand error."""
    c = server.client()
    before = parse_info(c.call("INFO", "replication"))[1]
    assert c.call("DEBUG", "CHANGE-REPL-ID") == "OK"
    after = parse_info(c.call("INFO", "replication"))[1]
    assert re.fullmatch(r"[0-9a-f]{40}", after["master_replid"])
    assert after["master_replid"] != before["master_replid"]
    assert after["master_replid2"] == "0" * 40
    assert after["master_repl_offset"] == before["master_repl_offset"]
    assert c.err("DEBUG", "CHANGE-REPL-ID", "x") == (
        "ERR unknown subcommand or wrong number of arguments for 'CHANGE-REPL-ID'. Try DEBUG HELP.")


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_set_skip_checksum_validation(server):
    """RESTORE of a DUMP payload with a zeroed CRC64 fails ('ERR DUMP payload version or
    checksum are wrong'); after DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 (+OK) it is accepted; a
    wrong RDB version is still refused; 0 turns the check back on."""
    c = server.client()
    c.call("SET", "k", "hello")
    dump = c.call("DUMP", "k")
    bad_crc = dump[:-8] + bytes(8)
    err = "ERR DUMP payload version or checksum are wrong"
    assert c.err("RESTORE", "k2", "0", bad_crc) == err
    assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == "OK"
    assert c.call("RESTORE", "k2", "0", bad_crc) == "OK"
    assert c.call("GET", "k2") == b"hello"
    bad_ver = dump[:-10] + bytes([dump[-10] + 1]) + dump[-9:]
    assert c.err("RESTORE", "k3", "0", bad_ver) == err
    assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0") == "OK"
    assert c.err("RESTORE", "k4", "0", bad_crc) == err


def _rbs(c, cid):
    return int(client_fields(c, cid)["rbs"])


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_replybuffer(server):
    """DEBUG REPLYBUFFER RESIZING 0|1 and PEAK-RESET-TIME <ms>|NEVER|RESET answer +OK. A
    non-integer time: 'ERR value is not an integer or out of range'; missing / unknown
    REPLYBUFFER argument: the DEBUG unknown-subcommand error."""
    c = server.client()
    for args in (["PEAK-RESET-TIME", "100"], ["PEAK-RESET-TIME", "never"], ["PEAK-RESET-TIME", "reset"],
                 ["PEAK-RESET-TIME", "5000"], ["RESIZING", "1"]):
        assert c.call("DEBUG", "REPLYBUFFER", *args) == "OK", args
    assert c.err("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "abc") == "ERR value is not an integer or out of range"
    assert c.err("DEBUG", "REPLYBUFFER", "foo") == (
        "ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'. Try DEBUG HELP.")
    assert c.err("DEBUG", "replybuffer") == (
        "ERR unknown subcommand or wrong number of arguments for 'replybuffer'. Try DEBUG HELP.")
    assert c.call("DEBUG", "REPLYBUFFER", "RESIZING", "0") == "OK"
    # Redis's reply-buffer resize cron (rbs shrinking to 1024, reply_buffer_shrinks) has no
    # counterpart in redust yet: not compared here.


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_pause_cron_stops_active_expiry(server):
    """DEBUG PAUSE-CRON 1 -> +OK and serverCron stops: a key with PX 1 is not actively
    expired (DBSIZE stays 1); DEBUG PAUSE-CRON 0 -> the cron deletes it soon."""
    c = server.client()
    assert c.call("DEBUG", "PAUSE-CRON", "1") == "OK"
    c.call("SET", "k", "v", "PX", "1")
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        assert c.call("DBSIZE") == 1
        time.sleep(0.05)
    assert c.call("DEBUG", "PAUSE-CRON", "0") == "OK"
    wait_until(lambda: c.call("DBSIZE") == 0, 5)


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_aof_flush_sleep_ok(server):
    """DEBUG AOF-FLUSH-SLEEP <us> -> +OK (0 turns it off)."""
    c = server.client()
    assert c.call("DEBUG", "AOF-FLUSH-SLEEP", "10") == "OK"
    assert c.call("DEBUG", "AOF-FLUSH-SLEEP", "0") == "OK"


@pytest.mark.server(args=DEBUG_ARGS + ["--appendonly", "yes"])
def test_debug_loadaof_reloads_data(server):
    """With appendonly yes, DEBUG LOADAOF -> +OK after flushing and reloading the AOF: the data
    survives (strings, lists, TTLs) and the log says 'Append Only File loaded by DEBUG
    LOADAOF'."""
    c = server.client()
    c.call("SET", "a", "1")
    c.call("RPUSH", "l", "x", "y")
    c.call("SET", "t", "v", "EX", "1000")
    c.call("SELECT", "3")
    c.call("SET", "in3", "z")
    c.call("SELECT", "0")
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("GET", "a") == b"1"
    assert c.call("LRANGE", "l", "0", "-1") == [b"x", b"y"]
    assert 990 <= c.call("TTL", "t") <= 1000
    c.call("SELECT", "3")
    assert c.call("GET", "in3") == b"z"
    assert "Append Only File loaded by DEBUG LOADAOF" in server.log()


def _debug_object_fields(c, key):
    txt = c.call("DEBUG", "OBJECT", key)
    assert txt.startswith("Value at:"), txt
    out = {}
    for part in txt.split(" ")[2:]:
        k, _, v = part.partition(":")
        out[k] = v
    return out




# ---------------------------------------------------------------------------
# Argument checks in Redis's order (found by the differential tester)
# ---------------------------------------------------------------------------

ARGUMENT_ORDER_CASES = [
    (['SET', 'far', 'v', 'PXAT', '9223372036854775807'], b'+OK\r\n'),
    (['EXPIRETIME', 'far'], b':9223372036854776\r\n'),
    (['BLPOP', 'bk', 'inf'], b'-ERR timeout is negative\r\n'),
    (['BLPOP', 'bk', '1e16'], b'-ERR timeout is negative\r\n'),
    (['BLPOP', 'bk', 'nan'], b'-ERR timeout is not a float or out of range\r\n'),
    (['BLPOP', 'bk', '0x1p-4'], b'*-1\r\n'),
    (['ZADD', 'hz', '0x10', 'a'], b':1\r\n'),
    (['ZSCORE', 'hz', 'a'], b'$2\r\n16\r\n'),
    (['RPUSH', 'pl', 'a', 'b', 'a'], b':3\r\n'),
    (['LPOS', 'pl', 'a', 'RANK', '-9223372036854775808'], b':2\r\n'),
    (['LPOS', 'pl', 'a', 'MAXLEN', 'x'], b"-ERR MAXLEN can't be negative\r\n"),
    (['LPOS', 'pl', 'a', 'COUNT', 'x'], b"-ERR COUNT can't be negative\r\n"),
    (['SET', 'pstr', 'v'], b'+OK\r\n'),
    (['LCS', 'pl', 'pstr', 'foo'], b'-ERR The specified keys must contain string values\r\n'),
    (['LCS', 'pstr', 'pstr', 'foo'], b'-ERR syntax error\r\n'),
    (['SET', 'rk', 'v'], b'+OK\r\n'),
    (['RESTORE', 'rk', 'x', 'abc'], b'-BUSYKEY Target key name already exists.\r\n'),
    (['RESTORE', 'rk2', 'x', 'abc'], b'-ERR value is not an integer or out of range\r\n'),
    (['RESTORE', 'rk2', '-1', 'abc'], b'-ERR Invalid TTL value, must be >= 0\r\n'),
    (['RESTORE', 'rk2', '0', 'abc'], b'-ERR DUMP payload version or checksum are wrong\r\n'),
    (['RESTORE', 'rk2', '0', 'abc', 'FREQ', 'x'], b'-ERR value is not an integer or out of range\r\n'),
    (['SET', 'str', 'v'], b'+OK\r\n'),
    (['LINDEX', 'nokey', 'x'], b'$-1\r\n'),
    (['LINDEX', 'str', 'x'], b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
    (['LSET', 'nokey', 'x', 'v'], b'-ERR no such key\r\n'),
    (['LSET', 'str', 'x', 'v'], b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
    (['GETEX', 'nokey', 'EX', 'x'], b'$-1\r\n'),
    (['GETEX', 'str', 'EX', 'x'], b'-ERR value is not an integer or out of range\r\n'),
    (['GETEX', 'str', 'EX', '10', 'EX', '20'], b'$1\r\nv\r\n'),
    (['GETEX', 'str', 'PERSIST', 'PERSIST'], b'$1\r\nv\r\n'),
    (['SET', 'k', 'v', 'KEEPTTL', 'KEEPTTL'], b'+OK\r\n'),
    (['SET', 'k', 'v', 'PXAT', '0', 'PXAT', '99999999999999'], b'+OK\r\n'),
    (['SET', 'k', 'v', 'EX', 'x', 'FOO'], b'-ERR syntax error\r\n'),
    (['EXPIRE', 'k', 'x', 'NX', 'GT'], b'-ERR NX and XX, GT or LT options at the same time are not compatible\r\n'),
    (['EXPIRE', 'k', 'x', 'FOO'], b'-ERR Unsupported option FOO\r\n'),
    (['EXPIRE', 'k', 'x'], b'-ERR value is not an integer or out of range\r\n'),
    (['LMPOP', 'x', 'a', 'LEFT'], b'-ERR numkeys should be greater than 0\r\n'),
    (['LMPOP', '0', 'a', 'LEFT'], b'-ERR numkeys should be greater than 0\r\n'),
    (['LCS', 'str', 'nokey', 'MINMATCHLEN', 'x'], b'-ERR value is not an integer or out of range\r\n'),
]


def test_argument_checks_come_in_redis_order(server):
    """Which error wins when several apply: the key before LINDEX/LSET's index and GETEX's
    value, EXPIRE's flags before its number, SET/GETEX options that may repeat, LMPOP's
    numkeys message for a non-number."""
    raw = server.raw()
    for args, want in ARGUMENT_ORDER_CASES:
        out = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)
        raw.send(out)
        raw.expect(want)


def test_string_encodings_after_append_and_incrbyfloat(server):
    """APPEND to a missing key stores the value as SET would (int when it is one); a later
    APPEND makes it raw. INCRBYFLOAT stores a string object, never an int."""
    c = server.client()
    c.call("APPEND", "a", "123")
    assert c.call("OBJECT", "ENCODING", "a") == b"int"
    c.call("APPEND", "a", "4")
    assert c.call("OBJECT", "ENCODING", "a") == b"raw"
    c.call("INCRBYFLOAT", "f", "1")
    assert c.call("OBJECT", "ENCODING", "f") == b"embstr"
    assert c.call("GET", "f") == b"1"


def test_sort_converts_a_sorted_set_and_looks_patterns_up_as_reads(server):
    """SORT and SORT_RO leave a sorted set in the skiplist encoding (Redis converts it
    before sorting); the keys BY/GET patterns name are read lookups: keymiss events and
    keyspace hits/misses."""
    c = server.client()
    c.call("ZADD", "z", "1", "a", "2", "b")
    assert c.call("OBJECT", "ENCODING", "z") == b"listpack"
    c.call("SORT_RO", "z", "ALPHA")
    assert c.call("OBJECT", "ENCODING", "z") == b"skiplist"
    c.call("CONFIG", "SET", "notify-keyspace-events", "Em")
    sub = server.client()
    sub.call("SUBSCRIBE", "__keyevent@0__:keymiss")
    c.call("RPUSH", "l", "1", "2")
    c.call("SET", "w_1", "5")
    before = parse_info(c.call("INFO", "stats"))[1]
    assert c.call("SORT", "l", "BY", "w_*", "GET", "g_*", "GET", "#") == [None, b"2", None, b"1"]
    after = parse_info(c.call("INFO", "stats"))[1]
    assert int(after["keyspace_misses"]) - int(before["keyspace_misses"]) == 3
    got = sorted(sub.read_reply()[2] for _ in range(3))
    assert got == [b"g_1", b"g_2", b"w_2"]


# ---------------------------------------------------------------------------
# SORT reads numbers as strtod does; lex ranges over a skiplist check its ends first
# ---------------------------------------------------------------------------


def test_sort_reads_values_as_strtod(c):
    c.call("RPUSH", "l", "", " 2", "1")
    assert c.call("SORT", "l") == [b"", b"1", b" 2"]
    c.call("RPUSH", "i", "inf", "-inf", "0")
    assert c.call("SORT", "i") == [b"-inf", b"0", b"inf"]
    # Out of range last: Redis never clears errno before strtod, so after an ERANGE
    # its numeric SORTs keep failing for a while (not something to depend on).
    for bad in ("2 ", "abc", "nan", "1e400", "1e-400"):
        c.call("DEL", "b")
        c.call("RPUSH", "b", bad, "1")
        with pytest.raises(RespError) as e:
            c.call("SORT", "b")
        assert e.value.msg == "ERR One or more scores can't be converted into double", bad


def test_lex_range_over_a_skiplist_checks_its_ends_first(c):
    """zslIsInLexRange: with mixed scores, if the last member (by score) is below min or
    the first above max, the range is empty, whatever lies between."""
    c.call("CONFIG", "SET", "zset-max-listpack-value", "1")
    c.call("ZADD", "z", "2", "e", "1.5", "yyyyyyyyyyyyyyyyyyyy", "9007199254740993", "1")
    assert c.call("OBJECT", "ENCODING", "z") == b"skiplist"
    assert c.call("ZRANGE", "z", "[a", "+", "BYLEX") == []
    assert c.call("ZRANGEBYLEX", "z", "-", "[b") == []
    assert c.call("ZLEXCOUNT", "z", "[a", "+") == 0


def test_resp3_own_events_come_where_redis_fires_them(server):
    """Redis writes a client's own event messages where they fire: RPUSH, BRPOP,
    LMPOP and BLMPOP reply first and then fire their events; LMOVE fires the push
    event, replies, then fires the pop event; SET fires before replying."""
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    raw.read_available()
    raw.send(b"CONFIG SET notify-keyspace-events El\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"SUBSCRIBE __keyevent@0__:rpush __keyevent@0__:rpop __keyevent@0__:lpop "
             b"__keyevent@0__:lpush\r\n")
    raw.read_available()

    def push(event):
        ch = b"__keyevent@0__:" + event
        return b">3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$1\r\nl\r\n" % (len(ch), ch)

    raw.send(b"RPUSH l a b c\r\n")
    raw.expect(b":3\r\n" + push(b"rpush"))
    raw.send(b"BRPOP l 0\r\n")
    raw.expect(b"*2\r\n$1\r\nl\r\n$1\r\nc\r\n" + push(b"rpop"))
    raw.send(b"LMPOP 1 l LEFT\r\n")
    raw.expect(b"*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n" + push(b"lpop"))
    raw.send(b"BLMPOP 0 1 l RIGHT COUNT 5\r\n")
    raw.expect(b"*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n" + push(b"rpop"))
    raw.send(b"RPUSH l x y\r\n")
    raw.expect(b":2\r\n" + push(b"rpush"))
    raw.send(b"LMOVE l l RIGHT LEFT\r\n")
    raw.expect(push(b"lpush") + b"$1\r\ny\r\n" + push(b"rpop"))


def test_resp3_new_and_keymiss_fire_before_the_reply(server):
    """`new` fires when the key is created and `keymiss` when it is looked up, before the
    reply even for commands that reply before their own event (HSET: new, reply, hset)."""
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    raw.read_available()
    raw.send(b"CONFIG SET notify-keyspace-events Ehnm\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"SUBSCRIBE __keyevent@0__:new __keyevent@0__:hset __keyevent@0__:keymiss\r\n")
    raw.read_available()

    def push(event, key):
        ch = b"__keyevent@0__:" + event
        return b">3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(ch), ch, len(key), key)

    raw.send(b"HSET h f v\r\n")
    raw.expect(push(b"new", b"h") + b":1\r\n" + push(b"hset", b"h"))
    raw.send(b"GET nokey\r\n")
    raw.expect(push(b"keymiss", b"nokey") + b"_\r\n")
