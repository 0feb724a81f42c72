"""Generic keyspace commands."""

import time

import pytest

from helpers import wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


def test_del_unlink_exists(c):
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    assert c.call("DEL", "a", "b", "nokey") == 2
    assert c.call("DEL", "a") == 0
    assert c.call("UNLINK", "c", "nokey") == 1
    c.call("MSET", "a", "1", "b", "2")
    assert c.call("EXISTS", "a", "a", "b", "nokey") == 3
    assert c.call("EXISTS", "nokey") == 0
    c.call("RPUSH", "l", "x")
    assert c.call("DEL", "l") == 1
    assert c.err("DEL") == arity("del")
    assert c.err("UNLINK") == arity("unlink")
    assert c.err("EXISTS") == arity("exists")


def test_type(c):
    c.call("SET", "s", "v")
    c.call("RPUSH", "l", "v")
    assert c.call("TYPE", "s") == "string"
    assert c.call("TYPE", "l") == "list"
    assert c.call("TYPE", "nokey") == "none"
    assert c.err("TYPE") == arity("type")


def test_rename(c):
    c.call("SET", "a", "1")
    c.call("SET", "t", "v", "EX", "100")
    assert c.call("RENAME", "a", "a2") == "OK"
    assert c.call("EXISTS", "a") == 0
    assert c.call("GET", "a2") == b"1"
    assert c.err("RENAME", "nokey", "x") == "ERR no such key"
    assert c.err("RENAME", "nokey", "nokey") == "ERR no such key"
    assert c.call("RENAME", "a2", "a2") == "OK"
    assert c.call("GET", "a2") == b"1"
    # TTL moves with the key; the destination's old TTL is dropped
    assert c.call("RENAME", "t", "t2") == "OK"
    assert c.call("TTL", "t2") == 100
    c.call("SET", "dst", "old", "EX", "500")
    c.call("SET", "src", "new")
    assert c.call("RENAME", "src", "dst") == "OK"
    assert c.call("GET", "dst") == b"new"
    assert c.call("TTL", "dst") == -1
    # overwrites other types
    c.call("RPUSH", "l", "x")
    assert c.call("RENAME", "dst", "l") == "OK"
    assert c.call("TYPE", "l") == "string"


def test_renamenx(c):
    c.call("MSET", "a", "1", "b", "2")
    assert c.call("RENAMENX", "a", "b") == 0
    assert c.call("GET", "a") == b"1"
    assert c.call("RENAMENX", "a", "c") == 1
    assert c.call("EXISTS", "a") == 0
    assert c.call("RENAMENX", "c", "c") == 0
    assert c.err("RENAMENX", "nokey", "x") == "ERR no such key"


def test_keys_patterns(c):
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h[ae]llo", "a", "b", "c", "a?"]
    c.call("MSET", *[x for n in names for x in (n, "1")])

    def keys(p):
        return sorted(c.call("KEYS", p))

    assert keys("*") == sorted(n.encode() for n in names)
    assert keys("h?llo") == [b"h*llo", b"hallo", b"hello", b"hxllo"]
    assert keys("h*llo") == sorted([b"hallo", b"heeeello", b"h[ae]llo", b"h*llo", b"hllo", b"hello", b"hxllo"])
    assert keys("h[ae]llo") == [b"hallo", b"hello"]
    assert keys("h[^e]llo") == [b"h*llo", b"hallo", b"hxllo"]
    assert keys("h[a-b]llo") == [b"hallo"]
    assert keys("h\\*llo") == [b"h*llo"]
    assert keys("h\\[ae\\]llo") == [b"h[ae]llo"]
    assert keys("[a-c]") == [b"a", b"b", b"c"]
    assert keys("[c-a]") == [b"a", b"b", b"c"]  # reversed ranges work
    assert keys("a\\?") == [b"a?"]
    assert keys("[!a]") == [b"a"]  # '!' is not negation
    assert keys("nomatch") == []
    assert c.err("KEYS") == arity("keys")


def test_keys_skips_expired(c):
    c.call("SET", "live", "1")
    c.call("SET", "dead", "1", "PX", "1")
    wait_until(lambda: c.call("KEYS", "*") == [b"live"], 3)


