"""Set commands: replies, errors, encodings, notifications, WATCH, SSCAN, RESP3."""

import pytest

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"
RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
POSITIVE = "ERR value is out of range, must be positive"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


def enc(c, key):
    return c.call("OBJECT", "ENCODING", key)


def members(c, key):
    return sorted(c.call("SMEMBERS", key))


def b(*xs):
    return sorted(str(x).encode() for x in xs)


def test_sadd_srem_scard_sismember(c):
    assert c.call("SADD", "s", "a", "b", "a") == 2
    assert c.call("SADD", "s", "b", "c") == 1
    assert c.call("SADD", "s", "c") == 0
    assert c.call("SCARD", "s") == 3
    assert c.call("SCARD", "nokey") == 0
    assert c.call("SISMEMBER", "s", "a") == 1
    assert c.call("SISMEMBER", "s", "x") == 0
    assert c.call("SISMEMBER", "nokey", "x") == 0
    assert c.call("SREM", "s", "a", "x", "a") == 1
    assert c.call("SREM", "s", "x") == 0
    assert c.call("SREM", "nokey", "x") == 0
    assert members(c, "s") == b("b", "c")
    assert c.call("SREM", "s", "b", "c", "d") == 2
    assert c.call("EXISTS", "s") == 0  # empty sets are deleted
    assert c.call("SADD", "e", "") == 1
    assert c.call("SISMEMBER", "e", "") == 1
    assert c.call("SADD", "bin", b"\x00\xff\r\n") == 1
    assert c.call("SMEMBERS", "bin") == [b"\x00\xff\r\n"]


def test_errors(c):
    c.call("SET", "str", "v")
    for cmd in (
        ("SADD", "str", "a"), ("SREM", "str", "a"), ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SMEMBERS", "str"),
        ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"), ("SPOP", "str"), ("SPOP", "str", "2"),
        ("SINTER", "str"), ("SUNION", "str"), ("SDIFF", "str"), ("SSCAN", "str", "0"),
        ("SINTERCARD", "1", "str"), ("SINTERSTORE", "d", "str"), ("SUNIONSTORE", "d", "str"),
        ("SDIFFSTORE", "d", "str"), ("SMOVE", "str", "d", "a"),
    ):
        assert c.err(*cmd) == WRONGTYPE, cmd
    for cmd, n in (
        ("SADD", 2), ("SREM", 2), ("SISMEMBER", 2), ("SMISMEMBER", 2), ("SCARD", 1), ("SMEMBERS", 1),
        ("SRANDMEMBER", 1), ("SPOP", 1), ("SMOVE", 3), ("SINTER", 1), ("SINTERCARD", 2),
        ("SINTERSTORE", 2), ("SUNION", 1), ("SUNIONSTORE", 2), ("SDIFF", 1), ("SDIFFSTORE", 2),
        ("SSCAN", 2),
    ):
        args = ["k"] * (n - 1)
        assert c.err(cmd, *args) == arity(cmd.lower()), cmd
    assert c.err("SCARD", "a", "b") == arity("scard")
    assert c.err("SISMEMBER", "a", "b", "c") == arity("sismember")
    assert c.err("SMOVE", "a", "b", "c", "d") == arity("smove")


def test_smismember(c):
    c.call("SADD", "s", "a", "1")
    assert c.call("SMISMEMBER", "s", "a", "x", "1", "a") == [1, 0, 1, 1]
    assert c.call("SMISMEMBER", "nokey", "a", "b") == [0, 0]


@pytest.mark.parametrize("kind", ["intset", "small", "big"])
def test_smembers(c, kind):
    if kind == "intset":
        want = list(range(-50, 50))
    elif kind == "small":
        want = ["m%d" % i for i in range(10)]
    else:
        want = ["m%d" % i for i in range(1000)]
    c.call("SADD", "s", *want)
    assert enc(c, "s") == (b"intset" if kind == "intset" else b"hashtable")
    got = c.call("SMEMBERS", "s")
    assert sorted(got) == b(*want)
    assert len(got) == len(want)
    if kind == "intset":
        assert got == [str(x).encode() for x in sorted(want)]  # intsets are ordered
    assert c.call("SMEMBERS", "nokey") == []


