"""Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT *."""

import re
import threading
import time

import pytest

from helpers import parse_info, wait_until

VERSION_RE = re.compile(rb"^7\.0\.\d+$")


def test_ping(c):
    assert c.call("PING") == "PONG"
    assert c.call("ping", "hello") == b"hello"
    assert c.err("PING", "a", "b") == "ERR wrong number of arguments for 'ping' command"


def test_ping_raw_bytes(server):
    raw = server.raw()
    raw.send(b"*1\r\n$4\r\nPING\r\n")
    raw.expect(b"+PONG\r\n")
    raw.send(b"*2\r\n$4\r\nPING\r\n$3\r\nabc\r\n")
    raw.expect(b"$3\r\nabc\r\n")
    # inline protocol
    raw.send(b"PING\r\n")
    raw.expect(b"+PONG\r\n")
    raw.send(b"ping hi\n")
    raw.expect(b"$2\r\nhi\r\n")


def test_echo(c):
    assert c.call("ECHO", "hi") == b"hi"
    assert c.call("ECHO", "") == b""
    assert c.call("ECHO", b"\x00\xff\r\n") == b"\x00\xff\r\n"
    assert c.err("ECHO") == "ERR wrong number of arguments for 'echo' command"
    assert c.err("ECHO", "a", "b") == "ERR wrong number of arguments for 'echo' command"


def test_unknown_command(c):
    assert c.err("FOOBAR", "a", "b") == (
        "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' "
    )
    assert c.err("nocmd") == "ERR unknown command 'nocmd', with args beginning with: "


def test_quit(server):
    raw = server.raw()
    raw.send(b"*1\r\n$4\r\nQUIT\r\n")
    assert raw.read_until_close() == b"+OK\r\n"
    # server still fine
    assert server.client().call("PING") == "PONG"


def test_quit_pipelined_discards_rest(server):
    raw = server.raw()
    raw.send(b"PING\r\nQUIT\r\nPING\r\n")
    assert raw.read_until_close() == b"+PONG\r\n+OK\r\n"


def test_reset(c):
    c.call("CLIENT", "SETNAME", "foo")
    c.call("HELLO", "3")
    c.call("SELECT", "2")
    c.call("SET", "k", "db2")
    c.call("MULTI")
    assert c.call("RESET") == "RESET"
    assert c.call("CLIENT", "GETNAME") is None
    # back to RESP2 (HELLO reply is a flat array) and db 0
    hello = c.call("HELLO")
    assert isinstance(hello, list)
    assert hello[hello.index(b"proto") + 1] == 2
    assert c.call("GET", "k") is None
    # no longer in MULTI
    assert c.call("PING") == "PONG"
    assert c.err("EXEC") == "ERR EXEC without MULTI"


def test_reset_exits_subscribed_state(c):
    c.send("SUBSCRIBE", "ch")
    assert c.read_reply() == [b"subscribe", b"ch", 1]
    assert c.call("RESET") == "RESET"
    assert c.call("GET", "x") is None


def _hello_map(reply):
    if isinstance(reply, dict):
        return reply
    it = iter(reply)
    return dict(zip(it, it))


def test_hello_2(c):
    rep = c.call("HELLO", "2")
    assert isinstance(rep, list) and len(rep) == 14
    assert rep[0::2] == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
    m = _hello_map(rep)
    assert m[b"server"] == b"redis"
    assert VERSION_RE.match(m[b"version"])
    assert m[b"proto"] == 2
    assert m[b"id"] == c.call("CLIENT", "ID")
    assert m[b"mode"] == b"standalone"
    assert m[b"role"] == b"master"
    assert m[b"modules"] == []


def test_hello_no_args_reports_current_protocol(c):
    m = _hello_map(c.call("HELLO"))
    assert m[b"proto"] == 2


def test_hello_3_raw(server):
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    data = raw.recv_exact(1)
    assert data == b"%"
    cl = server.client()
    rep = cl.call("HELLO", "3")
    assert isinstance(rep, dict)
    assert list(rep.keys()) == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
    assert rep[b"proto"] == 3
    assert rep[b"mode"] == b"standalone"
    assert rep[b"modules"] == []
    # RESP3 types afterwards: null is '_'
    r3 = server.raw()
    r3.send(b"HELLO 3\r\n")
    r3.read_available(0.3)
    r3.send(b"*2\r\n$3\r\nGET\r\n$5\r\nnokey\r\n")
    r3.expect(b"_\r\n")


