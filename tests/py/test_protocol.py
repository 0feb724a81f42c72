"""RESP parsing, protocol errors, query/output buffer limits, garbage input, pipelining."""

import random
import socket
import threading
import time

import pytest

from helpers import Client, encode_command, parse_info, wait_until


def proto_err(server, data, expected_error, timeout=5):
    """Send ``data``; expect exactly ``-ERR Protocol error: ...`` and then the close."""
    raw = server.raw()
    try:
        raw.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = raw.read_until_close(timeout)
    assert out == ("-ERR Protocol error: %s\r\n" % expected_error).encode(), out
    raw.close()
    # the server keeps serving others
    cl = server.client()
    cl.send("PING")
    rep = cl.read_reply(raise_errors=False)
    assert rep == "PONG" or rep.msg == "NOAUTH Authentication required."


@pytest.mark.parametrize(
    "data",
    [b"*abc\r\n", b"*3000000000\r\n", b"*+1\r\n", b"*1 \r\n", b"*01\r\n$4\r\nPING\r\n"],
)
def test_invalid_multibulk_length(server, data):
    proto_err(server, data, "invalid multibulk length")


@pytest.mark.parametrize("data,got", [(b"*1\r\nfoo\r\n", "f"), (b"*2\r\n$3\r\nGET\r\n:1\r\n", ":")])
def test_expected_dollar(server, data, got):
    proto_err(server, data, "expected '$', got '%s'" % got)


@pytest.mark.parametrize(
    "data",
    [
        b"*1\r\n$abc\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$ 4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*1\r\n$4294967296\r\n",
        b"*1\r\n$536870913\r\n",  # > proto-max-bulk-len (512mb default)
    ],
)
def test_invalid_bulk_length(server, data):
    proto_err(server, data, "invalid bulk length")


@pytest.mark.parametrize("data", [b'set "a b\r\n', b"set 'a\r\n", b'get "a"b\r\n'])
def test_unbalanced_quotes(server, data):
    proto_err(server, data, "unbalanced quotes in request")


def test_too_big_inline_request(server):
    proto_err(server, b"a" * 70000, "too big inline request")


def test_too_big_mbulk_count_string(server):
    proto_err(server, b"*" + b"1" * 70000, "too big mbulk count string")


def test_too_big_bulk_count_string(server):
    proto_err(server, b"*1\r\n$" + b"1" * 70000, "too big bulk count string")


def test_inline_just_under_limit_waits(server):
    raw = server.raw()
    raw.send(b"a" * 60000)
    assert raw.read_available(0.3) == b""
    raw.send(b"\r\n")
    assert raw.recv_exact(5) == b"-ERR "


def test_proto_max_bulk_len(server, c):
    assert c.err("CONFIG", "SET", "proto-max-bulk-len", "1000") == (
        "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be "
        "between 1048576 and 9223372036854775807 inclusive"
    )
    assert c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
    proto_err(server, b"*2\r\n$3\r\nGET\r\n$1048577\r\n", "invalid bulk length")
    # exactly the limit is fine
    value = b"v" * 1048576
    assert c.call("SET", "k", value) == "OK"
    assert c.call("STRLEN", "k") == 1048576
    # values built by commands are limited too
    assert c.err("APPEND", "k", "x") == "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    assert c.err("SETRANGE", "k", "1048576", "x") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    )


@pytest.mark.server(args=["--requirepass", "pw"])
def test_unauthenticated_limits(server):
    proto_err(server, b"*11\r\n", "unauthenticated multibulk length")
    proto_err(server, b"*1\r\n$16385\r\n", "unauthenticated bulk length")
    raw = server.raw()
    raw.send(b"*10\r\n$16384\r\n")
    assert raw.read_available(0.3) == b""


def test_protocol_error_logged_and_counted(server, c):
    raw = server.raw()
    raw.send(b"*1\r\nfoo\r\n")
    raw.read_until_close()
    _, f = parse_info(c.call("INFO", "everything"))
    assert f["errorstat_ERR"] == "count=1"
    assert f["total_error_replies"] == "1"