def test_what_counts_as_an_integer(c):
    for m in ("0", "1", "-1", "12345", "9223372036854775807", "-9223372036854775808"):
        c.call("DEL", "s")
        c.call("SADD", "s", m)
        assert enc(c, "s") == b"intset", m
        assert c.call("SISMEMBER", "s", m) == 1
    for m in ("01", "+1", "-0", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "0x1", "a"):
        c.call("DEL", "s")
        c.call("SADD", "s", "1", m)
        assert enc(c, "s") == b"hashtable", m
        assert c.call("SISMEMBER", "s", m) == 1
        assert c.call("SISMEMBER", "s", "1") == 1
        assert members(c, "s") == sorted([b"1", m.encode()])
    # lookups of non-canonical forms never match an integer member
    c.call("DEL", "s")
    c.call("SADD", "s", "1", "2")
    assert c.call("SISMEMBER", "s", "01") == 0
    assert c.call("SREM", "s", "+1") == 0
    assert c.call("SCARD", "s") == 2


def test_intset_conversions(c):
    c.call("SADD", "s", "1", "2", "3")
    assert enc(c, "s") == b"intset"
    c.call("SADD", "s", "x")
    assert enc(c, "s") == b"hashtable"
    c.call("SREM", "s", "x")
    assert enc(c, "s") == b"hashtable"  # one-way
    # a set created with a string member starts as a table
    c.call("SADD", "t", "x", "1")
    assert enc(c, "t") == b"hashtable"
    # wide integers stay in the intset
    c.call("SADD", "w", "1", "100000", "10000000000", "-10000000000")
    assert enc(c, "w") == b"intset"
    assert c.call("SMEMBERS", "w") == [b"-10000000000", b"1", b"100000", b"10000000000"]
    assert c.call("SREM", "w", "10000000000") == 1
    assert c.call("SISMEMBER", "w", "100000") == 1


def test_intset_max_entries(c):
    assert c.call("CONFIG", "GET", "set-max-intset-entries") == [b"set-max-intset-entries", b"512"]
    c.call("SADD", "s", *range(512))
    assert enc(c, "s") == b"intset"
    c.call("SADD", "s", "512")
    assert enc(c, "s") == b"hashtable"
    assert c.call("SCARD", "s") == 513
    c.call("CONFIG", "SET", "set-max-intset-entries", "3")
    c.call("SADD", "t", "1", "2", "3")
    assert enc(c, "t") == b"intset"
    c.call("SADD", "t", "3")
    assert enc(c, "t") == b"intset"
    c.call("SADD", "t", "4")
    assert enc(c, "t") == b"hashtable"
    c.call("SREM", "t", "1", "2")
    assert enc(c, "t") == b"hashtable"
    c.call("CONFIG", "SET", "set-max-intset-entries", "0")
    c.call("SADD", "u", "1")
    assert enc(c, "u") == b"hashtable"


def test_srandmember(c):
    assert c.call("SRANDMEMBER", "nokey") is None
    assert c.call("SRANDMEMBER", "nokey", "5") == []
    assert c.call("SRANDMEMBER", "nokey", "-5") == []
    c.call("SADD", "s", "a", "b", "c")
    assert {c.call("SRANDMEMBER", "s") for _ in range(100)} == {b"a", b"b", b"c"}
    assert c.err("SRANDMEMBER", "s", "x") == NOT_INT
    assert c.err("SRANDMEMBER", "s", "1", "2") == SYNTAX
    assert c.err("SRANDMEMBER", "s", "-9223372036854775808") == RANGE
    assert c.err("SRANDMEMBER", "nokey", "x") == NOT_INT
    c.call("SET", "str", "v")
    assert c.err("SRANDMEMBER", "str", "x") == NOT_INT  # count parsed first
    assert c.err("SRANDMEMBER", "str", "0") == WRONGTYPE
    assert c.call("SRANDMEMBER", "s", "0") == []
    assert c.call("SCARD", "s") == 3  # nothing removed


