"""String commands with Redis 7.0's exact replies and error texts."""

import time

import pytest

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


@pytest.fixture
def lst(c):
    """A list key 'l' (for WRONGTYPE checks)."""
    assert c.call("RPUSH", "l", "a") == 1
    return "l"


def test_get_set_basic(c):
    assert c.call("GET", "k") is None
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("GET", "k") == b"v"
    assert c.call("SET", "k", "") == "OK"
    assert c.call("GET", "k") == b""
    binary = bytes(range(256)) * 4
    assert c.call("SET", b"bin\x00key", binary) == "OK"
    assert c.call("GET", b"bin\x00key") == binary
    big = b"x" * (1 << 20)
    assert c.call("SET", "big", big) == "OK"
    assert c.call("GET", "big") == big
    assert c.err("GET") == arity("get")
    assert c.err("GET", "a", "b") == arity("get")
    assert c.err("SET", "k") == arity("set")


def test_get_set_raw_wire(server):
    raw = server.raw()
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    raw.expect(b"$5\r\nhello\r\n")
    raw.send(b"*2\r\n$3\r\nGET\r\n$2\r\nno\r\n")
    raw.expect(b"$-1\r\n")


def test_set_nx_xx(c):
    assert c.call("SET", "k", "v1", "NX") == "OK"
    assert c.call("SET", "k", "v2", "NX") is None
    assert c.call("GET", "k") == b"v1"
    assert c.call("SET", "k", "v3", "XX") == "OK"
    assert c.call("GET", "k") == b"v3"
    assert c.call("SET", "nokey", "v", "XX") is None
    assert c.call("EXISTS", "nokey") == 0
    assert c.call("SET", "k", "v", "nx", "nx") is None  # repeated flag is fine


def test_set_get_option(c, lst):
    assert c.call("SET", "k", "v", "GET") is None
    assert c.call("SET", "k", "v2", "GET") == b"v"
    assert c.call("SET", "k", "v3", "NX", "GET") == b"v2"
    assert c.call("GET", "k") == b"v2"
    assert c.call("SET", "k2", "x", "NX", "GET") is None
    assert c.call("GET", "k2") == b"x"
    assert c.call("SET", "k2", "y", "XX", "GET") == b"x"
    assert c.call("SET", "nokey", "v", "XX", "GET") is None
    assert c.call("EXISTS", "nokey") == 0
    assert c.err("SET", lst, "x", "GET") == WRONGTYPE
    # the list is untouched
    assert c.call("TYPE", lst) == "list"
    # without GET, SET overwrites any type
    assert c.call("SET", lst, "x") == "OK"
    assert c.call("TYPE", lst) == "string"


def test_set_expire_options(c):
    assert c.call("SET", "k", "v", "EX", "100") == "OK"
    assert c.call("TTL", "k") == 100
    assert c.call("SET", "k", "v", "PX", "100000") == "OK"
    assert 99000 < c.call("PTTL", "k") <= 100000
    now = int(time.time())
    assert c.call("SET", "k", "v", "EXAT", now + 100) == "OK"
    assert 98 <= c.call("TTL", "k") <= 100
    assert c.call("SET", "k", "v", "PXAT", (now + 100) * 1000) == "OK"
    assert 98 <= c.call("TTL", "k") <= 100
    # plain SET clears the TTL
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("TTL", "k") == -1
    # KEEPTTL keeps it
    c.call("SET", "k", "v", "EX", "100")
    assert c.call("SET", "k", "v2", "KEEPTTL") == "OK"
    assert c.call("TTL", "k") == 100
    assert c.call("SET", "k", "v3", "KEEPTTL", "GET") == b"v2"
    assert c.call("TTL", "k") == 100
    # last of a repeated option wins
    assert c.call("SET", "k", "v", "EX", "10", "EX", "20") == "OK"
    assert c.call("TTL", "k") == 20
    # NX fails -> TTL untouched
    assert c.call("SET", "k", "v", "NX", "EX", "500") is None
    assert c.call("TTL", "k") == 20
    # lowercase options
    assert c.call("SET", "k", "v", "xx", "px", "5000") == "OK"
    assert 4000 < c.call("PTTL", "k") <= 5000


def test_set_with_past_absolute_time_deletes(c):
    c.call("SET", "k", "old")
    assert c.call("SET", "k", "v", "EXAT", "10") == "OK"
    assert c.call("EXISTS", "k") == 0
    assert c.call("SET", "k2", "v", "PXAT", "1", "GET") is None
    assert c.call("EXISTS", "k2") == 0