def test_randomkey_dbsize(c):
    assert c.call("RANDOMKEY") is None
    assert c.call("DBSIZE") == 0
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    assert c.call("DBSIZE") == 3
    seen = set()
    for _ in range(100):
        k = c.call("RANDOMKEY")
        assert k in (b"a", b"b", b"c")
        seen.add(k)
    assert len(seen) >= 2
    assert c.err("DBSIZE", "x") == arity("dbsize")


def scan_all(c, *opts, count=None):
    cursor = b"0"
    out = []
    calls = 0
    while True:
        args = ["SCAN", cursor, *opts]
        if count:
            args += ["COUNT", count]
        cur, keys = c.call(*args)
        assert isinstance(cur, bytes) and cur.isdigit()
        out.extend(keys)
        calls += 1
        assert calls < 100000
        if cur == b"0":
            return out, calls
        cursor = cur


def test_scan_full_iteration(c):
    n = 1000
    c.pipeline([("SET", "key:%d" % i, i) for i in range(n)])
    # lookups let an incremental rehash (if any) finish before scanning
    assert c.pipeline([("EXISTS", "key:%d" % i) for i in range(n)]) == [1] * n
    keys, calls = scan_all(c, count=10)
    assert set(keys) == {b"key:%d" % i for i in range(n)}
    # no rehashing happened during the scan: every key exactly once
    assert len(keys) == n
    assert calls > 1


def test_scan_reply_shape(c):
    c.call("SET", "a", "1")
    assert c.call("SCAN", "0") == [b"0", [b"a"]]
    c.call("FLUSHALL")
    assert c.call("SCAN", "0") == [b"0", []]


def test_scan_match_type(c):
    cmds = [("SET", "user:%d" % i, i) for i in range(200)]
    cmds += [("SET", "other:%d" % i, i) for i in range(200)]
    cmds += [("RPUSH", "list:%d" % i, i) for i in range(50)]
    c.pipeline(cmds)
    keys, _ = scan_all(c, "MATCH", "user:*", count=20)
    assert set(keys) == {b"user:%d" % i for i in range(200)}
    keys, _ = scan_all(c, "TYPE", "list", count=20)
    assert set(keys) == {b"list:%d" % i for i in range(50)}
    keys, _ = scan_all(c, "MATCH", "*:1?", "TYPE", "string")
    assert set(keys) == {b"user:1%d" % i for i in range(10)} | {b"other:1%d" % i for i in range(10)}
    keys, _ = scan_all(c, "TYPE", "hash")
    assert keys == []
    keys, _ = scan_all(c, "TYPE", "foo")
    assert keys == []


def test_scan_keys_present_throughout_are_returned(c):
    stable = {b"stable:%d" % i for i in range(500)}
    c.pipeline([("SET", k, "1") for k in stable])
    cursor = b"0"
    seen = []
    i = 0
    while True:
        cursor, keys = c.call("SCAN", cursor, "COUNT", "20")
        seen.extend(keys)
        # churn: add and remove other keys during the iteration (causes rehashing)
        c.pipeline([("SET", "churn:%d:%d" % (i, j), "1") for j in range(30)])
        if i > 0:
            c.pipeline([("DEL", "churn:%d:%d" % (i - 1, j)) for j in range(0, 30, 2)])
        i += 1
        if cursor == b"0":
            break
        assert i < 10000
    assert stable <= set(seen)


def test_scan_errors(c):
    assert c.err("SCAN", "0", "COUNT", "0") == SYNTAX
    assert c.err("SCAN", "0", "COUNT", "-1") == SYNTAX
    assert c.err("SCAN", "0", "COUNT", "x") == NOT_INT
    assert c.err("SCAN", "x") == "ERR invalid cursor"
    assert c.err("SCAN", "18446744073709551616") == "ERR invalid cursor"
    for bad in ("+", "-", " 0", "0 ", "1x", "-18446744073709551616"):
        assert c.err("SCAN", bad) == "ERR invalid cursor"
    assert c.err("SCAN", "0", "MATCH") == SYNTAX
    assert c.err("SCAN", "0", "FOO", "bar") == SYNTAX
    assert c.err("SCAN") == arity("scan")