def test_hello_3_then_2(c):
    assert c.call("HELLO", "3")[b"proto"] == 3
    assert c.call("GET", "x") is None
    rep = c.call("HELLO", "2")
    assert isinstance(rep, list)
    assert _hello_map(rep)[b"proto"] == 2


def test_hello_errors(c):
    assert c.err("HELLO", "4") == "NOPROTO unsupported protocol version"
    assert c.err("HELLO", "1") == "NOPROTO unsupported protocol version"
    assert c.err("HELLO", "foo") == "ERR Protocol version is not an integer or out of range"
    assert c.err("HELLO", "2", "BLAH") == "ERR Syntax error in HELLO option 'BLAH'"
    assert c.err("HELLO", "2", "AUTH", "default") == "ERR Syntax error in HELLO option 'AUTH'"
    assert c.err("HELLO", "3", "SETNAME") == "ERR Syntax error in HELLO option 'SETNAME'"


def test_hello_setname(c):
    rep = c.call("HELLO", "3", "SETNAME", "myname")
    assert rep[b"proto"] == 3
    assert c.call("CLIENT", "GETNAME") == b"myname"
    assert c.err("HELLO", "2", "SETNAME", "bad name") == (
        "ERR Client names cannot contain spaces, newlines or special characters."
    )


def test_hello_auth_without_password_configured(c):
    # the default user is 'nopass': any password is accepted
    rep = c.call("HELLO", "3", "AUTH", "default", "whatever")
    assert rep[b"proto"] == 3
    assert c.err("HELLO", "2", "AUTH", "nouser", "x") == (
        "WRONGPASS invalid username-password pair or user is disabled."
    )


@pytest.mark.server(args=["--requirepass", "secret"])
def test_hello_auth_with_requirepass(server):
    cl = server.client()
    assert cl.err("PING") == "NOAUTH Authentication required."
    assert cl.err("HELLO", "3") == (
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
        "the RESP protocol version at the same time"
    )
    assert cl.err("HELLO", "2", "AUTH", "default", "wrong") == (
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert cl.err("GET", "x") == "NOAUTH Authentication required."
    rep = cl.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "n1")
    assert rep[b"proto"] == 3
    assert cl.call("PING") == "PONG"
    assert cl.call("CLIENT", "GETNAME") == b"n1"


def test_auth_without_password(c):
    assert c.err("AUTH", "x") == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )
    assert c.err("AUTH", "a", "b") == "WRONGPASS invalid username-password pair or user is disabled."
    assert c.call("AUTH", "default", "anything") == "OK"
    assert c.err("AUTH") == "ERR wrong number of arguments for 'auth' command"
    assert c.err("AUTH", "a", "b", "c") == "ERR syntax error"