def test_set_option_errors(c):
    e = "ERR invalid expire time in 'set' command"
    assert c.err("SET", "k", "v", "NX", "XX") == SYNTAX
    assert c.err("SET", "k", "v", "EX", "10", "PX", "100") == SYNTAX
    assert c.err("SET", "k", "v", "PXAT", "10", "EXAT", "10") == SYNTAX
    assert c.err("SET", "k", "v", "KEEPTTL", "EX", "10") == SYNTAX
    assert c.err("SET", "k", "v", "EX", "10", "KEEPTTL") == SYNTAX
    assert c.err("SET", "k", "v", "FOO") == SYNTAX
    assert c.err("SET", "k", "v", "EX") == SYNTAX
    assert c.err("SET", "k", "v", "EX", "0") == e
    assert c.err("SET", "k", "v", "EX", "-1") == e
    assert c.err("SET", "k", "v", "PX", "0") == e
    assert c.err("SET", "k", "v", "EXAT", "0") == e
    assert c.err("SET", "k", "v", "PXAT", "-5") == e
    assert c.err("SET", "k", "v", "EX", "x") == NOT_INT
    assert c.err("SET", "k", "v", "EX", "1.5") == NOT_INT
    # overflow when converted to milliseconds / added to now
    assert c.err("SET", "k", "v", "EX", "9223372036854775807") == e
    assert c.err("SET", "k", "v", "EX", "922337203685477580") == e
    assert c.err("SET", "k", "v", "PX", "9223372036854775807") == e
    assert c.err("SET", "k", "v", "EXAT", "9223372036854775807") == e
    assert c.call("EXISTS", "k") == 0


def test_setnx_setex_psetex(c):
    assert c.call("SETNX", "k", "v") == 1
    assert c.call("SETNX", "k", "v2") == 0
    assert c.call("GET", "k") == b"v"
    assert c.call("SETEX", "k", "10", "v3") == "OK"
    assert c.call("GET", "k") == b"v3"
    assert c.call("TTL", "k") == 10
    assert c.call("PSETEX", "p", "1000", "v") == "OK"
    assert 900 < c.call("PTTL", "p") <= 1000
    assert c.err("SETEX", "k", "0", "v") == "ERR invalid expire time in 'setex' command"
    assert c.err("SETEX", "k", "-1", "v") == "ERR invalid expire time in 'setex' command"
    assert c.err("SETEX", "k", "x", "v") == NOT_INT
    assert c.err("PSETEX", "k", "0", "v") == "ERR invalid expire time in 'psetex' command"
    assert c.err("SETEX", "k", "10") == arity("setex")
    assert c.err("SETNX", "k") == arity("setnx")


def test_mget_mset_msetnx(c, lst):
    assert c.call("MSET", "a", "1", "b", "2") == "OK"
    assert c.call("MGET", "a", "b", "nokey", lst) == [b"1", b"2", None, None]
    assert c.err("MSET", "a") == arity("mset")
    assert c.err("MSET", "a", "1", "b") == arity("mset")
    assert c.err("MGET") == arity("mget")
    assert c.call("MSETNX", "a", "x", "c", "3") == 0
    assert c.call("EXISTS", "c") == 0
    assert c.call("GET", "a") == b"1"
    assert c.call("MSETNX", "c", "3", "d", "4") == 1
    assert c.call("MGET", "c", "d") == [b"3", b"4"]
    # same key twice: last value wins
    assert c.call("MSETNX", "e", "1", "e", "2") == 1
    assert c.call("GET", "e") == b"2"
    assert c.call("MSET", "e", "1", "e", "3") == "OK"
    assert c.call("GET", "e") == b"3"
    # MSET clears TTLs
    c.call("SET", "t", "v", "EX", "100")
    c.call("MSET", "t", "w")
    assert c.call("TTL", "t") == -1
    assert c.err("MSETNX", "a") == arity("msetnx")


def test_getset_getdel(c, lst):
    assert c.call("GETSET", "k", "1") is None
    assert c.call("GETSET", "k", "2") == b"1"
    assert c.call("GET", "k") == b"2"
    c.call("EXPIRE", "k", "100")
    assert c.call("GETSET", "k", "3") == b"2"
    assert c.call("TTL", "k") == -1
    assert c.err("GETSET", lst, "x") == WRONGTYPE
    assert c.call("GETDEL", "k") == b"3"
    assert c.call("GETDEL", "k") is None
    assert c.call("EXISTS", "k") == 0
    assert c.err("GETDEL", lst) == WRONGTYPE