def test_expire_and_ttl(c):
    c.call("SET", "a", "1")
    assert c.call("TTL", "a") == -1
    assert c.call("PTTL", "a") == -1
    assert c.call("TTL", "nokey") == -2
    assert c.call("PTTL", "nokey") == -2
    assert c.call("EXPIRE", "a", "100") == 1
    assert c.call("TTL", "a") == 100
    assert 99000 < c.call("PTTL", "a") <= 100000
    assert c.call("PEXPIRE", "a", "50000") == 1
    assert c.call("TTL", "a") == 50
    assert c.call("EXPIRE", "nokey", "100") == 0
    assert c.call("PEXPIRE", "nokey", "100") == 0
    now = int(time.time())
    assert c.call("EXPIREAT", "a", now + 1000) == 1
    assert 998 <= c.call("TTL", "a") <= 1000
    assert c.call("PEXPIREAT", "a", (now + 2000) * 1000) == 1
    assert 1998 <= c.call("TTL", "a") <= 2000
    assert c.call("EXPIREAT", "nokey", now + 10) == 0
    assert c.err("EXPIRE", "a", "x") == NOT_INT
    assert c.err("EXPIRE", "a") == arity("expire")
    assert c.err("EXPIRE", "a", "9223372036854775807") == "ERR invalid expire time in 'expire' command"
    assert c.err("EXPIRE", "a", "9223372036854775") == "ERR invalid expire time in 'expire' command"
    assert c.err("EXPIRE", "a", "-9223372036854775808") == "ERR invalid expire time in 'expire' command"
    assert c.err("PEXPIRE", "a", "9223372036854775807") == "ERR invalid expire time in 'pexpire' command"
    assert c.err("EXPIREAT", "a", "9223372036854775807") == "ERR invalid expire time in 'expireat' command"
    assert c.call("EXPIRE", "a", "922337203685477") == 1
    assert c.call("TTL", "a") == 922337203685477


def test_expire_zero_or_negative_deletes(c):
    for args in (("EXPIRE", "0"), ("EXPIRE", "-5"), ("PEXPIRE", "-1"), ("EXPIREAT", "1"), ("PEXPIREAT", "1")):
        c.call("SET", "k", "v")
        assert c.call(args[0], "k", args[1]) == 1
        assert c.call("EXISTS", "k") == 0


def test_expire_options(c):
    c.call("SET", "a", "1")
    # no TTL: NX ok, XX no, GT no (no TTL is infinite), LT yes
    assert c.call("EXPIRE", "a", "100", "XX") == 0
    assert c.call("EXPIRE", "a", "100", "GT") == 0
    assert c.call("EXPIRE", "a", "100", "NX") == 1
    assert c.call("EXPIRE", "a", "100", "NX") == 0
    assert c.call("EXPIRE", "a", "50", "XX") == 1
    assert c.call("TTL", "a") == 50
    assert c.call("EXPIRE", "a", "10", "GT") == 0
    assert c.call("EXPIRE", "a", "60", "GT") == 1
    assert c.call("EXPIRE", "a", "70", "LT") == 0
    assert c.call("EXPIRE", "a", "10", "lt") == 1
    assert c.call("TTL", "a") == 10
    c.call("PERSIST", "a")
    assert c.call("EXPIRE", "a", "10", "LT") == 1
    assert c.call("PEXPIRE", "a", "20000", "GT") == 1
    assert c.call("TTL", "a") == 20
    now = int(time.time())
    assert c.call("EXPIREAT", "a", now + 5, "GT") == 0
    assert c.call("PEXPIREAT", "a", (now + 5) * 1000, "LT") == 1
    assert c.err("EXPIRE", "a", "10", "NX", "XX") == (
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    )
    assert c.err("EXPIRE", "a", "10", "NX", "GT") == (
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    )
    assert c.err("EXPIRE", "a", "10", "GT", "LT") == "ERR GT and LT options at the same time are not compatible"
    assert c.err("EXPIRE", "a", "10", "FOO") == "ERR Unsupported option FOO"
    assert c.err("PEXPIREAT", "a", "10", "bar") == "ERR Unsupported option bar"


def test_expiretime(c):
    c.call("SET", "b", "1")
    assert c.call("EXPIRETIME", "b") == -1
    assert c.call("PEXPIRETIME", "b") == -1
    assert c.call("EXPIRETIME", "nokey") == -2
    assert c.call("PEXPIRETIME", "nokey") == -2
    assert c.call("EXPIREAT", "b", "4000000000") == 1
    assert c.call("EXPIRETIME", "b") == 4000000000
    assert c.call("PEXPIRETIME", "b") == 4000000000000
    assert c.call("PEXPIREAT", "b", "4000000000123") == 1
    assert c.call("EXPIRETIME", "b") == 4000000000
    assert c.call("PEXPIRETIME", "b") == 4000000000123
    c.call("SET", "c", "1", "EX", "100")
    assert abs(c.call("EXPIRETIME", "c") - (int(time.time()) + 100)) <= 2