@pytest.mark.server(args=["--requirepass", "s3cr3t"])
def test_auth_requirepass(server):
    cl = server.client()
    assert cl.err("GET", "k") == "NOAUTH Authentication required."
    assert cl.err("AUTH", "wrong") == "WRONGPASS invalid username-password pair or user is disabled."
    assert cl.err("AUTH", "default", "wrong") == (
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert cl.call("AUTH", "s3cr3t") == "OK"
    assert cl.call("SET", "k", "v") == "OK"
    cl2 = server.client()
    assert cl2.call("AUTH", "default", "s3cr3t") == "OK"
    assert cl2.call("GET", "k") == b"v"
    # QUIT is allowed without auth
    raw = server.raw()
    raw.send(b"QUIT\r\n")
    assert raw.read_until_close() == b"+OK\r\n"


def test_select(c):
    assert c.call("SELECT", "15") == "OK"
    c.call("SET", "k", "in15")
    assert c.call("SELECT", "0") == "OK"
    assert c.call("GET", "k") is None
    c.call("SELECT", "15")
    assert c.call("GET", "k") == b"in15"
    assert c.err("SELECT", "16") == "ERR DB index is out of range"
    assert c.err("SELECT", "-1") == "ERR DB index is out of range"
    assert c.err("SELECT", "x") == "ERR value is not an integer or out of range"
    assert c.err("SELECT") == "ERR wrong number of arguments for 'select' command"


@pytest.mark.server(args=["--databases", "4"])
def test_select_databases_config(c):
    assert c.call("SELECT", "3") == "OK"
    assert c.err("SELECT", "4") == "ERR DB index is out of range"


# ---------------------------------------------------------------------------
# CLIENT
# ---------------------------------------------------------------------------


def test_client_id_unique_increasing(server):
    a = server.client()
    a.call("PING")  # accepted before b connects
    b = server.client()
    ia = a.call("CLIENT", "ID")
    ib = b.call("CLIENT", "ID")
    assert isinstance(ia, int) and isinstance(ib, int)
    assert ib > ia
    assert a.call("CLIENT", "ID") == ia


def test_client_setname_getname(c):
    assert c.call("CLIENT", "GETNAME") is None
    assert c.call("CLIENT", "SETNAME", "conn-1") == "OK"
    assert c.call("CLIENT", "GETNAME") == b"conn-1"
    assert c.err("CLIENT", "SETNAME", "a b") == (
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    assert c.err("CLIENT", "SETNAME", "a\nb") == (
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    assert c.call("CLIENT", "GETNAME") == b"conn-1"
    # empty name clears it
    assert c.call("CLIENT", "SETNAME", "") == "OK"
    assert c.call("CLIENT", "GETNAME") is None
    assert c.err("CLIENT", "SETNAME") == "ERR wrong number of arguments for 'client|setname' command"


def _parse_client_line(line):
    out = {}
    for part in line.split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


CLIENT_FIELDS = [
    "id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub",
    "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem",
    "tot-mem", "events", "cmd", "user", "redir", "resp",
]


def test_client_info(server, c):
    c.call("CLIENT", "SETNAME", "info-test")
    c.call("SELECT", "3")
    info = c.call("CLIENT", "INFO")
    assert isinstance(info, bytes)
    assert info.endswith(b"\n") and info.count(b"\n") == 1
    line = info.decode().rstrip("\n")
    fields = _parse_client_line(line)
    assert list(fields.keys()) == CLIENT_FIELDS
    assert fields["id"] == str(c.call("CLIENT", "ID"))
    assert fields["addr"] == "127.0.0.1:%d" % c.sock.getsockname()[1]
    assert fields["laddr"] == "127.0.0.1:%d" % server.port
    assert fields["name"] == "info-test"
    assert fields["db"] == "3"
    assert fields["flags"] == "N"
    assert fields["multi"] == "-1"
    assert fields["cmd"] == "client|info"
    assert fields["user"] == "default"
    assert fields["resp"] == "2"
    c.call("MULTI")
    c.call("PING")
    info = c.call("CLIENT", "INFO")  # queued
    assert info == "QUEUED"
    res = c.call("EXEC")
    fields = _parse_client_line(res[1].decode().rstrip("\n"))
    assert fields["multi"] == "2"
    assert "x" in fields["flags"]


def test_client_list(server, c):
    other = server.client()
    other.call("CLIENT", "SETNAME", "other")
    ps = server.client()
    ps.send("SUBSCRIBE", "a", "b")
    ps.read_reply()
    ps.read_reply()
    lst = c.call("CLIENT", "LIST")
    lines = lst.decode().rstrip("\n").split("\n")
    assert lst.endswith(b"\n")
    assert len(lines) == 3
    by_name = {}
    for ln in lines:
        f = _parse_client_line(ln)
        assert list(f.keys()) == CLIENT_FIELDS
        by_name[f["name"]] = f
    assert by_name["other"]["cmd"] == "client|setname"
    subs = [f for f in by_name.values() if f["sub"] == "2"]
    assert len(subs) == 1 and "P" in subs[0]["flags"]
    # TYPE filter
    normal = c.call("CLIENT", "LIST", "TYPE", "normal").decode().rstrip("\n").split("\n")
    assert len(normal) == 2
    pubsub = c.call("CLIENT", "LIST", "TYPE", "pubsub").decode().rstrip("\n").split("\n")
    assert len(pubsub) == 1
    assert c.call("CLIENT", "LIST", "TYPE", "master") == b""
    assert c.call("CLIENT", "LIST", "TYPE", "replica") == b""
    assert c.err("CLIENT", "LIST", "TYPE", "foo") == "ERR Unknown client type 'foo'"
    # ID filter
    oid = other.call("CLIENT", "ID")
    one = c.call("CLIENT", "LIST", "ID", oid)
    assert _parse_client_line(one.decode().rstrip("\n"))["name"] == "other"
    myid = c.call("CLIENT", "ID")
    two = c.call("CLIENT", "LIST", "ID", myid, oid, 999999).decode().rstrip("\n").split("\n")
    assert len(two) == 2
    assert c.call("CLIENT", "LIST", "ID", 999999) == b""
    assert c.err("CLIENT", "LIST", "ID", "1", "x") == "ERR Invalid client ID"
    assert c.err("CLIENT", "LIST", "FOO") == "ERR syntax error"


def test_client_kill_by_id(server, c):
    victim = server.client()
    vid = victim.call("CLIENT", "ID")
    assert c.call("CLIENT", "KILL", "ID", vid) == 1
    assert victim.is_closed()
    assert c.call("CLIENT", "KILL", "ID", vid) == 0
    assert c.call("CLIENT", "KILL", "ID", 999999) == 0
    assert c.err("CLIENT", "KILL", "ID", "abc") == "ERR client-id should be greater than 0"


def test_client_kill_by_addr(server, c):
    victim = server.client()
    victim.call("PING")  # make sure the server has accepted the connection
    addr = "127.0.0.1:%d" % victim.sock.getsockname()[1]
    # old form
    assert c.call("CLIENT", "KILL", addr) == "OK"
    assert victim.is_closed()
    assert c.err("CLIENT", "KILL", addr) == "ERR No such client"
    victim2 = server.client()
    victim2.call("PING")
    addr2 = "127.0.0.1:%d" % victim2.sock.getsockname()[1]
    assert c.call("CLIENT", "KILL", "ADDR", addr2) == 1
    assert victim2.is_closed()
    assert c.call("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0


def test_client_kill_user_type_skipme(server, c):
    others = [server.client() for _ in range(3)]
    for o in others:
        o.call("PING")
    assert c.err("CLIENT", "KILL", "USER", "nobody") == "ERR No such user 'nobody'"
    assert c.err("CLIENT", "KILL", "TYPE", "foo") == "ERR Unknown client type 'foo'"
    assert c.err("CLIENT", "KILL", "SKIPME", "maybe") == "ERR syntax error"
    assert c.err("CLIENT", "KILL", "FOO", "bar") == "ERR syntax error"
    # SKIPME yes is the default: we survive
    assert c.call("CLIENT", "KILL", "USER", "default") == 3
    for o in others:
        assert o.is_closed()
    assert c.call("PING") == "PONG"
    more = [server.client() for _ in range(2)]
    for o in more:
        o.call("PING")
    assert c.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") == 2
    assert c.call("CLIENT", "KILL", "TYPE", "pubsub") == 0
    # SKIPME no: kills ourselves too (the reply is still delivered)
    assert c.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no") == 1
    assert c.is_closed()


def test_client_kill_pubsub_type(server, c):
    ps = server.client()
    ps.send("SUBSCRIBE", "x")
    ps.read_reply()
    normal = server.client()
    normal.call("PING")
    assert c.call("CLIENT", "KILL", "TYPE", "pubsub") == 1
    assert ps.is_closed()
    assert normal.call("PING") == "PONG"


def test_client_pause_write(server, c):
    c.call("SET", "k", "v0")
    writer = server.client()
    reader = server.client()
    assert c.call("CLIENT", "PAUSE", "20000", "WRITE") == "OK"
    result = {}

    def do_write():
        result["set"] = writer.call("SET", "k", "v1")
        result["t"] = time.monotonic()

    t = threading.Thread(target=do_write)
    t.start()
    # reads are served while paused
    assert reader.call("GET", "k") == b"v0"
    assert reader.call("PING") == "PONG"
    # write stays blocked
    time.sleep(0.3)
    assert "set" not in result
    assert reader.call("GET", "k") == b"v0"
    t_unpause = time.monotonic()
    assert c.call("CLIENT", "UNPAUSE") == "OK"
    t.join(10)
    assert result["set"] == "OK"
    assert result["t"] >= t_unpause
    assert reader.call("GET", "k") == b"v1"


def test_client_pause_all(server, c):
    # ALL pauses every client, including the one that issued the pause
    # (so nobody can UNPAUSE before the timeout); reads are delayed too.
    c.call("SET", "k", "v0")
    other = server.client()
    start = time.monotonic()
    assert c.call("CLIENT", "PAUSE", "600", "ALL") == "OK"
    assert other.call("GET", "k") == b"v0"
    assert time.monotonic() - start >= 0.4
    assert c.call("PING") == "PONG"


def test_client_pause_expires_by_itself(server, c):
    other = server.client()
    assert c.call("CLIENT", "PAUSE", "300", "ALL") == "OK"
    start = time.monotonic()
    assert other.call("SET", "a", "1") == "OK"
    assert time.monotonic() - start >= 0.15


def test_client_pause_errors(c):
    assert c.err("CLIENT", "PAUSE") == "ERR wrong number of arguments for 'client|pause' command"
    assert c.err("CLIENT", "PAUSE", "x") == "ERR timeout is not an integer or out of range"
    assert c.err("CLIENT", "PAUSE", "10", "FOO") == "ERR CLIENT PAUSE mode must be WRITE or ALL"
    assert c.call("CLIENT", "UNPAUSE") == "OK"


def test_client_reply(server):
    raw = server.raw()
    raw.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"GET a\r\n")
    raw.expect(b"$1\r\n1\r\n")
    raw.send(b"CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n")
    raw.expect(b"$1\r\n2\r\n")
    assert raw.read_available(0.1) == b""
    raw.send(b"CLIENT REPLY FOO\r\n")
    raw.expect(b"-ERR syntax error\r\n")


def test_client_no_evict(c):
    assert c.call("CLIENT", "NO-EVICT", "on") == "OK"
    info = c.call("CLIENT", "INFO").decode()
    assert "e" in _parse_client_line(info.strip())["flags"]
    assert c.call("CLIENT", "NO-EVICT", "OFF") == "OK"
    assert c.err("CLIENT", "NO-EVICT", "maybe") == "ERR syntax error"


def test_client_unknown_subcommand(c):
    assert c.err("CLIENT", "FOO") == "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    help_ = c.call("CLIENT", "HELP")
    assert help_[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert all(isinstance(x, str) for x in help_)


def test_command_names_case_insensitive(c):
    assert c.call("sEt", "k", "v") == "OK"
    assert c.call("get", "k") == b"v"
    assert c.call("client", "id") == c.call("CLIENT", "ID")


def test_redis_py_connects(r):
    assert r.ping() is True
    assert r.set("a", "b") is True
    assert r.get("a") == "b"


def test_redis_py_resp3(server):
    cl = server.redis_py(protocol=3)
    assert cl.ping() is True
    cl.set("x", "1")
    assert cl.get("x") == "1"
    cl.close()


def test_resp3_reply_types_wire(server):
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    raw.expect(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n")
    raw.read_available(0.2)
    raw.send(b"SET a 1\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"CONFIG GET maxmemory\r\n")
    raw.expect(b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
    raw.send(b"GET nokey\r\n")
    raw.expect(b"_\r\n")
    raw.send(b"MGET a nokey\r\n")
    raw.expect(b"*2\r\n$1\r\n1\r\n_\r\n")
    raw.send(b"OBJECT ENCODING nokey\r\n")
    raw.expect(b"_\r\n")
    raw.send(b"INCRBYFLOAT f 10.5\r\n")
    raw.expect(b"$4\r\n10.5\r\n")
    raw.send(b"TYPE a\r\n")
    raw.expect(b"+string\r\n")
    raw.send(b"EXISTS a\r\n")
    raw.expect(b":1\r\n")
    # INFO and CLIENT INFO/LIST are verbatim strings in RESP3
    raw.send(b"INFO keyspace\r\n")
    raw.expect(b"=48\r\ntxt:# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n\r\n")
    raw.send(b"CLIENT INFO\r\n")
    head = raw.recv_exact(1)
    assert head == b"="
    c = server.client()
    c.call("HELLO", "3")
    info = c.call("CLIENT", "INFO")
    assert info.format == "txt"
    assert info.startswith(b"id=") and info.endswith(b"resp=3\n")
    lst = c.call("CLIENT", "LIST")
    assert lst.format == "txt"


def test_io_threads_serve_pipelines_and_blocking_pops(server_factory):
    # io-threads 1 (the default) serves every connection from one thread; more threads
    # share the sockets. Either way, pipelines and blocked clients behave the same.
    s = server_factory(args=["--io-threads", "2"])
    c, other = s.client(), s.client()
    assert c.call("CONFIG", "GET", "io-threads") == [b"io-threads", b"2"]
    replies = c.pipeline([("SET", "k%d" % i, "x" * (i % 2000)) for i in range(2000)])
    assert replies == ["OK"] * 2000
    assert c.call("STRLEN", "k1999") == 1999
    result = {}
    waiter = threading.Thread(target=lambda: result.update(r=other.call("BLPOP", "q", "5")))
    waiter.start()
    wait_until(lambda: int(parse_info(c.call("INFO", "clients"))[1]["blocked_clients"]) == 1, 5)
    assert c.call("RPUSH", "q", "v") == 1
    waiter.join(5)
    assert result["r"] == [b"q", b"v"]
