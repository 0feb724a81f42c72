"""Pub/Sub: (P)SUBSCRIBE, PUBLISH, PUBSUB, RESP3 push, keyspace notifications."""

import time

from helpers import Push, wait_until

CTX_ERR = (
    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    "are allowed in this context"
)


def subscribe(cl, *channels):
    cl.send("SUBSCRIBE", *channels)
    return [cl.read_reply() for _ in channels]


def psubscribe(cl, *patterns):
    cl.send("PSUBSCRIBE", *patterns)
    return [cl.read_reply() for _ in patterns]


def test_subscribe_publish_raw(server):
    sub = server.raw()
    sub.send(b"SUBSCRIBE news\r\n")
    sub.expect(b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
    pub = server.client()
    assert pub.call("PUBLISH", "news", "hello") == 1
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
    assert pub.call("PUBLISH", "other", "x") == 0


def test_subscribe_counts_and_unsubscribe(server):
    s = server.client()
    assert subscribe(s, "a", "b") == [[b"subscribe", b"a", 1], [b"subscribe", b"b", 2]]
    # subscribing twice to the same channel keeps the count
    assert subscribe(s, "a") == [[b"subscribe", b"a", 2]]
    assert psubscribe(s, "h*") == [[b"psubscribe", b"h*", 3]]
    s.send("UNSUBSCRIBE", "zz")
    assert s.read_reply() == [b"unsubscribe", b"zz", 3]
    s.send("UNSUBSCRIBE")
    got = [s.read_reply(), s.read_reply()]
    # channel order is unspecified, the counts go down one by one
    assert {g[1] for g in got} == {b"a", b"b"}
    assert [g[0] for g in got] == [b"unsubscribe", b"unsubscribe"]
    assert [g[2] for g in got] == [2, 1]
    # still subscribed to the pattern: still in pubsub context
    s.send("PING")
    assert s.read_reply() == [b"pong", b""]
    s.send("PUNSUBSCRIBE")
    assert s.read_reply() == [b"punsubscribe", b"h*", 0]
    # back to normal
    assert s.call("PING") == "PONG"
    assert s.call("SET", "x", "1") == "OK"


def test_unsubscribe_when_not_subscribed(c):
    assert c.call("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert c.call("PUNSUBSCRIBE") == [b"punsubscribe", None, 0]
    assert c.call("UNSUBSCRIBE", "a") == [b"unsubscribe", b"a", 0]
    assert c.call("PING") == "PONG"


def test_unsubscribe_all_when_only_patterns(server):
    s = server.client()
    psubscribe(s, "p1*")
    s.send("UNSUBSCRIBE")
    assert s.read_reply() == [b"unsubscribe", None, 1]
    s.send("PUNSUBSCRIBE")
    assert s.read_reply() == [b"punsubscribe", b"p1*", 0]
    s.send("PUNSUBSCRIBE")
    assert s.read_reply() == [b"punsubscribe", None, 0]


def test_resp2_subscribed_context_errors(server):
    s = server.client()
    subscribe(s, "a")
    assert s.err("GET", "x") == CTX_ERR % "get"
    assert s.err("SET", "x", "1") == CTX_ERR % "set"
    assert s.err("HELLO", "3") == CTX_ERR % "hello"
    assert s.err("PUBLISH", "a", "b") == CTX_ERR % "publish"
    s.send("PING")
    assert s.read_reply() == [b"pong", b""]
    s.send("PING", "hi")
    assert s.read_reply() == [b"pong", b"hi"]
    # the connection still works for subscriptions
    pub = server.client()
    assert pub.call("PUBLISH", "a", "m") == 1
    assert s.read_reply() == [b"message", b"a", b"m"]
    s.send("QUIT")
    assert s.read_reply() == "OK"
    assert s.is_closed()


def test_subscribed_raw_context_error(server):
    raw = server.raw()
    raw.send(b"SUBSCRIBE a\r\n")
    raw.recv_exact(len(b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"))
    raw.send(b"GET x\r\n")
    raw.expect(("-" + CTX_ERR % "get" + "\r\n").encode())
    raw.send(b"PING\r\n")
    raw.expect(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


def test_psubscribe_patterns(server):
    s = server.client()
    assert psubscribe(s, "news.*", "h?llo", "x[ab]") == [
        [b"psubscribe", b"news.*", 1],
        [b"psubscribe", b"h?llo", 2],
        [b"psubscribe", b"x[ab]", 3],
    ]
    pub = server.client()
    assert pub.call("PUBLISH", "news.tech", "m1") == 1
    assert s.read_reply() == [b"pmessage", b"news.*", b"news.tech", b"m1"]
    assert pub.call("PUBLISH", "hello", "m2") == 1
    assert s.read_reply() == [b"pmessage", b"h?llo", b"hello", b"m2"]
    assert pub.call("PUBLISH", "xb", "m3") == 1
    assert s.read_reply() == [b"pmessage", b"x[ab]", b"xb", b"m3"]
    assert pub.call("PUBLISH", "xc", "m4") == 0
    assert pub.call("PUBLISH", "news", "m5") == 0
    s.send("PUNSUBSCRIBE", "h?llo")
    assert s.read_reply() == [b"punsubscribe", b"h?llo", 2]
    assert pub.call("PUBLISH", "hello", "m6") == 0


def test_channel_and_pattern_both_match(server):
    s = server.client()
    subscribe(s, "q")
    psubscribe(s, "q*", "*")
    pub = server.client()
    assert pub.call("PUBLISH", "q", "hi") == 3
    assert s.read_reply() == [b"message", b"q", b"hi"]
    got = sorted([s.read_reply(), s.read_reply()])
    assert got == [[b"pmessage", b"*", b"q", b"hi"], [b"pmessage", b"q*", b"q", b"hi"]]


def test_publish_multiple_subscribers_binary(server):
    subs = [server.client() for _ in range(3)]
    for s in subs:
        subscribe(s, b"bin\x00chan")
    pub = server.client()
    payload = bytes(range(256))
    assert pub.call("PUBLISH", b"bin\x00chan", payload) == 3
    for s in subs:
        assert s.read_reply() == [b"message", b"bin\x00chan", payload]


def test_message_order_preserved(server):
    s = server.client()
    subscribe(s, "ord")
    pub = server.client()
    replies = pub.pipeline([("PUBLISH", "ord", str(i)) for i in range(500)])
    assert replies == [1] * 500
    for i in range(500):
        assert s.read_reply() == [b"message", b"ord", str(i).encode()]


def test_pubsub_introspection(server, c):
    assert c.call("PUBSUB", "CHANNELS") == []
    assert c.call("PUBSUB", "NUMSUB") == []
    assert c.call("PUBSUB", "NUMSUB", "a", "b") == [b"a", 0, b"b", 0]
    assert c.call("PUBSUB", "NUMPAT") == 0
    s1 = server.client()
    s2 = server.client()
    subscribe(s1, "news.a", "news.b", "other")
    subscribe(s2, "news.a")
    psubscribe(s1, "p*", "q*")
    psubscribe(s2, "p*")
    assert sorted(c.call("PUBSUB", "CHANNELS")) == [b"news.a", b"news.b", b"other"]
    assert sorted(c.call("PUBSUB", "CHANNELS", "news.*")) == [b"news.a", b"news.b"]
    assert c.call("PUBSUB", "CHANNELS", "zzz*") == []
    assert c.call("PUBSUB", "NUMSUB", "news.a", "news.b", "nope") == [b"news.a", 2, b"news.b", 1, b"nope", 0]
    # NUMPAT counts unique patterns
    assert c.call("PUBSUB", "NUMPAT") == 2
    s1.close()
    wait_until(lambda: c.call("PUBSUB", "NUMPAT") == 1, 5)
    assert c.call("PUBSUB", "CHANNELS") == [b"news.a"]
    assert c.err("PUBSUB", "FOO") == "ERR unknown subcommand 'FOO'. Try PUBSUB HELP."
    assert c.err("PUBSUB", "CHANNELS", "a", "b") == (
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
    )
    assert c.err("PUBLISH", "a") == "ERR wrong number of arguments for 'publish' command"
    assert c.err("SUBSCRIBE") == "ERR wrong number of arguments for 'subscribe' command"
    assert c.err("PSUBSCRIBE") == "ERR wrong number of arguments for 'psubscribe' command"


def test_info_pubsub_counters(server, c):
    s = server.client()
    subscribe(s, "a", "b")
    psubscribe(s, "x*")
    info = c.call("INFO", "stats").decode()
    assert "pubsub_channels:2\r\n" in info
    assert "pubsub_patterns:1\r\n" in info


# ---------------------------------------------------------------------------
# RESP3
# ---------------------------------------------------------------------------


def test_resp3_push_messages_raw(server):
    cl = server.client()
    cl.call("HELLO", "3")
    cl.send("SUBSCRIBE", "ch")
    assert cl.read_reply() == Push([b"subscribe", b"ch", 1])
    pub = server.client()
    assert pub.call("PUBLISH", "ch", "hi") == 1
    m = cl.read_reply()
    assert isinstance(m, Push) and m == [b"message", b"ch", b"hi"]
    cl.send("PSUBSCRIBE", "c*")
    assert cl.read_reply() == Push([b"psubscribe", b"c*", 2])
    assert pub.call("PUBLISH", "ch", "hi2") == 2
    assert cl.read_reply() == Push([b"message", b"ch", b"hi2"])
    assert cl.read_reply() == Push([b"pmessage", b"c*", b"ch", b"hi2"])
    # in RESP3 normal commands are allowed while subscribed
    assert cl.call("SET", "k", "v") == "OK"
    assert cl.call("GET", "k") == b"v"
    assert cl.call("GET", "nokey") is None
    assert cl.call("PING") == "PONG"
    cl.send("UNSUBSCRIBE", "ch")
    assert cl.read_reply() == Push([b"unsubscribe", b"ch", 1])
    cl.send("PUNSUBSCRIBE")
    assert cl.read_reply() == Push([b"punsubscribe", b"c*", 0])


def test_resp3_push_wire_format(server):
    sub = server.client()
    sub.call("HELLO", "3")
    raw_sock = sub.sock
    raw_sock.sendall(b"SUBSCRIBE w\r\n")
    expect = b">3\r\n$9\r\nsubscribe\r\n$1\r\nw\r\n:1\r\n"
    got = b""
    deadline = time.monotonic() + 5
    while len(got) < len(expect) and time.monotonic() < deadline:
        got += raw_sock.recv(len(expect) - len(got))
    assert got == expect
    pub = server.client()
    pub.call("PUBLISH", "w", "x")
    expect = b">3\r\n$7\r\nmessage\r\n$1\r\nw\r\n$1\r\nx\r\n"
    got = b""
    while len(got) < len(expect) and time.monotonic() < deadline:
        got += raw_sock.recv(len(expect) - len(got))
    assert got == expect


def test_resp3_redis_py_pubsub(server):
    r3 = server.redis_py(protocol=3)
    p = r3.pubsub()
    p.subscribe("rp")
    msg = p.get_message(timeout=5)
    assert msg["type"] == "subscribe" and msg["channel"] == "rp" and msg["data"] == 1
    p.psubscribe("r*")
    msg = p.get_message(timeout=5)
    assert msg["type"] == "psubscribe" and msg["data"] == 2
    pub = server.redis_py()
    assert pub.publish("rp", "payload") == 2
    m1 = p.get_message(timeout=5)
    m2 = p.get_message(timeout=5)
    assert m1 == {"type": "message", "pattern": None, "channel": "rp", "data": "payload"}
    assert m2 == {"type": "pmessage", "pattern": "r*", "channel": "rp", "data": "payload"}
    p.close()
    r3.close()


def test_redis_py_resp2_pubsub(server):
    r2 = server.redis_py()
    p = r2.pubsub(ignore_subscribe_messages=True)
    p.subscribe("c2")
    wait_until(lambda: r2.pubsub_numsub("c2") == [("c2", 1)], 5)
    r2.publish("c2", "m")
    msg = wait_until(lambda: p.get_message(timeout=0.1), 5)
    assert msg["data"] == "m"
    p.close()


# ---------------------------------------------------------------------------
# keyspace notifications
# ---------------------------------------------------------------------------


def collect(sub, n, timeout=5):
    out = []
    sub.settimeout(timeout)
    for _ in range(n):
        m = sub.read_reply()
        out.append(tuple(m[2:]) if m[0] == b"pmessage" else tuple(m[1:]))
    return out


def assert_no_message(sub, wait=0.2):
    sub.settimeout(wait)
    try:
        m = sub.read_reply()
    except (TimeoutError, OSError):
        sub.settimeout(10)
        return
    raise AssertionError("unexpected message %r" % (m,))


def test_notify_keyspace_events_config(c):
    assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b""]
    assert c.call("CONFIG", "SET", "notify-keyspace-events", "KEA") == "OK"
    assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
    c.call("CONFIG", "SET", "notify-keyspace-events", "Ex")
    assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"xE"]
    c.call("CONFIG", "SET", "notify-keyspace-events", "Kg$lshzxetdm")
    assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKm"]
    assert c.err("CONFIG", "SET", "notify-keyspace-events", "Z") == (
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    )


def test_keyspace_and_keyevent_notifications(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = server.client()
    psubscribe(sub, "__key*__:*")
    c.call("SET", "k", "v")
    assert collect(sub, 2) == [(b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k")]
    c.call("SET", "k", "v", "EX", "100")
    assert collect(sub, 4) == [
        (b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k"),
        (b"__keyspace@0__:k", b"expire"), (b"__keyevent@0__:expire", b"k"),
    ]
    c.call("DEL", "k")
    assert collect(sub, 2) == [(b"__keyspace@0__:k", b"del"), (b"__keyevent@0__:del", b"k")]
    c.call("INCR", "n")
    assert collect(sub, 2) == [(b"__keyspace@0__:n", b"incrby"), (b"__keyevent@0__:incrby", b"n")]
    c.call("DECR", "n")
    assert collect(sub, 2) == [(b"__keyspace@0__:n", b"incrby"), (b"__keyevent@0__:incrby", b"n")]
    c.call("INCRBYFLOAT", "n", "1.5")
    assert collect(sub, 2) == [(b"__keyspace@0__:n", b"incrbyfloat"), (b"__keyevent@0__:incrbyfloat", b"n")]
    c.call("APPEND", "a", "x")
    assert collect(sub, 2) == [(b"__keyspace@0__:a", b"append"), (b"__keyevent@0__:append", b"a")]
    c.call("SETRANGE", "a", "0", "y")
    assert collect(sub, 2) == [(b"__keyspace@0__:a", b"setrange"), (b"__keyevent@0__:setrange", b"a")]
    c.call("EXPIRE", "a", "100")
    assert collect(sub, 2) == [(b"__keyspace@0__:a", b"expire"), (b"__keyevent@0__:expire", b"a")]
    c.call("PERSIST", "a")
    assert collect(sub, 2) == [(b"__keyspace@0__:a", b"persist"), (b"__keyevent@0__:persist", b"a")]
    c.call("RENAME", "a", "a2")
    assert collect(sub, 4) == [
        (b"__keyspace@0__:a", b"rename_from"), (b"__keyevent@0__:rename_from", b"a"),
        (b"__keyspace@0__:a2", b"rename_to"), (b"__keyevent@0__:rename_to", b"a2"),
    ]
    c.call("COPY", "a2", "a3")
    assert collect(sub, 2) == [(b"__keyspace@0__:a3", b"copy_to"), (b"__keyevent@0__:copy_to", b"a3")]
    c.call("MOVE", "a3", "1")
    assert collect(sub, 4) == [
        (b"__keyspace@0__:a3", b"move_from"), (b"__keyevent@0__:move_from", b"a3"),
        (b"__keyspace@1__:a3", b"move_to"), (b"__keyevent@1__:move_to", b"a3"),
    ]
    c.call("MSET", "m1", "1", "m2", "2")
    assert collect(sub, 4) == [
        (b"__keyspace@0__:m1", b"set"), (b"__keyevent@0__:set", b"m1"),
        (b"__keyspace@0__:m2", b"set"), (b"__keyevent@0__:set", b"m2"),
    ]
    c.call("GETDEL", "m1")
    assert collect(sub, 2) == [(b"__keyspace@0__:m1", b"del"), (b"__keyevent@0__:del", b"m1")]
    c.call("EXPIRE", "m2", "0")  # immediate deletion is a 'del', not 'expired'
    assert collect(sub, 2) == [(b"__keyspace@0__:m2", b"del"), (b"__keyevent@0__:del", b"m2")]
    c.call("RPUSH", "l", "x")
    assert collect(sub, 2) == [(b"__keyspace@0__:l", b"rpush"), (b"__keyevent@0__:rpush", b"l")]
    c.call("SELECT", "2")
    c.call("SET", "d2", "v")
    assert collect(sub, 2) == [(b"__keyspace@2__:d2", b"set"), (b"__keyevent@2__:set", b"d2")]
    # no event for no-ops
    c.call("SET", "d2", "v", "NX")
    c.call("DEL", "nokey")
    c.call("PERSIST", "d2")
    c.call("FLUSHALL")
    assert_no_message(sub)


def test_expired_event(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "Ex")
    sub = server.client()
    subscribe(sub, "__keyevent@0__:expired")
    c.call("SET", "k", "v", "PX", "50")
    c.call("SET", "k2", "v")  # no notification for 'set' with class x only
    sub.settimeout(5)
    assert sub.read_reply() == [b"message", b"__keyevent@0__:expired", b"k"]


def test_keyspace_only_class_filter(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "K$")
    sub = server.client()
    psubscribe(sub, "__key*__:*")
    c.call("SET", "s", "1")
    c.call("RPUSH", "l", "x")  # list event: class l not enabled
    c.call("DEL", "s")  # generic event: class g not enabled
    c.call("INCR", "s")
    assert collect(sub, 2) == [(b"__keyspace@0__:s", b"set"), (b"__keyspace@0__:s", b"incrby")]
    assert_no_message(sub)


def test_keyevent_del_subscription(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "Eg")
    sub = server.client()
    subscribe(sub, "__keyevent@0__:del")
    c.call("MSET", "a", "1", "b", "2")
    assert c.call("DEL", "a", "b") == 2
    assert collect(sub, 2) == [(b"__keyevent@0__:del", b"a"), (b"__keyevent@0__:del", b"b")]


def test_notifications_disabled_by_default(server, c):
    sub = server.client()
    psubscribe(sub, "__key*")
    c.call("SET", "k", "v")
    c.call("DEL", "k")
    assert_no_message(sub, 0.3)


# ---------------------------------------------------------------------------
# output buffer limit for pub/sub clients
# ---------------------------------------------------------------------------


def test_pubsub_output_buffer_limit_disconnects_slow_subscriber(server, c):
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 131072 60") == "OK"
    cfg = c.call("CONFIG", "GET", "client-output-buffer-limit")[1]
    assert b"pubsub 262144 131072 60" in cfg
    import socket as _s

    sub = server.client()
    sub.sock.setsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF, 4096)
    subscribe(sub, "flood")
    payload = b"x" * 65536
    delivered_to = []
    deadline = time.monotonic() + 20
    # the subscriber never reads: once its output buffer passes the hard limit it is dropped
    while time.monotonic() < deadline:
        n = c.call("PUBLISH", "flood", payload)
        delivered_to.append(n)
        if n == 0:
            break
    assert delivered_to[0] == 1
    assert delivered_to[-1] == 0, "slow subscriber was never disconnected"
    assert c.call("PUBSUB", "NUMSUB", "flood") == [b"flood", 0]
    assert c.call("CLIENT", "LIST", "TYPE", "pubsub") == b""
    assert c.call("PING") == "PONG"


def test_client_reply_off_and_skip_do_not_silence_pushes(server):
    """In Redis 7.0 (un)subscribe confirmations and messages are pushes, which CLIENT REPLY
    OFF and SKIP do not silence, in RESP2 as in RESP3; ordinary replies stay silent."""
    for proto, sub, unsub, psub, punsub in (
            ("3", b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
             b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
             b">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n",
             b">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n"),
            ("2", b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
             b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
             b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n",
             b"*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n")):
        raw = server.raw()
        pub = server.client()
        raw.send(b"HELLO " + proto.encode() + b"\r\n")
        raw.read_available()
        raw.send(b"CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\n")
        raw.expect(sub)
        assert pub.call("PUBLISH", "ch", "hello") == 1
        msg = b"$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        raw.expect((b">3\r\n" if proto == "3" else b"*3\r\n") + msg)
        raw.send(b"UNSUBSCRIBE ch\r\nECHO silent\r\nCLIENT REPLY ON\r\n")
        raw.expect(unsub + b"+OK\r\n")
        raw.send(b"PSUBSCRIBE p*\r\n")
        raw.expect(psub)
        if proto == "3":  # RESP2 refuses CLIENT REPLY while subscribed
            raw.send(b"CLIENT REPLY SKIP\r\nPUNSUBSCRIBE p*\r\nPING\r\n")
            raw.expect(punsub + b"+PONG\r\n")


def test_resp3_own_messages_come_before_the_reply(server):
    """A RESP3 client that receives what its own command publishes (PUBLISH, a keyspace
    event) gets the push first, then the command's reply, as Redis writes them."""
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    raw.read_available()
    raw.send(b"CONFIG SET notify-keyspace-events KEA\r\nSUBSCRIBE ch __keyevent@0__:set\r\n")
    raw.expect(b"+OK\r\n>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
               b">3\r\n$9\r\nsubscribe\r\n$18\r\n__keyevent@0__:set\r\n:2\r\n")
    raw.send(b"PUBLISH ch hi\r\n")
    raw.expect(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1\r\n")
    raw.send(b"SET k v\r\n")
    raw.expect(b">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n+OK\r\n")