def test_persist(c):
    c.call("SET", "a", "1", "EX", "100")
    assert c.call("PERSIST", "a") == 1
    assert c.call("TTL", "a") == -1
    assert c.call("PERSIST", "a") == 0
    assert c.call("PERSIST", "nokey") == 0


def test_touch(c):
    c.call("MSET", "a", "1", "b", "2")
    assert c.call("TOUCH", "a", "b", "nokey", "a") == 3
    assert c.err("TOUCH") == arity("touch")


def test_copy(c):
    c.call("SET", "a", "1")
    c.call("EXPIRE", "a", "100")
    assert c.call("COPY", "a", "b") == 1
    assert c.call("GET", "b") == b"1"
    assert c.call("TTL", "b") == 100
    assert c.call("COPY", "a", "b") == 0
    c.call("SET", "a", "2", "KEEPTTL")
    assert c.call("COPY", "a", "b", "REPLACE") == 1
    assert c.call("GET", "b") == b"2"
    assert c.call("COPY", "nokey", "b") == 0
    assert c.call("COPY", "a", "a", "DB", "1") == 1
    c.call("SELECT", "1")
    assert c.call("GET", "a") == b"2"
    assert c.call("TTL", "a") == 100
    c.call("SELECT", "0")
    # the copy is independent
    c.call("APPEND", "b", "x")
    assert c.call("GET", "a") == b"2"
    c.call("RPUSH", "l", "x", "y")
    assert c.call("COPY", "l", "l2") == 1
    assert c.call("TYPE", "l2") == "list"
    assert c.err("COPY", "a", "a") == "ERR source and destination objects are the same"
    assert c.err("COPY", "a", "a", "DB", "0") == "ERR source and destination objects are the same"
    assert c.err("COPY", "a", "c", "DB", "16") == "ERR DB index is out of range"
    assert c.err("COPY", "a", "c", "DB", "x") == NOT_INT
    assert c.err("COPY", "a", "c", "FOO") == SYNTAX
    assert c.err("COPY", "a", "c", "DB") == SYNTAX
    assert c.err("COPY", "a") == arity("copy")


def test_move(c):
    c.call("SET", "a", "1", "EX", "100")
    assert c.call("MOVE", "a", "1") == 1
    assert c.call("EXISTS", "a") == 0
    c.call("SELECT", "1")
    assert c.call("GET", "a") == b"1"
    assert c.call("TTL", "a") == 100
    c.call("SELECT", "0")
    c.call("SET", "a", "0")
    assert c.call("MOVE", "a", "1") == 0  # exists in target
    assert c.call("GET", "a") == b"0"
    assert c.call("MOVE", "nokey", "1") == 0
    assert c.err("MOVE", "a", "0") == "ERR source and destination objects are the same"
    assert c.err("MOVE", "a", "16") == "ERR DB index is out of range"
    assert c.err("MOVE", "a", "-1") == "ERR DB index is out of range"
    assert c.err("MOVE", "a", "x") == NOT_INT


def test_swapdb(server, c):
    other = server.client()
    other.call("SELECT", "1")
    c.call("SET", "in0", "1")
    other.call("MSET", "in1", "1", "x", "2")
    assert c.call("SWAPDB", "0", "1") == "OK"
    assert c.call("DBSIZE") == 2
    assert c.call("GET", "in1") == b"1"
    assert other.call("DBSIZE") == 1
    assert other.call("GET", "in0") == b"1"
    assert c.call("SWAPDB", "0", "0") == "OK"
    assert c.err("SWAPDB", "0", "16") == "ERR DB index is out of range"
    assert c.err("SWAPDB", "-1", "0") == "ERR DB index is out of range"
    assert c.err("SWAPDB", "x", "0") == "ERR invalid first DB index"
    assert c.err("SWAPDB", "0", "x") == "ERR invalid second DB index"
    assert c.err("SWAPDB", "0") == arity("swapdb")