def test_inline_commands(server):
    raw = server.raw()
    raw.send(b"SET k \"a b\\x41\\n\"\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"GET k\n")
    raw.expect(b"$5\r\na bA\n\r\n")
    raw.send(b"set k2 'single \"q\"'\r\nget k2\r\n")
    raw.expect(b'+OK\r\n$10\r\nsingle "q"\r\n')
    # empty lines and whitespace-only lines are ignored
    raw.send(b"\r\n   \r\n\n\"ping\"\r\n")
    raw.expect(b"+PONG\r\n")
    raw.send(b"   ECHO    spaced     \r\n")
    raw.expect(b"$6\r\nspaced\r\n")
    # an inline line starting with '$' is just an (unknown) command name
    raw.send(b"$4\r\nPING\r\n")
    raw.expect(b"-ERR unknown command '$4', with args beginning with: \r\n+PONG\r\n")


def test_empty_multibulk_is_ignored(server):
    raw = server.raw()
    raw.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n")
    raw.expect(b"+PONG\r\n")


def test_byte_by_byte(server):
    raw = server.raw()
    data = encode_command("SET", "key", "v" * 50) + encode_command("GET", "key") + b"PING\r\n"
    for i in range(len(data)):
        raw.send(data[i:i + 1])
    raw.expect(b"+OK\r\n$50\r\n" + b"v" * 50 + b"\r\n+PONG\r\n")


def test_partial_command_waits(server):
    raw = server.raw()
    raw.send(b"*2\r\n$4\r\nECHO\r\n$10\r\nhello")
    assert raw.read_available(0.2) == b""
    raw.send(b"world\r\n")
    raw.expect(b"$10\r\nhelloworld\r\n")


def test_large_values_split_writes(server, c):
    value = random.Random(1).randbytes(3 * 1024 * 1024)
    raw = server.raw()
    data = encode_command("SET", "big", value)
    for i in range(0, len(data), 65536):
        raw.send(data[i:i + 65536])
    raw.expect(b"+OK\r\n")
    assert c.call("GET", "big") == value


def test_client_query_buffer_limit(server, c):
    assert c.err("CONFIG", "SET", "client-query-buffer-limit", "1000") == (
        "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument "
        "must be between 1048576 and 9223372036854775807 inclusive"
    )
    assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == "OK"
    c.call("SET", "survivor", "yes")
    raw = server.raw()
    raw.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n")
    sent = 0
    try:
        while sent < 2500000:
            raw.send(b"x" * 100000)
            sent += 100000
    except (BrokenPipeError, ConnectionResetError):
        pass
    # closed without a reply
    assert raw.read_until_close(10) == b""
    assert c.call("GET", "survivor") == b"yes"
    assert c.call("PING") == "PONG"


def test_pubsub_client_output_buffer_limit(server, c):
    c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 100kb 50kb 60")
    sub = server.client()
    sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.send("SUBSCRIBE", "ch")
    assert sub.read_reply() == [b"subscribe", b"ch", 1]
    counts = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        counts.append(c.call("PUBLISH", "ch", "x" * 32768))
        if counts[-1] == 0:
            break
    assert counts[0] == 1 and counts[-1] == 0
    assert c.call("CLIENT", "LIST", "TYPE", "pubsub") == b""
    assert c.call("PUBSUB", "NUMSUB", "ch") == [b"ch", 0]
    _, f = parse_info(c.call("INFO", "clients"))
    assert f["connected_clients"] == "1"


def test_normal_client_output_buffer_limit(server, c):
    c.call("SET", "big", "x" * 1000000)
    c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 2mb 1mb 60")
    reader = server.raw()
    reader.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # One write: the requests arrive together, so the replies pile up at once
    # (test_output_limits.py covers requests that trickle in).
    try:
        reader.send(b"GET big\r\n" * 30)
    except (BrokenPipeError, ConnectionResetError):
        pass
    wait_until(lambda: len(c.call("CLIENT", "LIST").splitlines()) == 1, 10)
    assert c.call("PING") == "PONG"


# ---------------------------------------------------------------------------
# garbage
# ---------------------------------------------------------------------------

SAFE_COMMANDS = [
    ("SET", "garbage:a", "1"), ("GET", "garbage:a"), ("INCR", "garbage:n"), ("PING",),
    ("ECHO", "hello"), ("APPEND", "garbage:s", "xyz"), ("DEL", "garbage:a"), ("EXISTS", "x"),
    ("MGET", "a", "b", "c"), ("STRLEN", "garbage:s"),
]


def _garbage(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300))
    if kind == 1:  # truncated valid command
        data = b"".join(encode_command(*rng.choice(SAFE_COMMANDS)) for _ in range(rng.randrange(1, 4)))
        return data[: rng.randrange(1, len(data) + 1)]
    if kind == 2:  # valid command with one byte corrupted
        data = bytearray(encode_command(*rng.choice(SAFE_COMMANDS)))
        data[rng.randrange(len(data))] = rng.getrandbits(8)
        return bytes(data)
    if kind == 3:  # protocol-looking fragments
        parts = [b"*", b"$", b"\r\n", b"-1", b"0", b"3", b"99999999", b"PING", b"\n", b'"', b"'", b" ", b"\\x"]
        return b"".join(rng.choice(parts) for _ in range(rng.randrange(1, 40)))
    if kind == 4:  # inline text
        words = [b"GET", b"SET", b"PING", b"garbage:k", b"\"q", b"'", b"\\", b"x" * 10]
        return b" ".join(rng.choice(words) for _ in range(rng.randrange(1, 8))) + rng.choice([b"\r\n", b"\n", b""])
    return b"*%d\r\n" % rng.randrange(-2, 50) + b"$%d\r\n" % rng.randrange(-2, 10) + b"abc"