@pytest.mark.parametrize("kind", ["intset", "small", "big"])
def test_srandmember_counts(c, kind):
    n = {"intset": 100, "small": 20, "big": 700}[kind]
    ms = [str(i) if kind == "intset" else "m%d" % i for i in range(n)]
    c.call("SADD", "s", *ms)
    assert enc(c, "s") == (b"intset" if kind == "intset" else b"hashtable")
    universe = set(x.encode() for x in ms)
    for count in (1, 2, n // 5, n // 3, n // 2, n - 1, n, n + 1, 3 * n):
        got = c.call("SRANDMEMBER", "s", count)
        assert len(got) == min(count, n)
        assert len(set(got)) == len(got)
        assert set(got) <= universe
    got = c.call("SRANDMEMBER", "s", -(n * 2))
    assert len(got) == n * 2
    assert set(got) <= universe
    assert len(set(got)) > 1
    assert len(c.call("SRANDMEMBER", "s", -1)) == 1
    assert c.call("SCARD", "s") == n


def test_spop_single(c):
    assert c.call("SPOP", "nokey") is None
    c.call("SADD", "s", "a", "b", "c")
    got = {c.call("SPOP", "s") for _ in range(3)}
    assert got == {b"a", b"b", b"c"}
    assert c.call("EXISTS", "s") == 0
    assert c.err("SPOP", "s", "1", "2") == SYNTAX


@pytest.mark.parametrize("kind", ["intset", "small", "big"])
def test_spop_count(c, kind):
    n = {"intset": 100, "small": 20, "big": 700}[kind]
    ms = [str(i) if kind == "intset" else "m%d" % i for i in range(n)]
    c.call("SADD", "s", *ms)
    universe = set(x.encode() for x in ms)
    popped = []
    for count in (1, 3, n // 4, n // 2):
        got = c.call("SPOP", "s", count)
        assert len(got) == count and len(set(got)) == count
        popped += got
    assert len(set(popped)) == len(popped)
    rest = c.call("SMEMBERS", "s")
    assert set(rest) | set(popped) == universe
    assert not set(rest) & set(popped)
    got = c.call("SPOP", "s", n)
    assert sorted(got) == sorted(rest)
    assert c.call("EXISTS", "s") == 0


def test_spop_count_edges(c):
    assert c.call("SPOP", "nokey", "3") == []
    assert c.call("SPOP", "nokey", "0") == []
    c.call("SADD", "s", "1", "2", "3")
    assert c.call("SPOP", "s", "0") == []
    assert c.call("SCARD", "s") == 3
    for bad in ("-1", "x", "1.5", "-9223372036854775808"):
        assert c.err("SPOP", "s", bad) == POSITIVE
    assert c.err("SPOP", "nokey", "-1") == POSITIVE
    c.call("SET", "str", "v")
    assert c.err("SPOP", "str", "-1") == POSITIVE
    assert c.call("SPOP", "s", "100") in ([b"1", b"2", b"3"],)
    assert c.call("EXISTS", "s") == 0


def test_spop_most_of_a_set_rebuilds_it(c):
    # Redis rebuilds the set from the members left when it pops most of it.
    c.call("CONFIG", "SET", "set-max-intset-entries", "5")
    c.call("SADD", "s", *range(10))
    assert enc(c, "s") == b"hashtable"
    assert len(c.call("SPOP", "s", "9")) == 9
    assert enc(c, "s") == b"intset"
    c.call("SADD", "t", *range(10))
    assert len(c.call("SPOP", "t", "1")) == 1
    assert enc(c, "t") == b"hashtable"


def test_smove(c):
    c.call("SADD", "src", "a", "b", "1")
    c.call("SADD", "dst", "1", "2")
    assert c.call("SMOVE", "src", "dst", "a") == 1
    assert members(c, "src") == b("1", "b")
    assert members(c, "dst") == b("1", "2", "a")
    assert enc(c, "dst") == b"hashtable"
    assert c.call("SMOVE", "src", "dst", "x") == 0
    assert c.call("SMOVE", "src", "dst", "1") == 1  # already in dst
    assert members(c, "src") == [b"b"]
    assert members(c, "dst") == b("1", "2", "a")
    assert c.call("SMOVE", "src", "new", "b") == 1
    assert c.call("EXISTS", "src") == 0  # emptied and deleted
    assert c.call("SMEMBERS", "new") == [b"b"]
    assert c.call("SMOVE", "nokey", "dst", "a") == 0
    # same key: membership only
    assert c.call("SMOVE", "dst", "dst", "a") == 1
    assert c.call("SMOVE", "dst", "dst", "zz") == 0
    assert members(c, "dst") == b("1", "2", "a")
    # types
    c.call("SET", "str", "v")
    assert c.call("SMOVE", "nokey", "str", "a") == 0  # missing source wins
    assert c.err("SMOVE", "dst", "str", "a") == WRONGTYPE
    assert c.err("SMOVE", "dst", "str", "zz") == WRONGTYPE
    assert c.err("SMOVE", "str", "dst", "a") == WRONGTYPE
    assert members(c, "dst") == b("1", "2", "a")
    # an integer moved into a new key makes an intset
    c.call("SMOVE", "dst", "ints", "2")
    assert enc(c, "ints") == b"intset"


def test_sinter_sunion_sdiff(c):
    c.call("SADD", "a", "1", "2", "3", "x")
    c.call("SADD", "b", "2", "3", "4", "x", "y")
    c.call("SADD", "c", "3", "x", "z")
    assert sorted(c.call("SINTER", "a", "b", "c")) == b("3", "x")
    assert sorted(c.call("SINTER", "a", "b")) == b("2", "3", "x")
    assert sorted(c.call("SINTER", "a")) == b("1", "2", "3", "x")
    assert c.call("SINTER", "a", "nokey") == []
    assert c.call("SINTER", "nokey", "a") == []
    assert sorted(c.call("SUNION", "a", "b", "c")) == b("1", "2", "3", "4", "x", "y", "z")
    assert sorted(c.call("SUNION", "a", "nokey")) == b("1", "2", "3", "x")
    assert c.call("SUNION", "nokey") == []
    assert sorted(c.call("SDIFF", "a", "b")) == [b"1"]
    assert sorted(c.call("SDIFF", "b", "a", "c")) == b("4", "y")
    assert sorted(c.call("SDIFF", "a", "nokey")) == b("1", "2", "3", "x")
    assert c.call("SDIFF", "nokey", "a") == []
    assert c.call("SDIFF", "a", "a") == []
    # integer results come out ordered, like an intset
    c.call("SADD", "i1", "5", "3", "1", "10")
    c.call("SADD", "i2", "3", "10", "7", "1")
    assert c.call("SINTER", "i1", "i2") == [b"1", b"3", b"10"]
    assert c.call("SUNION", "i1", "i2") == [b"1", b"3", b"5", b"7", b"10"]
    assert c.call("SDIFF", "i1", "i2") == [b"5"]
    # WRONGTYPE even after a missing key
    c.call("SET", "str", "v")
    for cmd in ("SINTER", "SUNION", "SDIFF"):
        assert c.err(cmd, "nokey", "str") == WRONGTYPE
        assert c.err(cmd, "a", "str") == WRONGTYPE


def test_store_variants(c):
    c.call("SADD", "a", "1", "2", "3")
    c.call("SADD", "b", "2", "3", "4", "x")
    assert c.call("SINTERSTORE", "d", "a", "b") == 2
    assert c.call("SMEMBERS", "d") == [b"2", b"3"]
    assert enc(c, "d") == b"intset"
    assert c.call("SUNIONSTORE", "d", "a", "b") == 5
    assert members(c, "d") == b("1", "2", "3", "4", "x")
    assert enc(c, "d") == b"hashtable"
    assert c.call("SDIFFSTORE", "d", "b", "a") == 2
    assert members(c, "d") == b("4", "x")
    # the destination may be a source
    assert c.call("SUNIONSTORE", "a", "a", "b") == 5
    assert members(c, "a") == b("1", "2", "3", "4", "x")
    # overwrites any type, drops the TTL
    c.call("SET", "str", "v", "EX", "100")
    assert c.call("SINTERSTORE", "str", "a", "b") == 4
    assert c.call("TYPE", "str") == "set"
    assert c.call("TTL", "str") == -1
    # an empty result deletes the destination
    c.call("SET", "dst", "v")
    assert c.call("SINTERSTORE", "dst", "a", "nokey") == 0
    assert c.call("EXISTS", "dst") == 0
    c.call("SET", "dst", "v")
    assert c.call("SDIFFSTORE", "dst", "a", "a") == 0
    assert c.call("EXISTS", "dst") == 0
    c.call("SET", "dst", "v")
    assert c.call("SUNIONSTORE", "dst", "nokey") == 0
    assert c.call("EXISTS", "dst") == 0
    c.call("SET", "dst", "v")
    assert c.call("SINTERSTORE", "dst", "a", "b", "c_missing") == 0
    assert c.call("EXISTS", "dst") == 0
    # type errors leave the destination alone
    c.call("SET", "dst", "v")
    assert c.err("SUNIONSTORE", "dst", "a", "dst") == WRONGTYPE
    assert c.err("SINTERSTORE", "dst", "nokey", "dst") == WRONGTYPE
    assert c.call("GET", "dst") == b"v"


def test_store_encodings(c):
    c.call("CONFIG", "SET", "set-max-intset-entries", "3")
    c.call("SADD", "a", "1", "2", "3", "4")
    c.call("SADD", "b", "1", "2")
    assert enc(c, "a") == b"hashtable"
    assert c.call("SINTERSTORE", "d", "a", "b") == 2
    assert enc(c, "d") == b"intset"
    assert c.call("SUNIONSTORE", "d", "a", "b") == 4
    assert enc(c, "d") == b"hashtable"


def test_sintercard(c):
    c.call("SADD", "a", "1", "2", "3", "4", "x")
    c.call("SADD", "b", "2", "3", "4", "x", "y")
    assert c.call("SINTERCARD", "2", "a", "b") == 4
    assert c.call("SINTERCARD", "1", "a") == 5
    assert c.call("SINTERCARD", "2", "a", "b", "LIMIT", "2") == 2
    assert c.call("SINTERCARD", "2", "a", "b", "limit", "0") == 4
    assert c.call("SINTERCARD", "2", "a", "b", "LIMIT", "10") == 4
    assert c.call("SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "3") == 3
    assert c.call("SINTERCARD", "2", "a", "nokey") == 0
    assert c.call("SINTERCARD", "1", "nokey") == 0
    for bad in ("0", "-1", "x"):
        assert c.err("SINTERCARD", bad, "a") == "ERR numkeys should be greater than 0"
    assert c.err("SINTERCARD", "3", "a", "b") == "ERR Number of keys can't be greater than number of args"
    assert c.err("SINTERCARD", "2", "a", "b", "LIMIT", "-1") == "ERR LIMIT can't be negative"
    assert c.err("SINTERCARD", "2", "a", "b", "LIMIT", "x") == "ERR LIMIT can't be negative"
    assert c.err("SINTERCARD", "2", "a", "b", "LIMIT") == SYNTAX
    assert c.err("SINTERCARD", "2", "a", "b", "FOO", "1") == SYNTAX
    assert c.err("SINTERCARD", "1", "a", "b") == SYNTAX
    c.call("SET", "str", "v")
    assert c.err("SINTERCARD", "2", "nokey", "str") == WRONGTYPE
    assert c.err("SINTERCARD", "2", "str", "a", "LIMIT", "-1") == "ERR LIMIT can't be negative"


def test_sscan_compact_whole(c):
    c.call("SADD", "i", *range(20))
    cur, items = c.call("SSCAN", "i", "0", "COUNT", "1")
    assert cur == b"0" and sorted(items) == b(*range(20))
    cur, items = c.call("SSCAN", "i", "0", "MATCH", "1*")
    assert cur == b"0" and sorted(items) == b(1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)
    c.call("SADD", "s", "a", "b", "c")
    assert enc(c, "s") == b"hashtable"
    cur, items = c.call("SSCAN", "i", "777")
    assert cur == b"0" and len(items) == 20
    assert c.call("SSCAN", "nokey", "0") == [b"0", []]
    assert c.call("SSCAN", "nokey", "0", "FOO") == [b"0", []]


def test_sscan_errors(c):
    c.call("SADD", "s", "a")
    assert c.err("SSCAN", "s", "x") == "ERR invalid cursor"
    assert c.err("SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert c.err("SSCAN", "s", "0", "COUNT", "x") == NOT_INT
    assert c.err("SSCAN", "s", "0", "MATCH") == SYNTAX
    assert c.err("SSCAN", "s", "0", "TYPE", "set") == SYNTAX
    c.call("SET", "str", "v")
    assert c.err("SSCAN", "str", "x") == "ERR invalid cursor"


def sscan_all(c, key, *opts):
    cursor = b"0"
    out = []
    calls = 0
    while True:
        cursor, items = c.call("SSCAN", key, cursor, *opts)
        out.extend(items)
        calls += 1
        assert calls < 10000
        if cursor == b"0":
            return out, calls


def test_sscan_hashtable_full_iteration(c):
    n = 1000
    c.call("SADD", "s", *["m%d" % i for i in range(n)])
    got, calls = sscan_all(c, "s", "COUNT", "10")
    assert calls > 1
    assert sorted(set(got)) == sorted(b"m%d" % i for i in range(n))
    got, _ = sscan_all(c, "s", "MATCH", "m1?", "COUNT", "100")
    assert sorted(set(got)) == sorted(b"m%d" % i for i in range(10, 20))


def test_sscan_while_growing_and_shrinking(c):
    n = 500
    c.call("SADD", "s", *["keep%d" % i for i in range(n)])
    c.call("SADD", "s", *["tmp%d" % i for i in range(300)])
    cursor = b"0"
    seen = set()
    rnd = 0
    while True:
        cursor, items = c.call("SSCAN", "s", cursor, "COUNT", "20")
        seen.update(items)
        c.call("SADD", "s", *["new%d_%d" % (rnd, j) for j in range(30)])
        c.call("SREM", "s", *["tmp%d" % (rnd * 10 + j) for j in range(10)])
        rnd += 1
        assert rnd < 5000
        if cursor == b"0":
            break
    assert {b"keep%d" % i for i in range(n)} <= seen


def test_resp3_shapes(server):
    c = server.raw()
    c.send(b"HELLO 3\r\n")
    c.read_available(0.3)
    c.send(b"SADD s 1\r\nSMEMBERS s\r\nSMEMBERS nokey\r\nSINTER s\r\nSUNION s nokey\r\nSDIFF s nokey\r\n")
    c.expect(b":1\r\n~1\r\n$1\r\n1\r\n~0\r\n~1\r\n$1\r\n1\r\n~1\r\n$1\r\n1\r\n~1\r\n$1\r\n1\r\n")
    c.send(b"SINTER s nokey\r\nSRANDMEMBER s 5\r\nSRANDMEMBER s -2\r\nSRANDMEMBER nokey 2\r\nSRANDMEMBER nokey\r\n")
    c.expect(b"~0\r\n*1\r\n$1\r\n1\r\n*2\r\n$1\r\n1\r\n$1\r\n1\r\n*0\r\n_\r\n")
    c.send(b"SMISMEMBER s 1 2\r\nSSCAN s 0\r\nSPOP nokey\r\nSPOP nokey 2\r\nSPOP s 0\r\n")
    c.expect(b"*2\r\n:1\r\n:0\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\n1\r\n_\r\n~0\r\n~0\r\n")
    c.send(b"SADD t 1 2\r\nSPOP t 1\r\nSPOP t 5\r\n")
    got = c.read_available(0.5)
    assert got in (
        b":2\r\n~1\r\n$1\r\n1\r\n~1\r\n$1\r\n2\r\n",
        b":2\r\n~1\r\n$1\r\n2\r\n~1\r\n$1\r\n1\r\n",
    )
    c.send(b"SADD u 1 2\r\nSPOP u 2\r\n")
    got = c.read_available(0.5)
    assert got in (b":2\r\n~2\r\n$1\r\n1\r\n$1\r\n2\r\n", b":2\r\n~2\r\n$1\r\n2\r\n$1\r\n1\r\n")


def test_resp2_shapes(server):
    c = server.raw()
    c.send(b"SADD s 1\r\nSMEMBERS s\r\nSMEMBERS nokey\r\nSPOP nokey\r\nSPOP nokey 1\r\nSRANDMEMBER nokey\r\n")
    c.expect(b":1\r\n*1\r\n$1\r\n1\r\n*0\r\n$-1\r\n*0\r\n$-1\r\n")


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
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    sub = server.client()
    sub.send("PSUBSCRIBE", "__keyevent@0__:*")
    sub.read_reply()
    c.call("SADD", "s", "a", "b", "c", "d")
    assert collect_events(sub, 2) == [("new", b"s"), ("sadd", b"s")]
    c.call("SADD", "s", "a")  # nothing added
    c.call("SREM", "s", "x")  # nothing removed
    c.call("SPOP", "nokey")
    c.call("SPOP", "s", "0")
    c.call("SMOVE", "s", "t", "x")
    assert_no_event(sub)
    c.call("SREM", "s", "a")
    assert collect_events(sub, 1) == [("srem", b"s")]
    c.call("SPOP", "s")
    assert collect_events(sub, 1) == [("spop", b"s")]
    c.call("SPOP", "s", "1")
    assert collect_events(sub, 1) == [("spop", b"s")]
    c.call("SMOVE", "s", "t", c.call("SRANDMEMBER", "s"))
    assert collect_events(sub, 4) == [("srem", b"s"), ("del", b"s"), ("new", b"t"), ("sadd", b"t")]
    c.call("SADD", "u", "1", "2")
    assert collect_events(sub, 2) == [("new", b"u"), ("sadd", b"u")]
    c.call("SADD", "t", "1")
    assert collect_events(sub, 1) == [("sadd", b"t")]
    c.call("SMOVE", "u", "t", "1")  # already in t: no sadd
    assert collect_events(sub, 1) == [("srem", b"u")]
    c.call("SINTERSTORE", "d", "t", "u")  # empty result, no d: nothing
    assert_no_event(sub)
    c.call("SUNIONSTORE", "d", "t", "u")
    assert collect_events(sub, 2) == [("new", b"d"), ("sunionstore", b"d")]
    c.call("SINTERSTORE", "d", "t", "t")
    assert collect_events(sub, 1) == [("sinterstore", b"d")]
    c.call("SDIFFSTORE", "d", "t", "u")
    assert collect_events(sub, 1) == [("sdiffstore", b"d")]
    c.call("SDIFFSTORE", "d", "t", "t")
    assert collect_events(sub, 1) == [("del", b"d")]
    c.call("SPOP", "u", "10")
    assert collect_events(sub, 2) == [("spop", b"u"), ("del", b"u")]
    c.call("SREM", "t", *[m for m in c.call("SMEMBERS", "t")])
    assert collect_events(sub, 2) == [("srem", b"t"), ("del", b"t")]
    c.call("SADD", "v", "1")
    assert collect_events(sub, 2) == [("new", b"v"), ("sadd", b"v")]
    c.call("SPOP", "v")
    assert collect_events(sub, 2) == [("spop", b"v"), ("del", b"v")]


def test_watch_invalidation(server, c):
    o = server.client()

    def watched(setup, between, key="s"):
        c.call("FLUSHALL")
        for cmd in setup:
            c.call(*cmd)
        c.call("WATCH", key)
        o.pipeline(between)
        c.call("MULTI")
        c.call("PING")
        return c.call("EXEC")

    base = [("SADD", "s", "a", "b", "1")]
    assert watched(base, [("SADD", "s", "c")]) is None
    assert watched(base, [("SREM", "s", "a")]) is None
    assert watched(base, [("SPOP", "s")]) is None
    assert watched(base, [("SPOP", "s", "2")]) is None
    assert watched(base, [("SMOVE", "s", "t", "a")]) is None
    assert watched(base, [("SMOVE", "t", "s", "a")], key="s") == ["PONG"]  # missing source
    assert watched(base + [("SADD", "t", "z")], [("SMOVE", "t", "s", "z")]) is None
    assert watched(base, [("SINTERSTORE", "s", "s", "s")]) is None
    assert watched(base, [("SUNIONSTORE", "d", "s")], key="d") is None
    assert watched(base + [("SADD", "d", "x")], [("SDIFFSTORE", "d", "s", "s")], key="d") is None
    assert watched([], [("SADD", "s", "a")]) is None
    # no change: the transaction runs
    assert watched(base, [("SADD", "s", "a")]) == ["PONG"]
    assert watched(base, [("SREM", "s", "x")]) == ["PONG"]
    assert watched(base, [("SPOP", "s", "0")]) == ["PONG"]
    assert watched(base, [("SMOVE", "s", "t", "x")]) == ["PONG"]
    assert watched(base, [("SMEMBERS", "s"), ("SRANDMEMBER", "s", "2"), ("SSCAN", "s", "0")]) == ["PONG"]
    assert watched(base, [("SINTERSTORE", "d", "s", "nokey")], key="d") == ["PONG"]


def test_dirty_counts(c):
    def dirty():
        raw = c.call("INFO", "persistence").decode()
        return int(raw.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    d = dirty()
    c.call("SADD", "s", "a", "b", "c", "a")
    assert dirty() == d + 3
    c.call("SREM", "s", "a", "x")
    assert dirty() == d + 4
    c.call("SPOP", "s")
    assert dirty() == d + 5
    c.call("SADD", "s", "1", "2", "3", "4")
    d = dirty()
    c.call("SPOP", "s", "2")
    assert dirty() == d + 2
    left = c.call("SCARD", "s")
    c.call("SPOP", "s", "10")
    assert dirty() == d + 2 + left
    c.call("SADD", "a", "1", "2")
    d = dirty()
    c.call("SMOVE", "a", "b", "1")
    assert dirty() == d + 2
    c.call("SADD", "b", "2")
    d = dirty()
    c.call("SMOVE", "a", "b", "2")
    assert dirty() == d + 1
    c.call("SUNIONSTORE", "d", "b")
    assert dirty() == d + 2


def test_type_object_and_multi(c):
    c.call("SADD", "s", "a")
    assert c.call("TYPE", "s") == "set"
    assert c.err("GET", "s") == WRONGTYPE
    assert c.err("HSET", "s", "f", "v") == WRONGTYPE
    c.call("MULTI")
    c.call("SADD", "m", "1", "2")
    c.call("SISMEMBER", "m", "2")
    c.call("SMEMBERS", "m")
    assert c.call("EXEC") == [2, 1, [b"1", b"2"]]


def test_many_members(c):
    n = 5000
    c.pipeline([("SADD", "s", "m%d" % i) for i in range(n)])
    assert c.call("SCARD", "s") == n
    assert c.pipeline([("SISMEMBER", "s", "m%d" % i) for i in range(0, n, 101)]) == [1] * len(range(0, n, 101))
    c.pipeline([("SREM", "s", "m%d" % i) for i in range(0, n, 2)])
    assert c.call("SCARD", "s") == n // 2
    assert c.call("SISMEMBER", "s", "m1") == 1 and c.call("SISMEMBER", "s", "m2") == 0


@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_digest_copy_rename(c):
    c.call("SADD", "s", "1", "2", "3")
    c.call("SADD", "t", "a", "b", "7")
    c.call("HSET", "h", "a", "1", "b", "2")
    # Redis 7.0's digests: they depend on the content only, not the encoding
    assert c.call("DEBUG", "DIGEST-VALUE", "s", "t", "h") == [
        "2a462a3f51a1db89738ebbeef0c47ce1bbc85246",
        "4db2915dc242371e719444ddc8b328e38ac18e1c",
        "6c8f22b3bf510fdcfd6122dd0f908a80e88243bf",
    ]
    assert c.call("DEBUG", "DIGEST") == "438f8d082e861bb5dfe3eafe8a226a3047b43155"
    c.call("SADD", "s2", "x", "1", "2", "3")
    c.call("SREM", "s2", "x")
    assert enc(c, "s2") == b"hashtable"
    c.call("CONFIG", "SET", "hash-max-listpack-entries", "0")
    c.call("HSET", "h2", "b", "2", "a", "1")
    assert enc(c, "h2") == b"hashtable"
    assert c.call("DEBUG", "DIGEST-VALUE", "s2", "h2") == [
        "2a462a3f51a1db89738ebbeef0c47ce1bbc85246",
        "6c8f22b3bf510fdcfd6122dd0f908a80e88243bf",
    ]
    for key in ("s", "t", "h", "s2", "h2"):
        assert c.call("MEMORY", "USAGE", key) > 0
    # copies are independent
    assert c.call("COPY", "s", "sc") == 1
    c.call("SADD", "sc", "4")
    assert c.call("SMEMBERS", "s") == [b"1", b"2", b"3"]
    assert c.call("COPY", "h", "hc") == 1
    c.call("HSET", "hc", "a", "changed")
    assert c.call("HGET", "h", "a") == b"1"
    assert c.call("RENAME", "t", "t2") == "OK"
    assert sorted(c.call("SMEMBERS", "t2")) == [b"7", b"a", b"b"]
    assert enc(c, "t2") == b"hashtable"