def test_flushdb_flushall(c):
    c.call("SET", "a", "1")
    c.call("SELECT", "1")
    c.call("SET", "b", "1")
    assert c.call("FLUSHDB") == "OK"
    assert c.call("DBSIZE") == 0
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == 1
    for mode in ("ASYNC", "SYNC", "async"):
        c.call("SET", "x", "1")
        assert c.call("FLUSHDB", mode) == "OK"
        assert c.call("DBSIZE") == 0
    c.call("SET", "a", "1")
    c.call("SELECT", "5")
    c.call("SET", "b", "1")
    assert c.call("FLUSHALL") == "OK"
    assert c.call("DBSIZE") == 0
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == 0
    for mode in ("ASYNC", "SYNC"):
        c.call("SET", "x", "1")
        assert c.call("FLUSHALL", mode) == "OK"
        assert c.call("DBSIZE") == 0
    assert c.err("FLUSHDB", "FOO") == SYNTAX
    assert c.err("FLUSHDB", "a", "b") == SYNTAX
    assert c.err("FLUSHALL", "x") == SYNTAX
    assert c.err("FLUSHALL", "SYNC", "ASYNC") == SYNTAX


def test_object_refcount_idletime_freq(c):
    c.call("SET", "shared", "1")
    c.call("SET", "s", "hello")
    assert c.call("OBJECT", "REFCOUNT", "shared") == 2147483647  # shared integer object
    assert c.call("OBJECT", "REFCOUNT", "s") == 1
    assert c.call("OBJECT", "IDLETIME", "s") == 0
    assert c.err("OBJECT", "FREQ", "s") == (
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust."
    )
    for sub in ("ENCODING", "REFCOUNT", "IDLETIME", "FREQ"):
        assert c.call("OBJECT", sub, "nokey") is None
    c.call("RPUSH", "l", "a")
    assert c.call("OBJECT", "ENCODING", "l") == b"quicklist"


def test_object_idletime_grows(c):
    c.call("SET", "s", "v")
    wait_until(lambda: c.call("OBJECT", "IDLETIME", "s") >= 1, 5)
    # OBJECT itself does not touch the key, GET does
    assert c.call("OBJECT", "IDLETIME", "s") >= 1
    c.call("GET", "s")
    assert c.call("OBJECT", "IDLETIME", "s") == 0


@pytest.mark.server(args=["--maxmemory-policy", "allkeys-lfu"])
def test_object_freq_with_lfu(c):
    c.call("SET", "s", "v")
    f = c.call("OBJECT", "FREQ", "s")
    assert isinstance(f, int) and f >= 0
    for _ in range(200):
        c.call("GET", "s")
    assert c.call("OBJECT", "FREQ", "s") > f
    assert c.err("OBJECT", "IDLETIME", "s") == (
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        "switching between policies at runtime LRU and LFU data will take some time to adjust."
    )


def test_object_errors_and_help(c):
    assert c.err("OBJECT", "FOO") == "ERR unknown subcommand 'FOO'. Try OBJECT HELP."
    assert c.err("OBJECT", "FOO", "s") == "ERR unknown subcommand 'FOO'. Try OBJECT HELP."
    assert c.err("OBJECT") == arity("object")
    assert c.err("OBJECT", "ENCODING") == arity("object|encoding")
    assert c.err("OBJECT", "ENCODING", "a", "b") == arity("object|encoding")
    h = c.call("OBJECT", "HELP")
    assert h[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "ENCODING <key>" in h and "FREQ <key>" in h and "IDLETIME <key>" in h
    assert "REFCOUNT <key>" in h and h[-2:] == ["HELP", "    Prints this help."]


def test_wrongtype_on_list_key(c):
    c.call("RPUSH", "l", "a")
    for cmd in (("GET", "l"), ("APPEND", "l", "x"), ("INCR", "l"), ("GETRANGE", "l", "0", "1"),
                ("SETRANGE", "l", "0", "x"), ("GETDEL", "l"), ("GETEX", "l"), ("STRLEN", "l")):
        assert c.err(*cmd) == WRONGTYPE
    # generic commands work on any type
    assert c.call("EXISTS", "l") == 1
    assert c.call("EXPIRE", "l", "100") == 1
    assert c.call("RENAME", "l", "l2") == "OK"