def test_getex(c, lst):
    c.call("SET", "k", "v")
    assert c.call("GETEX", "k") == b"v"
    assert c.call("TTL", "k") == -1
    assert c.call("GETEX", "k", "EX", "100") == b"v"
    assert c.call("TTL", "k") == 100
    assert c.call("GETEX", "k", "PX", "50000") == b"v"
    assert 49000 < c.call("PTTL", "k") <= 50000
    assert c.call("GETEX", "k", "EXAT", int(time.time()) + 200) == b"v"
    assert 198 <= c.call("TTL", "k") <= 200
    assert c.call("GETEX", "k", "PERSIST") == b"v"
    assert c.call("TTL", "k") == -1
    assert c.err("GETEX", "k", "PX", "0") == "ERR invalid expire time in 'getex' command"
    assert c.err("GETEX", "k", "EX", "-1") == "ERR invalid expire time in 'getex' command"
    assert c.err("GETEX", "k", "EX", "10", "PX", "10") == SYNTAX
    assert c.err("GETEX", "k", "KEEPTTL") == SYNTAX
    assert c.err("GETEX", "k", "FOO") == SYNTAX
    assert c.err("GETEX", "k", "EX") == SYNTAX
    assert c.err("GETEX", "k", "EX", "ab") == NOT_INT
    assert c.call("GETEX", "nokey", "EX", "10") is None
    assert c.call("EXISTS", "nokey") == 0
    assert c.err("GETEX", lst) == WRONGTYPE
    # absolute time in the past deletes the key, but returns the value
    assert c.call("GETEX", "k", "EXAT", "1") == b"v"
    assert c.call("EXISTS", "k") == 0


def test_append_strlen(c, lst):
    assert c.call("APPEND", "a", "hello") == 5
    assert c.call("APPEND", "a", " world") == 11
    assert c.call("GET", "a") == b"hello world"
    assert c.call("STRLEN", "a") == 11
    assert c.call("STRLEN", "nokey") == 0
    c.call("SET", "n", "1")
    assert c.call("APPEND", "n", "2") == 2
    assert c.call("GET", "n") == b"12"
    assert c.call("STRLEN", "n") == 2
    c.call("SET", "i", "12345")
    assert c.call("STRLEN", "i") == 5
    assert c.err("APPEND", lst, "x") == WRONGTYPE
    assert c.err("STRLEN", lst) == WRONGTYPE
    assert c.call("APPEND", "e", "") == 0
    assert c.call("EXISTS", "e") == 1


def test_incr_decr(c, lst):
    assert c.call("INCR", "n") == 1
    assert c.call("INCR", "n") == 2
    assert c.call("DECR", "n") == 1
    assert c.call("INCRBY", "n", "10") == 11
    assert c.call("DECRBY", "n", "5") == 6
    assert c.call("INCRBY", "n", "-10") == -4
    assert c.call("DECR", "new") == -1
    assert c.call("GET", "n") == b"-4"
    c.call("SET", "t", "5")
    c.call("EXPIRE", "t", "100")
    assert c.call("INCR", "t") == 6
    assert c.call("TTL", "t") == 100  # INCR keeps the TTL
    assert c.err("INCR", lst) == WRONGTYPE
    assert c.err("INCR", "a", "b") == arity("incr")
    assert c.err("INCRBY", "n") == arity("incrby")


@pytest.mark.parametrize("value", ["abc", " 1", "1 ", "01", "+1", "-0", "", "1.5", "12345678901234567890", "0x10"])
def test_incr_not_an_integer(c, value):
    c.call("SET", "s", value)
    assert c.err("INCR", "s") == NOT_INT
    assert c.err("DECRBY", "s", "1") == NOT_INT
    assert c.call("GET", "s") == value.encode()


def test_incrby_bad_increment(c):
    assert c.err("INCRBY", "n", "x") == NOT_INT
    assert c.err("INCRBY", "n", "1.5") == NOT_INT
    assert c.err("INCRBY", "n", "9223372036854775808") == NOT_INT
    assert c.err("DECRBY", "n", "") == NOT_INT
    assert c.call("EXISTS", "n") == 0


