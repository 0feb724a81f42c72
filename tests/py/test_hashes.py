"""Hash commands: replies, errors, encodings, notifications, WATCH, HSCAN, RESP3."""

import pytest

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
SYNTAX = "ERR syntax error"
RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


def enc(c, key):
    return c.call("OBJECT", "ENCODING", key)


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def test_hset_hget_hmset_hsetnx(c):
    assert c.call("HSET", "h", "a", "1", "b", "2") == 2
    assert c.call("HSET", "h", "a", "10", "c", "3") == 1
    assert c.call("HGET", "h", "a") == b"10"
    assert c.call("HGET", "h", "nofield") is None
    assert c.call("HGET", "nokey", "a") is None
    assert c.call("HMSET", "h", "d", "4", "a", "11") == "OK"
    assert c.call("HGET", "h", "a") == b"11"
    assert c.call("HLEN", "h") == 4
    assert c.call("HSETNX", "h", "a", "x") == 0
    assert c.call("HGET", "h", "a") == b"11"
    assert c.call("HSETNX", "h", "e", "5") == 1
    assert c.call("HSETNX", "new", "f", "v") == 1
    assert c.call("HGETALL", "new") == [b"f", b"v"]
    # empty field names and values are fine
    assert c.call("HSET", "h", "", "") == 1
    assert c.call("HGET", "h", "") == b""
    # binary safe
    assert c.call("HSET", "bin", b"\x00\xff", b"\r\n") == 1
    assert c.call("HGET", "bin", b"\x00\xff") == b"\r\n"


def test_hset_errors(c):
    c.call("SET", "s", "v")
    assert c.err("HSET", "h", "a") == arity("hset")
    assert c.err("HSET", "h", "a", "1", "b") == arity("hset")
    assert c.err("HMSET", "h", "a", "1", "b") == arity("hmset")
    assert c.err("HSET", "s", "a") == arity("hset")  # arity before type
    assert c.err("HSET", "s", "a", "1") == WRONGTYPE
    assert c.err("HMSET", "s", "a", "1") == WRONGTYPE
    assert c.err("HSETNX", "s", "a", "1") == WRONGTYPE
    assert c.err("HSETNX", "h", "a") == arity("hsetnx")
    assert c.err("HGET", "s", "a") == WRONGTYPE
    assert c.err("HGET", "h") == arity("hget")
    assert c.call("EXISTS", "h") == 0


def test_hmget(c):
    c.call("HSET", "h", "a", "1", "b", "2")
    assert c.call("HMGET", "h", "a", "x", "b", "a") == [b"1", None, b"2", b"1"]
    assert c.call("HMGET", "nokey", "a", "b") == [None, None]
    c.call("SET", "s", "v")
    assert c.err("HMGET", "s", "a") == WRONGTYPE
    assert c.err("HMGET", "h") == arity("hmget")


def test_hdel(c):
    c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert c.call("HDEL", "h", "a", "x", "a") == 1
    assert c.call("HDEL", "h", "nofield") == 0
    assert c.call("HDEL", "nokey", "a") == 0
    assert c.call("HDEL", "h", "b", "c", "d") == 2
    assert c.call("EXISTS", "h") == 0  # empty hashes are deleted
    c.call("SET", "s", "v")
    assert c.err("HDEL", "s", "a") == WRONGTYPE
    assert c.err("HDEL", "h") == arity("hdel")