def test_garbage_connections(server, c):
    rng = random.Random(20240501)
    keep = {("keep:%d" % i).encode(): ("value-%d" % i).encode() * 3 for i in range(200)}
    c.call("MSET", *[x for kv in keep.items() for x in kv])
    deadline = time.monotonic() + 20
    conns = 0
    while conns < 200 and time.monotonic() < deadline:
        conns += 1
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        except OSError as e:
            raise AssertionError("server stopped accepting connections: %r" % e)
        try:
            for _ in range(rng.randrange(1, 4)):
                s.sendall(_garbage(rng))
            if rng.random() < 0.5:
                s.settimeout(0.02)
                try:
                    s.recv(65536)
                except (socket.timeout, OSError):
                    pass
        except OSError:
            pass
        finally:
            if rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
    assert conns >= 50
    assert c.call("PING") == "PONG"
    assert c.call("MGET", *keep.keys()) == list(keep.values())
    fresh = server.client()
    assert fresh.call("SET", "after", "ok") == "OK"
    assert fresh.call("GET", "after") == b"ok"
    assert server.is_alive()
    # every garbage connection is eventually gone
    wait_until(lambda: len(c.call("CLIENT", "LIST").splitlines()) <= 3, 10)


# ---------------------------------------------------------------------------
# pipelining and concurrency
# ---------------------------------------------------------------------------


def test_pipeline_1000_commands_one_write(server):
    cl = server.client()
    cmds = []
    for i in range(1000):
        if i % 3 == 0:
            cmds.append(("SET", "p:%d" % i, i))
        elif i % 3 == 1:
            cmds.append(("INCR", "counter"))
        else:
            cmds.append(("GET", "p:%d" % (i - 2)))
    replies = cl.pipeline(cmds)
    n = 0
    for i, rep in enumerate(replies):
        if i % 3 == 0:
            assert rep == "OK"
        elif i % 3 == 1:
            n += 1
            assert rep == n
        else:
            assert rep == str(i - 2).encode()


def test_pipeline_raw_replies_in_order(server):
    raw = server.raw()
    payload = b"".join(b"ECHO %d\r\n" % i for i in range(1000))
    raw.send(payload)
    expected = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(1000))
    assert raw.recv_exact(len(expected)) == expected


def test_pipeline_with_errors_in_middle(server):
    cl = server.client()
    cmds = [("SET", "a", "1"), ("NOSUCH",), ("GET",), ("INCR", "a"), ("GET", "a")]
    replies = cl.pipeline(cmds * 100)
    for i in range(100):
        r = replies[i * 5:(i + 1) * 5]
        assert r[0] == "OK"
        assert r[1].msg == "ERR unknown command 'NOSUCH', with args beginning with: "
        assert r[2].msg == "ERR wrong number of arguments for 'get' command"
        assert r[3] == 2
        assert r[4] == b"2"


def test_concurrent_incr(server):
    nthreads = 8
    per_thread = 500
    errors = []

    def worker():
        try:
            cl = Client(server.port)
            for b in range(0, per_thread, 50):
                reps = cl.pipeline([("INCR", "counter")] * 25)
                assert all(isinstance(x, int) for x in reps)
                for _ in range(25):
                    assert isinstance(cl.call("INCR", "counter"), int)
            cl.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert server.client().call("GET", "counter") == str(nthreads * per_thread).encode()


def test_many_connections(server):
    conns = [server.client() for _ in range(200)]
    for i, cl in enumerate(conns):
        cl.send("SET", "conn:%d" % i, i)
    for cl in conns:
        assert cl.read_reply() == "OK"
    _, f = parse_info(conns[0].call("INFO", "clients"))
    assert f["connected_clients"] == "200"
    for cl in conns:
        cl.close()
    c = server.client()
    wait_until(lambda: parse_info(c.call("INFO", "clients"))[1]["connected_clients"] == "1", 10)
    assert c.call("DBSIZE") == 200


def test_redis_py_pipeline(server):
    r = server.redis_py()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("rp:%d" % i, i)
    for i in range(1000):
        p.get("rp:%d" % i)
    res = p.execute()
    assert res[:1000] == [True] * 1000
    assert res[1000:] == [str(i) for i in range(1000)]
    tx = r.pipeline(transaction=True)
    tx.incr("t").incr("t").get("t")
    assert tx.execute() == [1, 2, "2"]