def test_incr_overflow(c):
    c.call("SET", "s", "9223372036854775807")
    assert c.err("INCR", "s") == "ERR increment or decrement would overflow"
    assert c.err("INCRBY", "s", "1") == "ERR increment or decrement would overflow"
    assert c.call("INCRBY", "s", "0") == 9223372036854775807
    c.call("SET", "s", "-9223372036854775808")
    assert c.err("DECR", "s") == "ERR increment or decrement would overflow"
    assert c.err("DECRBY", "s", "1") == "ERR increment or decrement would overflow"
    assert c.call("GET", "s") == b"-9223372036854775808"
    # DECRBY can't negate LLONG_MIN
    c.call("SET", "m", "0")
    assert c.err("DECRBY", "m", "-9223372036854775808") == "ERR decrement would overflow"
    assert c.call("DECRBY", "m", "9223372036854775807") == -9223372036854775807
    assert c.call("INCRBY", "m", "-1") == -9223372036854775808


def test_incrbyfloat(c, lst):
    assert c.call("INCRBYFLOAT", "f", "10.5") == b"10.5"
    assert c.call("INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert c.call("GET", "f") == b"10.6"
    assert c.call("INCRBYFLOAT", "g", "-3") == b"-3"
    assert c.call("INCRBYFLOAT", "h", "5.0e3") == b"5000"
    assert c.call("INCRBYFLOAT", "h", "2.0e2") == b"5200"
    c.call("SET", "x", "3.0e3")
    assert c.call("INCRBYFLOAT", "x", "0") == b"3000"
    assert c.call("GET", "x") == b"3000"
    c.call("SET", "y", "10.50")
    assert c.call("INCRBYFLOAT", "y", "0") == b"10.5"
    c.call("SET", "z", "1.1")
    assert c.call("INCRBYFLOAT", "z", "2.2") == b"3.3"  # long double precision, %.17Lg
    c.call("SET", "i", "5")
    assert c.call("INCRBYFLOAT", "i", "1.5") == b"6.5"
    assert c.call("INCRBYFLOAT", "i", "-6.5") == b"0"
    c.call("SET", "w", "1")
    assert c.call("INCRBYFLOAT", "w", "1e-20") == b"1"
    # keeps the TTL
    c.call("EXPIRE", "w", "100")
    c.call("INCRBYFLOAT", "w", "1")
    assert c.call("TTL", "w") == 100
    assert c.err("INCRBYFLOAT", "f", "abc") == "ERR value is not a valid float"
    assert c.err("INCRBYFLOAT", "f", "nan") == "ERR value is not a valid float"
    assert c.err("INCRBYFLOAT", "f", "") == "ERR value is not a valid float"
    assert c.err("INCRBYFLOAT", "f", "inf") == "ERR increment would produce NaN or Infinity"
    assert c.err("INCRBYFLOAT", "f", "-inf") == "ERR increment would produce NaN or Infinity"
    c.call("SET", "s", "abc")
    assert c.err("INCRBYFLOAT", "s", "1") == "ERR value is not a valid float"
    c.call("SET", "s", " 1")
    assert c.err("INCRBYFLOAT", "s", "1") == "ERR value is not a valid float"
    assert c.err("INCRBYFLOAT", lst, "1") == WRONGTYPE
    assert c.call("GET", "f") == b"10.6"


def test_setrange(c, lst):
    assert c.call("SETRANGE", "s", "5", "abc") == 8
    assert c.call("GET", "s") == b"\x00\x00\x00\x00\x00abc"
    c.call("SET", "k", "Hello World")
    assert c.call("SETRANGE", "k", "6", "Redis") == 11
    assert c.call("GET", "k") == b"Hello Redis"
    assert c.call("SETRANGE", "k", "6", "Redis!!") == 13
    assert c.call("GET", "k") == b"Hello Redis!!"
    # empty value: no key created, existing key untouched (even beyond its end)
    assert c.call("SETRANGE", "e", "0", "") == 0
    assert c.call("SETRANGE", "e", "10", "") == 0
    assert c.call("EXISTS", "e") == 0
    assert c.call("SETRANGE", "k", "100", "") == 13
    assert c.call("STRLEN", "k") == 13
    c.call("SET", "n", "1234")
    assert c.call("SETRANGE", "n", "1", "x") == 4
    assert c.call("GET", "n") == b"1x34"
    assert c.err("SETRANGE", "k", "-1", "x") == "ERR offset is out of range"
    assert c.err("SETRANGE", "k", "x", "y") == NOT_INT
    assert c.err("SETRANGE", "k", "536870912", "x") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    )
    assert c.err("SETRANGE", lst, "0", "x") == WRONGTYPE