def test_hlen_hstrlen_hexists(c):
    c.call("HSET", "h", "a", "hello", "n", "-123")
    assert c.call("HLEN", "h") == 2
    assert c.call("HLEN", "nokey") == 0
    assert c.call("HSTRLEN", "h", "a") == 5
    assert c.call("HSTRLEN", "h", "n") == 4
    assert c.call("HSTRLEN", "h", "x") == 0
    assert c.call("HSTRLEN", "nokey", "x") == 0
    assert c.call("HEXISTS", "h", "a") == 1
    assert c.call("HEXISTS", "h", "x") == 0
    assert c.call("HEXISTS", "nokey", "x") == 0
    c.call("SET", "s", "v")
    for cmd in (("HLEN", "s"), ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a")):
        assert c.err(*cmd) == WRONGTYPE
    assert c.err("HLEN") == arity("hlen")
    assert c.err("HSTRLEN", "h") == arity("hstrlen")
    assert c.err("HEXISTS", "h") == arity("hexists")


@pytest.mark.parametrize("big", [False, True])
def test_hkeys_hvals_hgetall(c, big):
    n = 600 if big else 5
    c.pipeline([("HSET", "h", "f%d" % i, "v%d" % i) for i in range(n)])
    assert enc(c, "h") == (b"hashtable" if big else b"listpack")
    keys = c.call("HKEYS", "h")
    vals = c.call("HVALS", "h")
    flat = c.call("HGETALL", "h")
    assert sorted(keys) == sorted(b"f%d" % i for i in range(n))
    assert sorted(vals) == sorted(b"v%d" % i for i in range(n))
    assert pairs(flat) == {b"f%d" % i: b"v%d" % i for i in range(n)}
    # the three agree on the order
    assert flat[::2] == keys and flat[1::2] == vals


def test_hkeys_hvals_hgetall_missing_and_errors(c):
    assert c.call("HKEYS", "nokey") == []
    assert c.call("HVALS", "nokey") == []
    assert c.call("HGETALL", "nokey") == []
    c.call("SET", "s", "v")
    for cmd in ("HKEYS", "HVALS", "HGETALL"):
        assert c.err(cmd, "s") == WRONGTYPE
        assert c.err(cmd) == arity(cmd.lower())


def test_listpack_order_is_insertion_order(c):
    c.call("HSET", "h", "z", "1", "a", "2", "m", "3")
    c.call("HSET", "h", "a", "20")
    assert c.call("HGETALL", "h") == [b"z", b"1", b"a", b"20", b"m", b"3"]
    c.call("HDEL", "h", "z")
    c.call("HSET", "h", "z", "1")
    assert c.call("HKEYS", "h") == [b"a", b"m", b"z"]


def test_hincrby(c):
    assert c.call("HINCRBY", "h", "n", "5") == 5
    assert c.call("HINCRBY", "h", "n", "-10") == -5
    assert c.call("HGET", "h", "n") == b"-5"
    assert c.call("HINCRBY", "h", "m", "0") == 0
    c.call("HSET", "h", "big", "9223372036854775806", "neg", "-9223372036854775807", "s", "abc")
    assert c.call("HINCRBY", "h", "big", "1") == 9223372036854775807
    assert c.err("HINCRBY", "h", "big", "1") == "ERR increment or decrement would overflow"
    assert c.call("HINCRBY", "h", "neg", "-1") == -9223372036854775808
    assert c.err("HINCRBY", "h", "neg", "-1") == "ERR increment or decrement would overflow"
    assert c.err("HINCRBY", "h", "s", "1") == "ERR hash value is not an integer"
    for bad in ("1.5", "abc", "", " 1", "9223372036854775808", "0x10"):
        assert c.err("HINCRBY", "h", "n", bad) == NOT_INT
    for stored in (" 1", "1 ", "01", "+1", "-0", "1.0", ""):
        c.call("HSET", "h", "odd", stored)
        assert c.err("HINCRBY", "h", "odd", "1") == "ERR hash value is not an integer"
    c.call("SET", "s", "v")
    assert c.err("HINCRBY", "s", "n", "1") == WRONGTYPE
    assert c.err("HINCRBY", "s", "n", "x") == NOT_INT  # argument checked first
    assert c.err("HINCRBY", "h", "n") == arity("hincrby")
    # an error never leaves an empty key behind
    assert c.err("HINCRBY", "fresh", "n", "x") == NOT_INT
    assert c.call("EXISTS", "fresh") == 0


def test_hincrbyfloat(c):
    assert c.call("HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert c.call("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert c.call("HINCRBYFLOAT", "h", "f", "-10.6") == b"0"
    assert c.call("HINCRBYFLOAT", "h", "g", "5.0e3") == b"5000"
    assert c.call("HINCRBYFLOAT", "h", "g", "2.0e2") == b"5200"
    c.call("HSET", "h", "i", "3", "x", "1.1")
    assert c.call("HINCRBYFLOAT", "h", "i", "1.5") == b"4.5"
    assert c.call("HINCRBYFLOAT", "h", "x", "2.2") == b"3.3"
    assert c.call("HGET", "h", "x") == b"3.3"
    for bad in ("abc", "", "nan", "1.5x"):
        assert c.err("HINCRBYFLOAT", "h", "f", bad) == NOT_FLOAT
    assert c.err("HINCRBYFLOAT", "h", "f", "inf") == "ERR value is NaN or Infinity"
    assert c.err("HINCRBYFLOAT", "h", "f", "-inf") == "ERR value is NaN or Infinity"
    c.call("HSET", "h", "s", "abc")
    assert c.err("HINCRBYFLOAT", "h", "s", "1") == "ERR hash value is not a float"
    c.call("SET", "str", "v")
    assert c.err("HINCRBYFLOAT", "str", "f", "1") == WRONGTYPE
    assert c.err("HINCRBYFLOAT", "h", "f") == arity("hincrbyfloat")


def test_hrandfield_without_count(c):
    assert c.call("HRANDFIELD", "nokey") is None
    c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
    seen = {c.call("HRANDFIELD", "h") for _ in range(100)}
    assert seen == {b"a", b"b", b"c"}
    c.call("SET", "s", "v")
    assert c.err("HRANDFIELD", "s") == WRONGTYPE
    assert c.err("HRANDFIELD") == arity("hrandfield")


@pytest.mark.parametrize("big", [False, True])
def test_hrandfield_with_count(c, big):
    n = 600 if big else 5
    c.pipeline([("HSET", "h", "f%d" % i, "v%d" % i) for i in range(n)])
    assert enc(c, "h") == (b"hashtable" if big else b"listpack")
    fields = {b"f%d" % i for i in range(n)}
    # positive: distinct, at most the size
    for count in (1, 2, n // 3, n // 2, n - 1, n, n + 10):
        got = c.call("HRANDFIELD", "h", count)
        assert len(got) == min(count, n)
        assert len(set(got)) == len(got)
        assert set(got) <= fields
    assert sorted(c.call("HRANDFIELD", "h", n)) == sorted(fields)
    # negative: exactly |count|, repeats allowed
    got = c.call("HRANDFIELD", "h", -(n + 50))
    assert len(got) == n + 50
    assert set(got) <= fields
    assert c.call("HRANDFIELD", "h", -1)[0] in fields
    # WITHVALUES: flat field/value pairs in RESP2
    got = c.call("HRANDFIELD", "h", 3, "WITHVALUES")
    assert len(got) == 2 * min(3, n)
    for f, v in zip(got[::2], got[1::2]):
        assert v == b"v" + f[1:]
    got = c.call("HRANDFIELD", "h", -7, "withvalues")
    assert len(got) == 14
    for f, v in zip(got[::2], got[1::2]):
        assert v == b"v" + f[1:]
    # zero
    assert c.call("HRANDFIELD", "h", 0) == []
    assert c.call("HRANDFIELD", "h", 0, "WITHVALUES") == []


def test_hrandfield_count_errors(c):
    assert c.call("HRANDFIELD", "nokey", 5) == []
    assert c.call("HRANDFIELD", "nokey", -5, "WITHVALUES") == []
    c.call("HSET", "h", "a", "1")
    assert c.err("HRANDFIELD", "h", "x") == NOT_INT
    assert c.err("HRANDFIELD", "h", "1.5") == NOT_INT
    assert c.err("HRANDFIELD", "h", "-9223372036854775808") == RANGE
    assert c.err("HRANDFIELD", "h", "1", "WITHSCORES") == SYNTAX
    assert c.err("HRANDFIELD", "h", "1", "WITHVALUES", "x") == SYNTAX
    assert c.err("HRANDFIELD", "h", "x", "WITHVALUES") == NOT_INT  # count parsed first
    assert c.err("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES") == "ERR value is out of range"
    assert c.err("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES") == "ERR value is out of range"
    assert c.call("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES") == [b"a", b"1"]
    c.call("SET", "s", "v")
    assert c.err("HRANDFIELD", "s", "1") == WRONGTYPE
    assert c.err("HRANDFIELD", "s", "0") == WRONGTYPE
    assert c.err("HRANDFIELD", "s", "x") == NOT_INT


def test_hrandfield_resp3(c):
    c.call("HELLO", "3")
    c.call("HSET", "h", "a", "1", "b", "2")
    got = c.call("HRANDFIELD", "h", 5, "WITHVALUES")
    assert sorted(got) == [[b"a", b"1"], [b"b", b"2"]]
    got = c.call("HRANDFIELD", "h", -3, "WITHVALUES")
    assert len(got) == 3 and all(p in ([b"a", b"1"], [b"b", b"2"]) for p in got)
    got = c.call("HRANDFIELD", "h", 1, "WITHVALUES")
    assert got in ([[b"a", b"1"]], [[b"b", b"2"]])
    assert sorted(c.call("HRANDFIELD", "h", 2)) == [b"a", b"b"]
    assert c.call("HRANDFIELD", "nokey") is None
    assert c.call("HRANDFIELD", "nokey", 2) == []


def test_resp3_shapes(server):
    c = server.raw()
    c.send(b"HELLO 3\r\n")
    c.read_available(0.3)
    c.send(b"HSET h a 1\r\nHGETALL h\r\nHGETALL nokey\r\nHKEYS h\r\nHGET h x\r\nHMGET h a x\r\n")
    c.expect(b":1\r\n%1\r\n$1\r\na\r\n$1\r\n1\r\n%0\r\n*1\r\n$1\r\na\r\n_\r\n*2\r\n$1\r\n1\r\n_\r\n")
    c.send(b"HRANDFIELD h 1 WITHVALUES\r\nHSCAN h 0\r\nHRANDFIELD nokey\r\nHRANDFIELD nokey 1\r\n")
    c.expect(b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n_\r\n*0\r\n")
    c.send(b"HINCRBYFLOAT h f 1.5\r\nHINCRBY h n 2\r\n")
    c.expect(b"$3\r\n1.5\r\n:2\r\n")


def test_resp2_shapes(server):
    c = server.raw()
    c.send(b"HSET h a 1\r\nHGETALL h\r\nHGETALL nokey\r\nHGET h x\r\nHMGET h x\r\nHRANDFIELD h 1 WITHVALUES\r\n")
    c.expect(b":1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*0\r\n$-1\r\n*1\r\n$-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")


def test_encoding_listpack_to_hashtable_by_entries(c):
    assert c.call("CONFIG", "SET", "hash-max-listpack-entries", "4") == "OK"
    c.call("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
    assert enc(c, "h") == b"listpack"
    c.call("HSET", "h", "a", "10")  # an update does not grow it
    assert enc(c, "h") == b"listpack"
    c.call("HSET", "h", "e", "5")
    assert enc(c, "h") == b"hashtable"
    # one-way: shrinking does not convert back
    c.call("HDEL", "h", "a", "b", "c", "d")
    assert enc(c, "h") == b"hashtable"
    assert c.call("HGETALL", "h") == [b"e", b"5"]
    # a whole HSET past the limit at once
    c.call("HSET", "h2", *[x for i in range(5) for x in ("f%d" % i, "v")])
    assert enc(c, "h2") == b"hashtable"
    c.call("CONFIG", "SET", "hash-max-listpack-entries", "0")
    c.call("HSET", "h3", "a", "1")
    assert enc(c, "h3") == b"hashtable"
    # the old ziplist name is an alias
    c.call("CONFIG", "SET", "hash-max-ziplist-entries", "1")
    assert c.call("CONFIG", "GET", "hash-max-listpack-entries") == [b"hash-max-listpack-entries", b"1"]
    c.call("HSET", "h4", "a", "1")
    assert enc(c, "h4") == b"listpack"
    c.call("HSETNX", "h4", "b", "1")
    assert enc(c, "h4") == b"hashtable"


def test_encoding_listpack_to_hashtable_by_length(c):
    c.call("CONFIG", "SET", "hash-max-listpack-value", "5")
    c.call("HSET", "h", "abcde", "12345")
    assert enc(c, "h") == b"listpack"
    c.call("HSET", "h", "a", "123456")
    assert enc(c, "h") == b"hashtable"
    c.call("HSET", "h2", "abcdef", "1")
    assert enc(c, "h2") == b"hashtable"
    # HSETNX on an existing field changes nothing, long value or not
    c.call("HSET", "h3", "a", "1")
    assert c.call("HSETNX", "h3", "a", "1234567") == 0
    assert enc(c, "h3") == b"listpack"
    assert c.call("HSETNX", "h3", "b", "1234567") == 1
    assert enc(c, "h3") == b"hashtable"
    # increments whose field or result is long convert too
    c.call("HSET", "h4", "a", "1")
    c.call("HINCRBY", "h4", "abcdefgh", "1")
    assert enc(c, "h4") == b"hashtable"
    c.call("HSET", "h5", "a", "1")
    c.call("HINCRBY", "h5", "a", "1000000")
    assert enc(c, "h5") == b"hashtable"
    c.call("HSET", "h6", "a", "1")
    c.call("HINCRBYFLOAT", "h6", "a", "0.0000001")
    assert enc(c, "h6") == b"hashtable"
    c.call("CONFIG", "SET", "hash-max-ziplist-value", "64")
    c.call("HSET", "h7", "a", "x" * 64)
    assert enc(c, "h7") == b"listpack"
    c.call("HSET", "h7", "b", "x" * 65)
    assert enc(c, "h7") == b"hashtable"
    assert c.call("HGET", "h7", "a") == b"x" * 64


def test_default_thresholds(c):
    assert pairs(c.call("CONFIG", "GET", "hash-max-*")) == {
        b"hash-max-listpack-entries": b"512", b"hash-max-listpack-value": b"64",
        b"hash-max-ziplist-entries": b"512", b"hash-max-ziplist-value": b"64",
    }
    c.pipeline([("HSET", "h", "f%d" % i, "v") for i in range(512)])
    assert enc(c, "h") == b"listpack"
    c.call("HSET", "h", "one-more", "v")
    assert enc(c, "h") == b"hashtable"
    assert c.call("HLEN", "h") == 513


def test_hscan_listpack_whole(c):
    c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
    cur, items = c.call("HSCAN", "h", "0", "COUNT", "1")
    assert cur == b"0"
    assert pairs(items) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    cur, items = c.call("HSCAN", "h", "0", "MATCH", "[ab]")
    assert cur == b"0" and pairs(items) == {b"a": b"1", b"b": b"2"}
    # a compact hash ignores the cursor
    cur, items = c.call("HSCAN", "h", "12345")
    assert cur == b"0" and len(items) == 6
    assert c.call("HSCAN", "nokey", "0") == [b"0", []]


def test_hscan_errors(c):
    c.call("HSET", "h", "a", "1")
    assert c.err("HSCAN", "h", "x") == "ERR invalid cursor"
    for bad in ("+", "-", " 1", "1 ", "0x1", "18446744073709551616", "-18446744073709551616"):
        assert c.err("HSCAN", "h", bad) == "ERR invalid cursor"
    # what strtoul accepts is a cursor (a compact hash ignores it)
    for ok in ("", "-1", "+1", "007", "18446744073709551615", "-18446744073709551615"):
        assert c.call("HSCAN", "h", ok) == [b"0", [b"a", b"1"]]
    assert c.err("HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert c.err("HSCAN", "h", "0", "COUNT", "x") == NOT_INT
    assert c.err("HSCAN", "h", "0", "COUNT") == SYNTAX
    assert c.err("HSCAN", "h", "0", "TYPE", "string") == SYNTAX
    assert c.err("HSCAN", "h", "0", "FOO", "bar") == SYNTAX
    # options are not checked on a missing key
    assert c.call("HSCAN", "nokey", "0", "FOO") == [b"0", []]
    c.call("SET", "s", "v")
    assert c.err("HSCAN", "s", "0") == WRONGTYPE
    assert c.err("HSCAN", "s", "x") == "ERR invalid cursor"
    assert c.err("HSCAN", "h") == arity("hscan")


def hscan_all(c, key, *opts):
    cursor = b"0"
    out = []
    calls = 0
    while True:
        cursor, items = c.call("HSCAN", key, cursor, *opts)
        out.extend(zip(items[::2], items[1::2]))
        calls += 1
        assert calls < 10000
        if cursor == b"0":
            return out, calls


def test_hscan_hashtable_full_iteration(c):
    n = 1000
    c.pipeline([("HSET", "h", "f%d" % i, "v%d" % i) for i in range(n)])
    assert enc(c, "h") == b"hashtable"
    got, calls = hscan_all(c, "h", "COUNT", "10")
    assert calls > 1
    assert dict(got) == {b"f%d" % i: b"v%d" % i for i in range(n)}
    got, _ = hscan_all(c, "h", "MATCH", "f1*", "COUNT", "50")
    assert {f for f, _ in got} == {b"f%d" % i for i in range(n) if str(i).startswith("1")}


def test_hscan_while_growing_and_shrinking(c):
    n = 500
    c.pipeline([("HSET", "h", "keep%d" % i, "v") for i in range(n)])
    c.pipeline([("HSET", "h", "tmp%d" % i, "v") for i in range(200)])
    cursor = b"0"
    seen = set()
    rnd = 0
    while True:
        cursor, items = c.call("HSCAN", "h", cursor, "COUNT", "20")
        seen.update(items[::2])
        # grow and shrink between calls
        c.pipeline([("HSET", "h", "new%d_%d" % (rnd, j), "v") for j in range(30)])
        c.pipeline([("HDEL", "h", "tmp%d" % (rnd * 10 + j)) for j in range(10)])
        rnd += 1
        assert rnd < 5000
        if cursor == b"0":
            break
    assert {b"keep%d" % i for i in range(n)} <= seen


def collect_events(sub, n):
    out = []
    sub.settimeout(5)
    for _ in range(n):
        m = sub.read_reply()
        assert m[0] == b"pmessage"
        out.append((m[2].decode().split(":", 1)[1], m[3]))
    return out


def assert_no_event(sub, wait=0.2):
    sub.settimeout(wait)
    try:
        m = sub.read_reply()
    except (TimeoutError, OSError):
        sub.settimeout(10)
        return
    raise AssertionError("unexpected event %r" % (m,))


def test_keyspace_notifications(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEAnm")
    sub = server.client()
    sub.send("PSUBSCRIBE", "__keyevent@0__:*")
    sub.read_reply()
    c.call("HSET", "h", "a", "1", "b", "2")
    assert collect_events(sub, 2) == [("new", b"h"), ("hset", b"h")]
    c.call("HMSET", "h", "a", "3")
    c.call("HSETNX", "h", "a", "x")  # no change, no event
    c.call("HSETNX", "h", "c", "x")
    assert collect_events(sub, 2) == [("hset", b"h"), ("hset", b"h")]
    c.call("HINCRBY", "h", "n", "1")
    c.call("HINCRBYFLOAT", "h", "n", "1.5")
    assert collect_events(sub, 2) == [("hincrby", b"h"), ("hincrbyfloat", b"h")]
    c.call("HDEL", "h", "nofield")  # nothing deleted, no event
    c.call("HDEL", "h", "a")
    assert collect_events(sub, 1) == [("hdel", b"h")]
    c.call("HDEL", "h", "b", "c", "n")
    assert collect_events(sub, 2) == [("hdel", b"h"), ("del", b"h")]
    # failed commands fire nothing; reads fire nothing (but misses do, with 'm')
    c.call("HSET", "h", "s", "abc")
    assert collect_events(sub, 2) == [("new", b"h"), ("hset", b"h")]
    c.err("HINCRBY", "h", "s", "1")
    c.call("HGET", "h", "s")
    c.call("HGETALL", "h")
    assert_no_event(sub)
    c.call("HGET", "nokey", "s")
    assert collect_events(sub, 1) == [("keymiss", b"nokey")]


def test_watch_invalidation(server, c):
    o = server.client()

    def watched(setup, between):
        c.call("FLUSHALL")
        for cmd in setup:
            c.call(*cmd)
        c.call("WATCH", "h")
        o.pipeline(between)
        c.call("MULTI")
        c.call("PING")
        return c.call("EXEC")

    base = [("HSET", "h", "a", "1", "s", "x")]
    assert watched(base, [("HSET", "h", "a", "2")]) is None
    assert watched(base, [("HSET", "h", "a", "1")]) is None  # same value still touches
    assert watched(base, [("HMSET", "h", "b", "2")]) is None
    assert watched(base, [("HSETNX", "h", "b", "2")]) is None
    assert watched(base, [("HDEL", "h", "a")]) is None
    assert watched(base, [("HINCRBY", "h", "n", "1")]) is None
    assert watched(base, [("HINCRBYFLOAT", "h", "n", "1")]) is None
    assert watched([], [("HSET", "h", "a", "1")]) is None  # created
    # no change: the transaction runs
    assert watched(base, [("HSETNX", "h", "a", "2")]) == ["PONG"]
    assert watched(base, [("HDEL", "h", "nofield")]) == ["PONG"]
    assert watched(base, [("HGET", "h", "a"), ("HGETALL", "h"), ("HSCAN", "h", "0")]) == ["PONG"]
    assert watched(base, [("HINCRBY", "h", "s", "1")]) == ["PONG"]  # error: no change


def test_dirty_counts(c):
    def dirty():
        raw = c.call("INFO", "persistence").decode()
        return int(raw.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    d = dirty()
    c.call("HSET", "h", "a", "1", "b", "2")
    assert dirty() == d + 2
    c.call("HSET", "h", "a", "1")
    assert dirty() == d + 3
    c.call("HDEL", "h", "a", "b", "x")
    assert dirty() == d + 5
    c.call("HINCRBY", "h", "n", "1")
    c.call("HINCRBYFLOAT", "h", "n", "1")
    c.call("HSETNX", "h", "n", "1")
    assert dirty() == d + 7


def test_type_and_object(c):
    c.call("HSET", "h", "a", "1")
    assert c.call("TYPE", "h") == "hash"
    assert enc(c, "h") == b"listpack"
    assert c.err("GET", "h") == WRONGTYPE
    assert c.err("LPUSH", "h", "x") == WRONGTYPE


def test_commands_in_multi(c):
    c.call("MULTI")
    assert c.call("HSET", "h", "a", "1") == "QUEUED"
    assert c.call("HINCRBY", "h", "a", "5") == "QUEUED"
    assert c.call("HGETALL", "h") == "QUEUED"
    assert c.call("EXEC") == [1, 6, [b"a", b"6"]]


def test_large_values_and_many_fields(c):
    big = "x" * 100000
    assert c.call("HSET", "h", "big", big) == 1
    assert enc(c, "h") == b"hashtable"
    assert c.call("HSTRLEN", "h", "big") == 100000
    assert c.call("HGET", "h", "big") == big.encode()
    n = 5000
    c.pipeline([("HSET", "many", "f%d" % i, i) for i in range(n)])
    assert c.call("HLEN", "many") == n
    assert c.pipeline([("HGET", "many", "f%d" % i) for i in range(0, n, 97)]) == [
        str(i).encode() for i in range(0, n, 97)
    ]
    c.pipeline([("HDEL", "many", "f%d" % i) for i in range(0, n, 2)])
    assert c.call("HLEN", "many") == n // 2
    assert c.call("HEXISTS", "many", "f1") == 1 and c.call("HEXISTS", "many", "f2") == 0