def test_getrange_substr(c, lst):
    c.call("SET", "g", "This is a string")
    assert c.call("GETRANGE", "g", "0", "3") == b"This"
    assert c.call("GETRANGE", "g", "-3", "-1") == b"ing"
    assert c.call("GETRANGE", "g", "0", "-1") == b"This is a string"
    assert c.call("GETRANGE", "g", "10", "100") == b"string"
    assert c.call("GETRANGE", "g", "5", "3") == b""
    assert c.call("GETRANGE", "g", "-1", "-5") == b""
    assert c.call("GETRANGE", "g", "100", "200") == b""
    assert c.call("GETRANGE", "g", "-100", "2") == b"Thi"
    # Redis 7.0 quirk: both negative indexes clamp to 0 -> first byte
    assert c.call("GETRANGE", "g", "-100", "-50") == b"T"
    assert c.call("GETRANGE", "g", "0", "9223372036854775807") == b"This is a string"
    assert c.call("GETRANGE", "nokey", "0", "-1") == b""
    c.call("SET", "e", "")
    assert c.call("GETRANGE", "e", "0", "-1") == b""
    c.call("SET", "n", "12345")
    assert c.call("GETRANGE", "n", "1", "2") == b"23"
    assert c.call("SUBSTR", "g", "0", "3") == b"This"
    assert c.err("GETRANGE", "g", "x", "1") == NOT_INT
    assert c.err("GETRANGE", "g", "0") == arity("getrange")
    assert c.err("GETRANGE", lst, "0", "1") == WRONGTYPE


def test_lcs(c, lst):
    c.call("MSET", "key1", "ohmytext", "key2", "mynewtext")
    assert c.call("LCS", "key1", "key2") == b"mytext"
    assert c.call("LCS", "key1", "key2", "LEN") == 6
    assert c.call("LCS", "key1", "key2", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6,
    ]
    assert c.call("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4") == [
        b"matches", [[[4, 7], [5, 8]]], b"len", 6,
    ]
    assert c.call("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6,
    ]
    assert c.call("LCS", "key1", "key2", "IDX", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len", 6,
    ]
    assert c.call("LCS", "key1", "nokey") == b""
    assert c.call("LCS", "nokey", "nokey2", "LEN") == 0
    assert c.call("LCS", "nokey", "nokey2", "IDX") == [b"matches", [], b"len", 0]
    # options that don't apply are ignored
    assert c.call("LCS", "key1", "key2", "MINMATCHLEN", "100") == b"mytext"
    assert c.call("LCS", "key1", "key2", "LEN", "WITHMATCHLEN") == 6
    assert c.err("LCS", "key1", "key2", "LEN", "IDX") == (
        "ERR If you want both the length and indexes, please just use IDX."
    )
    assert c.err("LCS", "key1", "key2", "FOO") == SYNTAX
    assert c.err("LCS", "key1", "key2", "MINMATCHLEN") == SYNTAX
    assert c.err("LCS", "key1", "key2", "MINMATCHLEN", "x") == NOT_INT
    assert c.err("LCS", "key1", lst) == "ERR The specified keys must contain string values"
    assert c.err("LCS", "key1") == arity("lcs")


def test_lcs_resp3_map(c):
    c.call("MSET", "key1", "ohmytext", "key2", "mynewtext")
    c.call("HELLO", "3")
    assert c.call("LCS", "key1", "key2", "IDX", "WITHMATCHLEN") == {
        b"matches": [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]],
        b"len": 6,
    }


def test_object_encoding_strings(c):
    c.call("SET", "i", "12345")
    assert c.call("OBJECT", "ENCODING", "i") == b"int"
    c.call("SET", "neg", "-9223372036854775808")
    assert c.call("OBJECT", "ENCODING", "neg") == b"int"
    c.call("SET", "notint", "01")
    assert c.call("OBJECT", "ENCODING", "notint") == b"embstr"
    c.call("SET", "e", "x" * 44)
    assert c.call("OBJECT", "ENCODING", "e") == b"embstr"
    c.call("SET", "r", "x" * 45)
    assert c.call("OBJECT", "ENCODING", "r") == b"raw"
    c.call("SET", "a", "abc")
    c.call("APPEND", "a", "d")
    assert c.call("OBJECT", "ENCODING", "a") == b"raw"
    c.call("SET", "big", "123456789012345678901")  # does not fit in a long
    assert c.call("OBJECT", "ENCODING", "big") == b"embstr"
    c.call("INCR", "cnt")
    assert c.call("OBJECT", "ENCODING", "cnt") == b"int"
    c.call("SET", "f", "1")
    c.call("INCRBYFLOAT", "f", "0.5")
    assert c.call("OBJECT", "ENCODING", "f") == b"embstr"
    c.call("SETRANGE", "sr", "0", "abc")
    assert c.call("OBJECT", "ENCODING", "sr") == b"raw"
