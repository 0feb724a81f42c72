"""Sorted set commands: replies, errors, encodings, notifications, WATCH,
ZSCAN and the blocking pops, checked against Redis 7.0's exact behaviour."""

import time

import pytest

from helpers import wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
SYNTAX = "ERR syntax error"
MINMAX_FLOAT = "ERR min or max is not a float"
MINMAX_LEX = "ERR min or max not valid string range item"
NAN = "ERR resulting score is not a number (NaN)"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


def flat(pairs):
    out = []
    for m, s in pairs:
        out += [m, s]
    return out


def zset_of(c, key, pairs):
    c.call("DEL", key)
    args = []
    for m, s in pairs:
        args += [s, m]
    c.call("ZADD", key, *args)


def encoding(c, key):
    return c.call("OBJECT", "ENCODING", key)


# ---------------------------------------------------------------------------
# ZADD / ZINCRBY
# ---------------------------------------------------------------------------


def test_zadd_basics_and_reply_counts(c):
    assert c.call("ZADD", "z", "1", "a", "2", "b") == 2
    assert c.call("ZADD", "z", "1", "a", "3", "c") == 1
    assert c.call("ZADD", "z", "5", "a") == 0
    assert c.call("ZADD", "z", "CH", "6", "a", "3", "c", "9", "d") == 2
    assert c.call("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"b", b"2", b"c", b"3", b"a", b"6", b"d", b"9"]
    # duplicate member in one call: last score wins, counted once
    assert c.call("ZADD", "y", "1", "x", "2", "x") == 1
    assert c.call("ZSCORE", "y", "x") == b"2"
    assert c.call("TYPE", "z") == "zset"


def test_zadd_nx_xx_gt_lt(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 5)])
    assert c.call("ZADD", "z", "NX", "10", "a", "2", "c") == 1
    assert c.call("ZSCORE", "z", "a") == b"1"
    assert c.call("ZADD", "z", "XX", "10", "a", "2", "d") == 0
    assert c.call("ZSCORE", "z", "a") == b"10"
    assert c.call("ZSCORE", "z", "d") is None
    assert c.call("ZADD", "z", "XX", "CH", "11", "a", "2", "d") == 1
    # GT/LT only update existing members in one direction; new members are added
    assert c.call("ZADD", "z", "GT", "CH", "3", "b", "100", "a", "7", "e") == 2
    assert c.call("ZMSCORE", "z", "a", "b", "e") == [b"100", b"5", b"7"]
    assert c.call("ZADD", "z", "LT", "CH", "1", "b", "200", "a") == 1
    assert c.call("ZMSCORE", "z", "a", "b") == [b"100", b"1"]
    assert c.call("ZADD", "z", "XX", "GT", "CH", "150", "a", "1", "new") == 1
    assert c.call("ZSCORE", "z", "new") is None
    # XX on a missing key creates nothing
    assert c.call("ZADD", "nokey", "XX", "1", "a") == 0
    assert c.call("EXISTS", "nokey") == 0
    assert c.call("ZADD", "nokey", "XX", "INCR", "1", "a") is None
    assert c.call("EXISTS", "nokey") == 0
    # options are case insensitive and may repeat
    assert c.call("ZADD", "z", "nx", "Nx", "ch", "1", "zz") == 1


def test_zadd_option_errors(c):
    assert c.err("ZADD", "z", "NX", "XX", "1", "a") == "ERR XX and NX options at the same time are not compatible"
    gtlt = "ERR GT, LT, and/or NX options at the same time are not compatible"
    assert c.err("ZADD", "z", "GT", "LT", "1", "a") == gtlt
    assert c.err("ZADD", "z", "GT", "NX", "1", "a") == gtlt
    assert c.err("ZADD", "z", "LT", "NX", "1", "a") == gtlt
    assert c.err("ZADD", "z", "INCR", "1", "a", "2", "b") == "ERR INCR option supports a single increment-element pair"
    assert c.err("ZADD", "z", "1") == arity("zadd")
    assert c.err("ZADD", "z", "1", "a", "2") == SYNTAX
    assert c.err("ZADD", "z", "NX", "1") == SYNTAX
    assert c.err("ZADD", "z", "NX", "XX") == SYNTAX  # syntax is checked first
    assert c.err("ZADD", "z") == arity("zadd")
    assert c.err("ZADD", "z", "1", "a", "x", "b") == NOT_FLOAT
    assert c.call("EXISTS", "z") == 0  # all scores are checked before any change
    c.call("SET", "s", "v")
    assert c.err("ZADD", "s", "1", "a") == WRONGTYPE
    assert c.err("ZADD", "s", "x", "a") == NOT_FLOAT  # scores before the type


def test_score_parsing(c):
    ok = {
        "1": b"1", "-1": b"-1", "+2": b"2", "1.5": b"1.5", "1e3": b"1000", "1E-2": b"0.01",
        ".5": b"0.5", "5.": b"5", "0x10": b"16", "inf": b"inf", "+inf": b"inf", "-inf": b"-inf",
        "Infinity": b"inf", "-INFINITY": b"-inf", "4e-320": b"3.999955468730732e-320", "-0": b"0",
        "1.1": b"1.1000000000000001", "0.1": b"0.10000000000000001", "1e20": b"1e+20",
        "123456789012345678": b"1.2345678901234568e+17", "3.0": b"3",
    }
    for text, want in ok.items():
        c.call("DEL", "z")
        assert c.call("ZADD", "z", text, "m") == 1, text
        assert c.call("ZSCORE", "z", "m") == want, text
    for bad in ["", " 1", "1 ", "abc", "nan", "NaN", "1e400", "-1e400", "1e-400", "1x", "--1", "inf1", "0x"]:
        assert c.err("ZADD", "z", bad, "m") == NOT_FLOAT, bad
        assert c.err("ZINCRBY", "z", bad, "m") == NOT_FLOAT, bad


def test_zincrby_and_incr_option(c):
    assert c.call("ZINCRBY", "z", "2.5", "a") == b"2.5"
    assert c.call("ZINCRBY", "z", "-1", "a") == b"1.5"
    assert c.call("ZINCRBY", "z", "0.1", "b") == b"0.10000000000000001"
    assert c.call("ZADD", "z", "INCR", "1", "a") == b"2.5"
    assert c.call("ZADD", "z", "NX", "INCR", "1", "a") is None
    assert c.call("ZADD", "z", "XX", "INCR", "1", "nope") is None
    assert c.call("ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert c.call("ZADD", "z", "LT", "INCR", "-1", "a") == b"1.5"
    assert c.call("ZINCRBY", "z", "inf", "a") == b"inf"
    assert c.err("ZINCRBY", "z", "-inf", "a") == NAN
    assert c.err("ZADD", "z", "INCR", "-inf", "a") == NAN
    assert c.call("ZSCORE", "z", "a") == b"inf"
    assert c.err("ZINCRBY", "z", "x", "a") == NOT_FLOAT
    assert c.err("ZINCRBY", "z", "1") == arity("zincrby")
    # the increment is read like a ZADD option first
    assert c.err("ZINCRBY", "z", "nx", "a") == SYNTAX
    c.call("SET", "s", "v")
    assert c.err("ZINCRBY", "s", "1", "a") == WRONGTYPE


# ---------------------------------------------------------------------------
# reads
# ---------------------------------------------------------------------------


def test_zcard_zscore_zmscore(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2)])
    assert c.call("ZCARD", "z") == 2
    assert c.call("ZCARD", "nokey") == 0
    assert c.call("ZSCORE", "z", "a") == b"1"
    assert c.call("ZSCORE", "z", "x") is None
    assert c.call("ZSCORE", "nokey", "x") is None
    assert c.call("ZMSCORE", "z", "a", "x", "b") == [b"1", None, b"2"]
    assert c.call("ZMSCORE", "nokey", "a", "b") == [None, None]
    assert c.err("ZMSCORE", "z") == arity("zmscore")
    assert c.err("ZCARD") == arity("zcard")
    c.call("SET", "s", "v")
    for cmd in (("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZRANK", "s", "a")):
        assert c.err(*cmd) == WRONGTYPE


def test_zrank_zrevrank(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3)])
    assert [c.call("ZRANK", "z", m) for m in "abc"] == [0, 1, 2]
    assert [c.call("ZREVRANK", "z", m) for m in "abc"] == [2, 1, 0]
    assert c.call("ZRANK", "z", "x") is None
    assert c.call("ZREVRANK", "nokey", "x") is None
    assert c.err("ZRANK", "z", "a", "WITHSCORE") == arity("zrank")


def test_zcount(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4), (b"inf", "inf")])
    assert c.call("ZCOUNT", "z", "-inf", "+inf") == 5
    assert c.call("ZCOUNT", "z", "2", "3") == 2
    assert c.call("ZCOUNT", "z", "(2", "3") == 1
    assert c.call("ZCOUNT", "z", "(2", "(3") == 0
    assert c.call("ZCOUNT", "z", "3", "2") == 0
    assert c.call("ZCOUNT", "z", "(inf", "+inf") == 0
    assert c.call("ZCOUNT", "z", "inf", "inf") == 1
    assert c.call("ZCOUNT", "z", "", "") == 0  # strtod: an empty bound is 0
    assert c.call("ZCOUNT", "z", " 2", "(  4") == 2  # strtod skips leading spaces
    assert c.call("ZCOUNT", "z", "(", "3") == 3
    assert c.call("ZCOUNT", "z", "0x2", "0x3") == 2
    assert c.call("ZCOUNT", "nokey", "0", "1") == 0
    for bad in [("x", "1"), ("1", "2 "), ("nan", "1"), ("(nan", "1"), ("1", "((2"), ("[1", "2")]:
        assert c.err("ZCOUNT", "z", *bad) == MINMAX_FLOAT, bad
    c.call("SET", "s", "v")
    assert c.err("ZCOUNT", "s", "x", "1") == MINMAX_FLOAT  # range before the type
    assert c.err("ZCOUNT", "s", "0", "1") == WRONGTYPE


def test_zlexcount(c):
    zset_of(c, "z", [(m.encode(), 0) for m in "abcdefg"])
    assert c.call("ZLEXCOUNT", "z", "-", "+") == 7
    assert c.call("ZLEXCOUNT", "z", "[b", "[d") == 3
    assert c.call("ZLEXCOUNT", "z", "(b", "(d") == 1
    assert c.call("ZLEXCOUNT", "z", "[b", "(b") == 0
    assert c.call("ZLEXCOUNT", "z", "+", "-") == 0
    assert c.call("ZLEXCOUNT", "z", "-", "-") == 0
    assert c.call("ZLEXCOUNT", "z", "[", "+") == 7
    assert c.call("ZLEXCOUNT", "z", "(cc", "+") == 4
    assert c.call("ZLEXCOUNT", "nokey", "-", "+") == 0
    for bad in [("a", "+"), ("-", "b"), ("", "+"), ("-x", "+"), ("+", "++")]:
        assert c.err("ZLEXCOUNT", "z", *bad) == MINMAX_LEX, bad


# ---------------------------------------------------------------------------
# ranges
# ---------------------------------------------------------------------------


def test_zrange_by_rank(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4)])
    assert c.call("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c", b"d"]
    assert c.call("ZRANGE", "z", "1", "2", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert c.call("ZRANGE", "z", "-2", "100") == [b"c", b"d"]
    assert c.call("ZRANGE", "z", "-100", "0") == [b"a"]
    assert c.call("ZRANGE", "z", "3", "1") == []
    assert c.call("ZRANGE", "z", "5", "10") == []
    assert c.call("ZRANGE", "z", "0", "-1", "REV") == [b"d", b"c", b"b", b"a"]
    assert c.call("ZRANGE", "z", "0", "1", "REV", "WITHSCORES") == [b"d", b"4", b"c", b"3"]
    assert c.call("ZREVRANGE", "z", "1", "-2") == [b"c", b"b"]
    assert c.call("ZREVRANGE", "z", "0", "0", "withscores") == [b"d", b"4"]
    assert c.call("ZRANGE", "nokey", "0", "-1") == []
    # LIMIT 0 -1 is "no limit": accepted with a rank range
    assert c.call("ZRANGE", "z", "0", "0", "LIMIT", "0", "-1") == [b"a"]
    assert c.err("ZRANGE", "z", "0", "1", "LIMIT", "0", "1") == (
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert c.err("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1") == (
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert c.err("ZRANGE", "z", "a", "1") == NOT_INT
    assert c.err("ZRANGE", "z", "0", "1", "FOO") == SYNTAX
    assert c.err("ZRANGE", "z", "0", "1", "LIMIT", "0") == SYNTAX
    assert c.err("ZREVRANGE", "z", "0", "1", "REV") == SYNTAX
    assert c.err("ZRANGE", "z", "0") == arity("zrange")


def test_zrange_byscore(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4), (b"e", 5)])
    assert c.call("ZRANGE", "z", "2", "4", "BYSCORE") == [b"b", b"c", b"d"]
    assert c.call("ZRANGE", "z", "(2", "+inf", "BYSCORE", "LIMIT", "1", "2") == [b"d", b"e"]
    assert c.call("ZRANGE", "z", "4", "2", "BYSCORE", "REV", "WITHSCORES") == [b"d", b"4", b"c", b"3", b"b", b"2"]
    assert c.call("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2") == [b"d", b"c"]
    assert c.call("ZRANGEBYSCORE", "z", "-inf", "(3") == [b"a", b"b"]
    assert c.call("ZRANGEBYSCORE", "z", "1", "5", "WITHSCORES", "LIMIT", "3", "10") == [b"d", b"4", b"e", b"5"]
    assert c.call("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "0", "-1") == [b"a", b"b", b"c", b"d", b"e"]
    assert c.call("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "-1", "2") == []
    assert c.call("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "5", "2") == []
    assert c.call("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "1", "0") == []
    assert c.call("ZREVRANGEBYSCORE", "z", "(5", "2") == [b"d", b"c", b"b"]
    assert c.call("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "1", "1") == [b"d", b"4"]
    assert c.call("ZREVRANGEBYSCORE", "z", "2", "5") == []
    assert c.call("ZRANGEBYSCORE", "nokey", "0", "1") == []
    assert c.err("ZRANGEBYSCORE", "z", "a", "1") == MINMAX_FLOAT
    assert c.err("ZRANGEBYSCORE", "z", "0", "1", "REV") == SYNTAX
    assert c.err("ZRANGEBYSCORE", "z", "0", "1", "BYLEX") == SYNTAX
    assert c.err("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "x", "1") == NOT_INT
    assert c.err("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX") == SYNTAX


def test_zrange_bylex(c):
    zset_of(c, "z", [(m.encode(), 0) for m in ["a", "b", "c", "d", "e", "ff"]])
    assert c.call("ZRANGE", "z", "[b", "(e", "BYLEX") == [b"b", b"c", b"d"]
    assert c.call("ZRANGE", "z", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2") == [b"e", b"d"]
    assert c.call("ZRANGEBYLEX", "z", "-", "+", "LIMIT", "4", "10") == [b"e", b"ff"]
    assert c.call("ZRANGEBYLEX", "z", "(e", "+") == [b"ff"]
    assert c.call("ZRANGEBYLEX", "z", "[f", "+") == [b"ff"]
    assert c.call("ZREVRANGEBYLEX", "z", "[c", "-") == [b"c", b"b", b"a"]
    assert c.call("ZREVRANGEBYLEX", "z", "-", "+") == []
    assert c.call("ZRANGEBYLEX", "nokey", "-", "+") == []
    assert c.err("ZRANGEBYLEX", "z", "a", "+") == MINMAX_LEX
    assert c.err("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == (
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )
    assert c.err("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == (
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )


def test_zrangestore(c):
    zset_of(c, "src", [(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4)])
    assert c.call("ZRANGESTORE", "dst", "src", "1", "2") == 2
    assert c.call("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert c.call("ZRANGESTORE", "dst", "src", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "2") == 2
    assert c.call("ZRANGE", "dst", "0", "-1") == [b"c", b"d"]
    assert c.call("ZRANGESTORE", "dst", "src", "[a", "[b", "BYLEX") == 2
    c.call("SET", "s", "v", "EX", "100")
    assert c.call("ZRANGESTORE", "s", "src", "0", "0") == 1
    assert c.call("TTL", "s") == -1
    # an empty result deletes the destination
    assert c.call("ZRANGESTORE", "dst", "src", "10", "20") == 0
    assert c.call("EXISTS", "dst") == 0
    assert c.call("ZRANGESTORE", "s", "nokey", "0", "-1") == 0
    assert c.call("EXISTS", "s") == 0
    assert c.err("ZRANGESTORE", "dst", "src", "0", "1", "WITHSCORES") == SYNTAX
    c.call("SET", "str", "v")
    assert c.err("ZRANGESTORE", "dst", "str", "0", "1") == WRONGTYPE
    assert c.err("ZRANGESTORE", "dst", "src", "0") == arity("zrangestore")


# ---------------------------------------------------------------------------
# removals
# ---------------------------------------------------------------------------


def test_zrem(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3)])
    assert c.call("ZREM", "z", "a", "x", "a") == 1
    assert c.call("ZREM", "nokey", "a") == 0
    assert c.call("ZREM", "z", "b", "c", "d") == 2
    assert c.call("EXISTS", "z") == 0  # never an empty sorted set
    assert c.err("ZREM", "z") == arity("zrem")
    c.call("SET", "s", "v")
    assert c.err("ZREM", "s", "a") == WRONGTYPE


def test_zremrangebyrank_score_lex(c):
    zset_of(c, "z", [(m.encode(), i) for i, m in enumerate("abcdefgh")])
    assert c.call("ZREMRANGEBYRANK", "z", "0", "1") == 2
    assert c.call("ZREMRANGEBYRANK", "z", "-1", "-1") == 1
    assert c.call("ZREMRANGEBYRANK", "z", "5", "1") == 0
    assert c.call("ZRANGE", "z", "0", "-1") == [b"c", b"d", b"e", b"f", b"g"]
    assert c.call("ZREMRANGEBYSCORE", "z", "(2", "4") == 2
    assert c.call("ZREMRANGEBYSCORE", "z", "100", "200") == 0
    assert c.call("ZRANGE", "z", "0", "-1") == [b"c", b"f", b"g"]
    assert c.call("ZREMRANGEBYRANK", "z", "0", "-1") == 3
    assert c.call("EXISTS", "z") == 0
    zset_of(c, "l", [(m.encode(), 0) for m in "abcde"])
    assert c.call("ZREMRANGEBYLEX", "l", "(a", "[c") == 2
    assert c.call("ZREMRANGEBYLEX", "l", "-", "+") == 3
    assert c.call("EXISTS", "l") == 0
    assert c.call("ZREMRANGEBYSCORE", "nokey", "0", "1") == 0
    assert c.err("ZREMRANGEBYRANK", "z", "x", "1") == NOT_INT
    assert c.err("ZREMRANGEBYSCORE", "z", "x", "1") == MINMAX_FLOAT
    assert c.err("ZREMRANGEBYLEX", "z", "x", "+") == MINMAX_LEX


# ---------------------------------------------------------------------------
# pops
# ---------------------------------------------------------------------------


def test_zpopmin_zpopmax(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4)])
    assert c.call("ZPOPMIN", "z") == [b"a", b"1"]
    assert c.call("ZPOPMAX", "z") == [b"d", b"4"]
    assert c.call("ZPOPMIN", "z", "0") == []
    assert c.call("ZPOPMAX", "z", "10") == [b"c", b"3", b"b", b"2"]
    assert c.call("EXISTS", "z") == 0
    assert c.call("ZPOPMIN", "z") == []
    assert c.call("ZPOPMIN", "z", "2") == []
    assert c.err("ZPOPMIN", "z", "-1") == "ERR value is out of range, must be positive"
    assert c.err("ZPOPMIN", "z", "x") == "ERR value is out of range, must be positive"
    assert c.err("ZPOPMIN", "z", "1", "2") == SYNTAX
    assert c.err("ZPOPMAX") == arity("zpopmax")
    c.call("SET", "s", "v")
    assert c.err("ZPOPMIN", "s") == WRONGTYPE
    assert c.err("ZPOPMIN", "s", "0") == WRONGTYPE


def test_zmpop(c):
    zset_of(c, "z2", [(b"a", 1), (b"b", 2), (b"c", 3)])
    assert c.call("ZMPOP", "2", "z1", "z2", "MIN") == [b"z2", [[b"a", b"1"]]]
    assert c.call("ZMPOP", "1", "z2", "MAX", "COUNT", "10") == [b"z2", [[b"c", b"3"], [b"b", b"2"]]]
    assert c.call("EXISTS", "z2") == 0
    assert c.call("ZMPOP", "2", "z1", "z2", "MIN") is None
    assert c.err("ZMPOP", "0", "z", "MIN") == "ERR numkeys should be greater than 0"
    assert c.err("ZMPOP", "x", "z", "MIN") == "ERR numkeys should be greater than 0"
    assert c.err("ZMPOP", "2", "z", "MIN") == SYNTAX
    assert c.err("ZMPOP", "1", "z", "LEFT") == SYNTAX
    assert c.err("ZMPOP", "1", "z", "MIN", "COUNT", "0") == "ERR count should be greater than 0"
    assert c.err("ZMPOP", "1", "z", "MIN", "COUNT", "x") == "ERR count should be greater than 0"
    assert c.err("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1") == SYNTAX
    assert c.err("ZMPOP", "1", "z", "MIN", "COUNT") == SYNTAX
    assert c.err("ZMPOP", "1", "z") == arity("zmpop")
    c.call("SET", "s", "v")
    assert c.err("ZMPOP", "2", "nokey", "s", "MIN") == WRONGTYPE


# ---------------------------------------------------------------------------
# set operations
# ---------------------------------------------------------------------------


def test_zunion_zinter_zdiff(c):
    zset_of(c, "a", [(b"x", 1), (b"y", 2), (b"z", 3)])
    zset_of(c, "b", [(b"y", 10), (b"z", 20), (b"w", 30)])
    assert c.call("ZUNION", "2", "a", "b", "WITHSCORES") == [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert c.call("ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX") == [b"x", b"y", b"z", b"w"]
    assert c.call("ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES") == [
        b"x", b"2", b"y", b"5", b"z", b"10", b"w", b"15",
    ]
    assert c.call("ZINTER", "2", "a", "b", "WITHSCORES") == [b"y", b"12", b"z", b"23"]
    assert c.call("ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES") == [b"y", b"2", b"z", b"3"]
    assert c.call("ZINTER", "2", "a", "nokey") == []
    assert c.call("ZDIFF", "2", "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert c.call("ZDIFF", "2", "a", "a") == []
    assert c.call("ZDIFF", "1", "a") == [b"x", b"y", b"z"]
    assert c.call("ZUNION", "1", "nokey") == []
    # inf - inf sums to 0, weight * score NaN is 0
    zset_of(c, "i1", [(b"m", "inf")])
    zset_of(c, "i2", [(b"m", "-inf")])
    assert c.call("ZUNION", "2", "i1", "i2", "WITHSCORES") == [b"m", b"0"]
    assert c.call("ZUNION", "1", "i1", "WEIGHTS", "0", "WITHSCORES") == [b"m", b"0"]
    # ZINTER: a NaN product from a later input makes SUM 0, MIN/MAX ignore it
    zset_of(c, "big", [(b"m", "inf"), (b"x", 1)])
    zset_of(c, "small", [(b"m", 5)])
    assert c.call("ZINTER", "2", "big", "small", "WEIGHTS", "0", "1", "WITHSCORES") == [b"m", b"0"]
    assert c.call("ZINTER", "2", "big", "small", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES") == [b"m", b"5"]
    assert c.call("ZINTER", "2", "big", "small", "WEIGHTS", "0", "1", "AGGREGATE", "MAX", "WITHSCORES") == [b"m", b"5"]


def test_sets_as_inputs(c):
    try:
        c.call("SADD", "s", "x", "q")
        c.call("SADD", "i", "1", "2", "3")
    except Exception as e:  # noqa: BLE001
        if "unknown command" in str(e):
            pytest.skip("SADD not implemented on this branch")
        raise
    zset_of(c, "a", [(b"x", 1), (b"y", 2), (b"z", 3)])
    # set members count with score 1
    assert c.call("ZUNION", "2", "a", "s", "WITHSCORES") == [b"q", b"1", b"x", b"2", b"y", b"2", b"z", b"3"]
    assert c.call("ZINTER", "2", "s", "a", "WEIGHTS", "3", "1", "WITHSCORES") == [b"x", b"4"]
    assert c.call("ZDIFF", "2", "s", "a") == [b"q"]
    assert c.call("ZINTERCARD", "2", "s", "a") == 1
    zset_of(c, "n", [(b"2", 5), (b"4", 1)])
    assert c.call("ZINTER", "2", "i", "n", "WITHSCORES") == [b"2", b"6"]
    assert c.call("ZUNIONSTORE", "d", "2", "i", "i") == 3
    assert c.call("ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"1", b"2", b"2", b"2", b"3", b"2"]
    assert c.call("ZDIFFSTORE", "d", "2", "i", "i") == 0


def test_set_op_errors(c):
    zset_of(c, "a", [(b"x", 1)])
    assert c.err("ZUNION", "0", "a") == "ERR at least 1 input key is needed for 'zunion' command"
    assert c.err("ZINTERSTORE", "d", "0", "a") == "ERR at least 1 input key is needed for 'zinterstore' command"
    assert c.err("ZDIFF", "-1", "a") == "ERR at least 1 input key is needed for 'zdiff' command"
    assert c.err("ZUNION", "x", "a") == NOT_INT
    assert c.err("ZUNION", "3", "a", "b") == SYNTAX
    assert c.err("ZUNION", "1", "a", "WEIGHTS") == SYNTAX
    assert c.err("ZUNION", "1", "a", "WEIGHTS", "x") == "ERR weight value is not a float"
    assert c.err("ZUNION", "1", "a", "AGGREGATE", "AVG") == SYNTAX
    assert c.err("ZDIFF", "1", "a", "WEIGHTS", "1") == SYNTAX
    assert c.err("ZUNIONSTORE", "d", "1", "a", "WITHSCORES") == SYNTAX
    c.call("SET", "str", "v")
    assert c.err("ZUNION", "2", "a", "str") == WRONGTYPE
    assert c.err("ZUNION", "2", "str", "a", "BADOPT") == WRONGTYPE  # keys before options
    assert c.err("ZUNION") == arity("zunion")


def test_store_variants(c):
    zset_of(c, "a", [(b"x", 1), (b"y", 2)])
    zset_of(c, "b", [(b"y", 3), (b"z", 4)])
    assert c.call("ZUNIONSTORE", "d", "2", "a", "b") == 3
    assert c.call("ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"x", b"1", b"z", b"4", b"y", b"5"]
    assert c.call("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1") == 1
    assert c.call("ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"y", b"-1"]
    assert c.call("ZDIFFSTORE", "d", "2", "a", "b") == 1
    assert c.call("ZRANGE", "d", "0", "-1") == [b"x"]
    # destination may be a source; TTL of the old value is dropped
    c.call("EXPIRE", "a", "100")
    assert c.call("ZUNIONSTORE", "a", "2", "a", "b") == 3
    assert c.call("TTL", "a") == -1
    # empty result deletes the destination
    assert c.call("ZINTERSTORE", "d", "2", "a", "nokey") == 0
    assert c.call("EXISTS", "d") == 0
    c.call("SET", "str", "v")
    assert c.call("ZDIFFSTORE", "str", "1", "nokey") == 0
    assert c.call("EXISTS", "str") == 0


def test_zintercard(c):
    zset_of(c, "a", [(m.encode(), 1) for m in "abcdef"])
    zset_of(c, "b", [(m.encode(), 2) for m in "bcdefg"])
    assert c.call("ZINTERCARD", "2", "a", "b") == 5
    assert c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "3") == 3
    assert c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "0") == 5
    assert c.call("ZINTERCARD", "2", "a", "nokey") == 0
    assert c.err("ZINTERCARD", "2", "a", "b", "LIMIT", "-1") == "ERR LIMIT can't be negative"
    assert c.err("ZINTERCARD", "2", "a", "b", "LIMIT", "x") == "ERR LIMIT can't be negative"
    assert c.err("ZINTERCARD", "2", "a", "b", "WITHSCORES") == SYNTAX
    assert c.err("ZINTERCARD", "0", "a") == "ERR at least 1 input key is needed for 'zintercard' command"


# ---------------------------------------------------------------------------
# ZRANDMEMBER
# ---------------------------------------------------------------------------


def test_zrandmember(c):
    pairs = [(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b"1.5")]
    zset_of(c, "z", pairs)
    members = {m for m, _ in pairs}
    scores = dict(pairs)
    assert c.call("ZRANDMEMBER", "z") in members
    assert c.call("ZRANDMEMBER", "nokey") is None
    assert c.call("ZRANDMEMBER", "nokey", "5") == []
    assert c.call("ZRANDMEMBER", "z", "0") == []
    got = c.call("ZRANDMEMBER", "z", "3")
    assert len(got) == 3 and len(set(got)) == 3 and set(got) <= members
    assert sorted(c.call("ZRANDMEMBER", "z", "10")) == sorted(members)
    got = c.call("ZRANDMEMBER", "z", "-20")
    assert len(got) == 20 and set(got) <= members
    got = c.call("ZRANDMEMBER", "z", "-7", "WITHSCORES")
    assert len(got) == 14
    for m, s in zip(got[::2], got[1::2]):
        assert scores[m] == s
    got = c.call("ZRANDMEMBER", "z", "2", "withscores")
    assert len(got) == 4 and got[0] != got[2]
    seen = set()
    for _ in range(200):
        seen.add(c.call("ZRANDMEMBER", "z"))
    assert seen == members
    assert c.err("ZRANDMEMBER", "z", "x") == NOT_INT
    assert c.err("ZRANDMEMBER", "z", "1", "WITHSCORE") == SYNTAX
    assert c.err("ZRANDMEMBER", "z", "1", "WITHSCORES", "x") == SYNTAX
    assert c.err("ZRANDMEMBER", "z", "-9223372036854775808") == (
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert c.err("ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES") == "ERR value is out of range"
    assert c.err("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES") == "ERR value is out of range"
    c.call("SET", "s", "v")
    assert c.err("ZRANDMEMBER", "s") == WRONGTYPE
    assert c.err("ZRANDMEMBER", "s", "1") == WRONGTYPE


@pytest.mark.parametrize("size", [5, 300])
def test_zrandmember_distinct_counts(c, size):
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
    c.pipeline([("ZADD", "z", i, "m%d" % i) for i in range(size)])
    for count in (1, 2, size // 3, size // 2, size - 1):
        got = c.call("ZRANDMEMBER", "z", count, "WITHSCORES")
        ms = got[::2]
        assert len(ms) == count and len(set(ms)) == count
        for m, s in zip(ms, got[1::2]):
            assert m == b"m" + s


# ---------------------------------------------------------------------------
# score formatting, RESP3
# ---------------------------------------------------------------------------


def test_score_formatting_resp2(c):
    c.call("ZADD", "z", "1.1", "a", "-0.5", "b", "1e-5", "c", "3", "d", "1e17", "e", "-inf", "f")
    assert c.call("ZRANGE", "z", "0", "-1", "WITHSCORES") == [
        b"f", b"-inf", b"b", b"-0.5", b"c", b"1.0000000000000001e-05", b"a", b"1.1000000000000001",
        b"d", b"3", b"e", b"1e+17",
    ]
    assert c.call("ZINCRBY", "z", "0.2", "a") == b"1.3"
    c.call("ZADD", "z", "0.1", "g")
    assert c.call("ZINCRBY", "z", "0.2", "g") == b"0.30000000000000004"


def test_resp3_shapes(c):
    c.call("HELLO", "3")
    zset_of(c, "z", [(b"a", 1), (b"b", 2.5), (b"c", 3)])
    assert c.call("ZSCORE", "z", "b") == 2.5
    assert c.call("ZSCORE", "z", "x") is None
    assert c.call("ZMSCORE", "z", "a", "x") == [1.0, None]
    assert c.call("ZINCRBY", "z", "1", "a") == 2.0
    assert c.call("ZADD", "z", "NX", "INCR", "1", "a") is None
    assert c.call("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c"]
    assert c.call("ZRANGE", "z", "0", "-1", "WITHSCORES") == [[b"a", 2.0], [b"b", 2.5], [b"c", 3.0]]
    assert c.call("ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "0", "1") == [[b"a", 2.0]]
    assert c.call("ZUNION", "1", "z", "WITHSCORES") == [[b"a", 2.0], [b"b", 2.5], [b"c", 3.0]]
    assert c.call("ZRANDMEMBER", "z", "-2", "WITHSCORES")[0][1] in (2.0, 2.5, 3.0)
    assert c.call("ZPOPMIN", "z") == [b"a", 2.0]
    assert c.call("ZPOPMIN", "z", "1") == [[b"b", 2.5]]
    assert c.call("ZMPOP", "1", "z", "MAX") == [b"z", [[b"c", 3.0]]]
    assert c.call("ZMPOP", "1", "z", "MAX") is None
    assert c.call("ZRANK", "z", "x") is None
    c.call("ZADD", "z", "inf", "i")
    assert c.call("ZSCORE", "z", "i") == float("inf")
    # ZSCAN scores stay bulk strings
    assert c.call("ZSCAN", "z", "0") == [b"0", [b"i", b"inf"]]
    assert c.call("BZPOPMAX", "z", "0") == [b"z", b"i", float("inf")]
    assert c.call("BZPOPMIN", "z", "0.01") is None


def test_resp3_raw_double(server):
    raw = server.raw()
    raw.send(b"HELLO 3\r\n")
    raw.read_available(0.3)
    raw.send(b"ZADD z 1.5 a\r\nZSCORE z a\r\nZRANGE z 0 -1 WITHSCORES\r\nZSCORE z nope\r\n")
    raw.expect(b":1\r\n,1.5\r\n*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n_\r\n")


# ---------------------------------------------------------------------------
# encodings
# ---------------------------------------------------------------------------


def test_encoding_conversions(c):
    c.call("ZADD", "z", "1", "a", "2", "b")
    assert encoding(c, "z") == b"listpack"
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "3")
    c.call("ZADD", "z", "3", "c")
    assert encoding(c, "z") == b"listpack"
    c.call("ZADD", "z", "4", "d")
    assert encoding(c, "z") == b"skiplist"
    c.call("ZREM", "z", "d", "c")
    assert encoding(c, "z") == b"skiplist"  # one way
    c.call("CONFIG", "SET", "zset-max-listpack-value", "5")
    c.call("ZADD", "v", "1", "12345")
    assert encoding(c, "v") == b"listpack"
    c.call("ZADD", "v", "1", "123456")
    assert encoding(c, "v") == b"skiplist"
    c.call("ZADD", "w", "1", "1234567")
    assert encoding(c, "w") == b"skiplist"
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "0")
    c.call("ZADD", "e", "1", "a")
    assert encoding(c, "e") == b"skiplist"
    c.call("CONFIG", "SET", "zset-max-ziplist-entries", "128")
    assert c.call("CONFIG", "GET", "zset-max-listpack-entries") == [b"zset-max-listpack-entries", b"128"]


def test_encoding_of_computed_results(c):
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "4")
    c.pipeline([("ZADD", "big", i, "m%d" % i) for i in range(10)])
    assert encoding(c, "big") == b"skiplist"
    c.call("ZUNIONSTORE", "u", "1", "big")
    assert encoding(c, "u") == b"skiplist"
    c.call("ZRANGESTORE", "r", "big", "0", "2")
    assert encoding(c, "r") == b"listpack"
    c.call("ZINTERSTORE", "i", "1", "big")
    assert encoding(c, "i") == b"skiplist"
    c.call("ZRANGESTORE", "r", "big", "0", "4")
    assert encoding(c, "r") == b"skiplist"
    c.call("ZUNIONSTORE", "u", "2", "r", "nokey")
    assert encoding(c, "u") == b"skiplist"
    c.call("ZREMRANGEBYRANK", "big", "0", "7")
    c.call("ZUNIONSTORE", "u", "1", "big")
    assert encoding(c, "u") == b"listpack"
    c.call("CONFIG", "SET", "zset-max-listpack-value", "1")
    c.call("ZUNIONSTORE", "u", "1", "big")
    assert encoding(c, "u") == b"skiplist"
    c.call("COPY", "big", "cp")
    assert encoding(c, "cp") == b"skiplist"


@pytest.mark.parametrize("entries", ["128", "0"])
def test_same_answers_in_both_encodings(c, entries):
    c.call("CONFIG", "SET", "zset-max-listpack-entries", entries)
    members = [("m%03d" % i, (i * 37) % 50 / 4) for i in range(100)]
    c.pipeline([("ZADD", "z", s, m) for m, s in members])
    want = sorted(members, key=lambda p: (p[1], p[0]))
    names = [m.encode() for m, _ in want]
    assert c.call("ZRANGE", "z", "0", "-1") == names
    assert c.call("ZRANGE", "z", "10", "19", "REV") == names[::-1][10:20]
    assert c.call("ZRANK", "z", "m042") == names.index(b"m042")
    assert c.call("ZREVRANK", "z", "m042") == 99 - names.index(b"m042")
    assert c.call("ZCOUNT", "z", "(2", "5") == sum(1 for _, s in members if 2 < s <= 5)
    assert c.call("ZRANGEBYSCORE", "z", "3", "4", "LIMIT", "2", "3") == [
        m.encode() for m, s in want if 3 <= s <= 4
    ][2:5]
    assert c.call("ZREVRANGEBYSCORE", "z", "4", "(3", "LIMIT", "1", "2") == [
        m.encode() for m, s in want if 3 < s <= 4
    ][::-1][1:3]
    assert c.call("ZREMRANGEBYSCORE", "z", "0", "1") == sum(1 for _, s in members if s <= 1)
    assert c.call("ZCARD", "z") == sum(1 for _, s in members if s > 1)
    assert c.call("ZPOPMIN", "z", "2") == flat(
        [(m.encode(), repr_score(s)) for m, s in want if s > 1][:2]
    )


def repr_score(s):
    return (b"%d" % s) if s == int(s) else repr(s).encode()


def test_large_zset(c):
    n = 5000
    for start in range(0, n, 1000):
        c.pipeline([("ZADD", "z", i, "member:%d" % i) for i in range(start, start + 1000)])
    assert encoding(c, "z") == b"skiplist"
    assert c.call("ZCARD", "z") == n
    assert c.call("ZRANK", "z", "member:4321") == 4321
    assert c.call("ZRANGE", "z", "2500", "2502") == [b"member:2500", b"member:2501", b"member:2502"]
    assert c.call("ZCOUNT", "z", "(1000", "2000") == 1000
    assert c.call("ZREMRANGEBYRANK", "z", "0", "999") == 1000
    assert c.call("ZRANGE", "z", "0", "0", "WITHSCORES") == [b"member:1000", b"1000"]
    assert c.call("ZREMRANGEBYSCORE", "z", "4000", "+inf") == 1000
    assert c.call("ZREVRANGE", "z", "0", "0") == [b"member:3999"]
    assert c.call("ZSCORE", "z", "member:3999") == b"3999"
    assert c.call("ZADD", "z", "-1", "member:3999") == 0
    assert c.call("ZRANGE", "z", "0", "0") == [b"member:3999"]


# ---------------------------------------------------------------------------
# ZSCAN
# ---------------------------------------------------------------------------


def zscan_all(c, key, *opts):
    cursor = b"0"
    out = []
    for _ in range(100000):
        cursor, items = c.call("ZSCAN", key, cursor, *opts)
        out.extend(zip(items[::2], items[1::2]))
        if cursor == b"0":
            return out
    raise AssertionError("ZSCAN did not finish")


def test_zscan_small_and_options(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 1.5), (b"ab", 2)])
    assert c.call("ZSCAN", "z", "0") == [b"0", [b"a", b"1", b"b", b"1.5", b"ab", b"2"]]
    assert c.call("ZSCAN", "z", "0", "MATCH", "a*", "COUNT", "1") == [b"0", [b"a", b"1", b"ab", b"2"]]
    assert c.call("ZSCAN", "nokey", "0") == [b"0", []]
    assert c.call("ZSCAN", "nokey", "0", "BAD") == [b"0", []]
    assert c.call("ZSCAN", "z", "007") == c.call("ZSCAN", "z", "0")
    assert c.call("ZSCAN", "z", "") == c.call("ZSCAN", "z", "0")
    assert c.err("ZSCAN", "z", " 1") == "ERR invalid cursor"
    assert c.err("ZSCAN", "z", "+") == "ERR invalid cursor"
    assert c.err("ZSCAN", "z", "18446744073709551616") == "ERR invalid cursor"
    assert c.err("ZSCAN", "z", "x") == "ERR invalid cursor"
    assert c.err("ZSCAN", "z", "0", "COUNT", "0") == SYNTAX
    assert c.err("ZSCAN", "z", "0", "COUNT", "x") == NOT_INT
    assert c.err("ZSCAN", "z", "0", "TYPE", "zset") == SYNTAX
    assert c.err("ZSCAN", "z", "0", "MATCH") == SYNTAX
    c.call("SET", "s", "v")
    assert c.err("ZSCAN", "s", "0") == WRONGTYPE


def test_zscan_large_full_iteration(c):
    n = 1000
    c.pipeline([("ZADD", "z", i + 0.1, "m%d" % i) for i in range(n)])
    assert encoding(c, "z") == b"skiplist"
    got = zscan_all(c, "z", "COUNT", "17")
    assert len(got) == n
    assert dict(got)[b"m5"] == b"5.0999999999999996"
    got = zscan_all(c, "z", "MATCH", "m1*", "COUNT", "50")
    assert {m for m, _ in got} == {b"m%d" % i for i in range(n) if str(i).startswith("1")}


def test_zscan_returns_members_present_throughout(c):
    stable = {b"stable:%d" % i for i in range(600)}
    c.pipeline([("ZADD", "z", "1", m) for m in stable])
    cursor = b"0"
    seen = set()
    i = 0
    while True:
        cursor, items = c.call("ZSCAN", "z", cursor, "COUNT", "20")
        seen.update(items[::2])
        c.pipeline([("ZADD", "z", "2", "churn:%d:%d" % (i, j)) for j in range(40)])
        if i > 0:
            c.pipeline([("ZREM", "z", "churn:%d:%d" % (i - 1, j)) for j in range(0, 40, 2)])
        i += 1
        if cursor == b"0":
            break
        assert i < 10000
    assert stable <= seen


# ---------------------------------------------------------------------------
# notifications, WATCH, dirty
# ---------------------------------------------------------------------------


def subscribe_events(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = server.client()
    sub.send("PSUBSCRIBE", "__keyevent@*")
    sub.read_reply()
    return sub


def events(sub, n):
    out = []
    for _ in range(n):
        m = sub.read_reply()
        out.append((m[2].split(b":", 1)[1].decode(), m[3]))
    return out


def assert_quiet(sub, c):
    # a PING round trip through a published marker proves nothing else came
    c.call("PUBLISH", "__keyevent@0__:marker", "x")
    assert events(sub, 1) == [("marker", b"x")]


def test_notifications(server, c):
    sub = subscribe_events(server, c)
    c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert events(sub, 1) == [("zadd", b"z")]
    c.call("ZADD", "z", "1", "a")  # no change: no event
    c.call("ZADD", "z", "NX", "5", "a")
    assert_quiet(sub, c)
    c.call("ZINCRBY", "z", "1", "a")
    c.call("ZADD", "z", "INCR", "1", "a")
    assert events(sub, 2) == [("zincr", b"z"), ("zincr", b"z")]
    c.call("ZREM", "z", "nope")
    assert_quiet(sub, c)
    c.call("ZREM", "z", "a")
    assert events(sub, 1) == [("zrem", b"z")]
    c.call("ZADD", "z", "1", "a", "4", "d", "5", "e", "6", "f")
    assert events(sub, 1) == [("zadd", b"z")]
    c.call("ZREMRANGEBYRANK", "z", "0", "0")
    c.call("ZREMRANGEBYSCORE", "z", "2", "2")
    c.call("ZREMRANGEBYLEX", "z", "[c", "[c")
    c.call("ZREMRANGEBYSCORE", "z", "100", "200")
    assert events(sub, 3) == [("zremrangebyrank", b"z"), ("zremrangebyscore", b"z"), ("zremrangebylex", b"z")]
    c.call("ZPOPMIN", "z")
    c.call("ZPOPMAX", "z", "5")
    assert events(sub, 3) == [("zpopmin", b"z"), ("zpopmax", b"z"), ("del", b"z")]
    c.call("ZADD", "a", "1", "x", "2", "y")
    assert events(sub, 1) == [("zadd", b"a")]
    c.call("ZUNIONSTORE", "d", "1", "a")
    assert events(sub, 1) == [("zunionstore", b"d")]
    c.call("ZINTERSTORE", "d", "1", "a")
    c.call("ZDIFFSTORE", "d", "1", "a")
    c.call("ZRANGESTORE", "d", "a", "0", "0")
    assert events(sub, 3) == [("zinterstore", b"d"), ("zdiffstore", b"d"), ("zrangestore", b"d")]
    c.call("ZRANGESTORE", "d", "a", "5", "6")
    assert events(sub, 1) == [("del", b"d")]
    c.call("ZINTERSTORE", "d", "1", "nokey")  # nothing to delete: no event
    assert_quiet(sub, c)
    c.call("ZREM", "a", "x", "y")
    assert events(sub, 2) == [("zrem", b"a"), ("del", b"a")]
    c.call("ZADD", "m", "1", "x")
    assert events(sub, 1) == [("zadd", b"m")]
    c.call("ZMPOP", "1", "m", "MIN")
    assert events(sub, 2) == [("zpopmin", b"m"), ("del", b"m")]


def test_watch_invalidation(server, c):
    other = server.client()
    cases = [
        (("ZADD", "k", "5", "x"), True),
        (("ZADD", "k", "1", "a"), False),  # no change
        (("ZINCRBY", "k", "1", "a"), True),
        (("ZREM", "k", "a"), True),
        (("ZREM", "k", "nope"), False),
        (("ZPOPMIN", "k"), True),
        (("ZREMRANGEBYSCORE", "k", "100", "200"), False),
        (("ZREMRANGEBYRANK", "k", "0", "0"), True),
        (("ZUNIONSTORE", "k", "1", "k"), True),
        (("ZRANGESTORE", "k", "nokey", "0", "1"), True),
        (("ZSCORE", "k", "a"), False),
    ]
    for cmd, invalidates in cases:
        c.call("DEL", "k")
        c.call("ZADD", "k", "1", "a", "2", "b")
        c.call("WATCH", "k")
        other.call(*cmd)
        c.call("MULTI")
        c.call("PING")
        assert c.call("EXEC") == (None if invalidates else ["PONG"]), cmd


def test_dirty_counts(c):
    def dirty():
        info = c.call("INFO", "persistence").decode()
        return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    d0 = dirty()
    c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert dirty() - d0 == 3
    d0 = dirty()
    c.call("ZADD", "z", "CH", "1", "a", "5", "b")
    assert dirty() - d0 == 1
    d0 = dirty()
    c.call("ZREM", "z", "a", "b", "x")
    assert dirty() - d0 == 2
    d0 = dirty()
    c.call("ZUNIONSTORE", "d", "1", "z")
    assert dirty() - d0 == 1
    d0 = dirty()
    c.call("ZPOPMIN", "d", "5")
    assert dirty() - d0 == 1


# ---------------------------------------------------------------------------
# blocking pops
# ---------------------------------------------------------------------------


def test_bzpopmin_immediate(c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2)])
    assert c.call("BZPOPMIN", "nokey", "z", "0") == [b"z", b"a", b"1"]
    assert c.call("BZPOPMAX", "z", "0") == [b"z", b"b", b"2"]
    assert c.call("EXISTS", "z") == 0
    assert c.call("BZPOPMIN", "z", "0.05") is None
    assert c.err("BZPOPMIN", "z", "x") == "ERR timeout is not a float or out of range"
    assert c.err("BZPOPMIN", "z", "-1") == "ERR timeout is negative"
    assert c.err("BZPOPMIN", "z") == arity("bzpopmin")
    c.call("SET", "s", "v")
    assert c.err("BZPOPMIN", "nokey", "s", "0") == WRONGTYPE


def test_bzpopmin_blocks_and_wakes(server, c):
    b = server.client()
    b.send("BZPOPMIN", "z1", "z2", "0")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("ZADD", "z2", "3", "x", "1", "y")
    assert b.read_reply() == [b"z2", b"y", b"1"]
    assert c.call("ZRANGE", "z2", "0", "-1") == [b"x"]


def test_bzpopmin_fifo_several_clients(server, c):
    clients = []
    for i in range(3):
        cl = server.client()
        cl.send("BZPOPMIN", "z", "0")
        clients.append(cl)
        wait_until(lambda: (b"blocked_clients:%d" % (i + 1)) in c.call("INFO", "clients"))
    c.call("ZADD", "z", "1", "a", "2", "b")
    assert clients[0].read_reply() == [b"z", b"a", b"1"]
    assert clients[1].read_reply() == [b"z", b"b", b"2"]
    assert c.call("EXISTS", "z") == 0
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("ZADD", "z", "9", "c")
    assert clients[2].read_reply() == [b"z", b"c", b"9"]


def test_bzpopmin_on_several_keys_serves_the_key_that_became_ready(server, c):
    b = server.client()
    b.send("BZPOPMIN", "z1", "z2", "0")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("MULTI")
    c.call("ZADD", "z2", "2", "two")
    c.call("ZADD", "z1", "1", "one")
    c.call("EXEC")
    assert b.read_reply() == [b"z2", b"two", b"2"]
    assert c.call("ZRANGE", "z1", "0", "-1") == [b"one"]


def test_bzmpop_on_several_keys_serves_the_key_that_became_ready(server, c):
    b = server.client()
    b.send("BZMPOP", "0", "2", "k1", "k2", "MAX", "COUNT", "10")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("MULTI")
    c.call("ZADD", "k2", "1", "x", "2", "y")
    c.call("ZADD", "k1", "5", "z")
    c.call("EXEC")
    assert b.read_reply() == [b"k2", [[b"y", b"2"], [b"x", b"1"]]]
    assert c.call("ZCARD", "k1") == 1


def test_bzpopmax_timeout(server, c):
    b = server.client()
    t0 = time.monotonic()
    assert b.call("BZPOPMAX", "z", "0.2") is None
    assert 0.15 <= time.monotonic() - t0 < 3
    b.call("HELLO", "3")
    assert b.call("BZPOPMAX", "z", "0.1") is None


def test_bzmpop(server, c):
    zset_of(c, "z", [(b"a", 1), (b"b", 2), (b"c", 3)])
    assert c.call("BZMPOP", "0", "2", "nokey", "z", "MAX", "COUNT", "2") == [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    assert c.call("BZMPOP", "0.05", "1", "nokey", "MIN") is None
    assert c.err("BZMPOP", "x", "1", "z", "MIN") == "ERR timeout is not a float or out of range"
    assert c.err("BZMPOP", "x", "0", "z", "MIN") == "ERR numkeys should be greater than 0"
    assert c.err("BZMPOP", "0", "1", "z", "UP") == SYNTAX
    b = server.client()
    b.send("BZMPOP", "0", "2", "k1", "k2", "MIN", "COUNT", "10")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("ZADD", "k2", "1", "x", "2", "y")
    assert b.read_reply() == [b"k2", [[b"x", b"1"], [b"y", b"2"]]]


def test_blocking_pops_in_multi_do_not_block(c):
    c.call("MULTI")
    c.call("BZPOPMIN", "z", "0")
    c.call("BZMPOP", "0", "1", "z", "MIN")
    c.call("ZADD", "z", "1", "a")
    c.call("BZPOPMAX", "z", "0")
    assert c.call("EXEC") == [None, None, 1, [b"z", b"a", b"1"]]


def test_blocked_client_served_by_zunionstore(server, c):
    b = server.client()
    b.send("BZPOPMAX", "dst", "0")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("ZADD", "src", "1", "a", "2", "b")
    c.call("ZUNIONSTORE", "dst", "1", "src")
    assert b.read_reply() == [b"dst", b"b", b"2"]


def test_wrong_type_key_then_becomes_zset(server, c):
    b = server.client()
    b.send("BZPOPMIN", "k", "0")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("ZADD", "k", "1", "a")
    assert b.read_reply() == [b"k", b"a", b"1"]


def test_new_key_event(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "Ezn")
    sub = server.client()
    sub.send("PSUBSCRIBE", "__keyevent@*")
    sub.read_reply()
    c.call("ZADD", "z", "1", "a")
    c.call("ZADD", "z", "2", "b")
    c.call("ZINCRBY", "n", "1", "a")
    c.call("ZUNIONSTORE", "d", "1", "z")
    c.call("ZUNIONSTORE", "d", "1", "z")
    assert events(sub, 7) == [
        ("new", b"z"), ("zadd", b"z"), ("zadd", b"z"), ("new", b"n"), ("zincr", b"n"),
        ("new", b"d"), ("zunionstore", b"d"),
    ]
    assert events(sub, 1) == [("zunionstore", b"d")]


def test_keyspace_hits_and_misses(c):
    def stats():
        info = c.call("INFO", "stats").decode()
        get = lambda f: int(info.split(f + ":")[1].split("\r\n")[0])  # noqa: E731
        return get("keyspace_hits"), get("keyspace_misses")

    c.call("ZADD", "z", "1", "a", "2", "b")
    c.call("CONFIG", "RESETSTAT")
    c.call("ZSCORE", "z", "a")
    c.call("ZSCORE", "nokey", "a")
    assert stats() == (1, 1)
    c.call("ZADD", "z", "3", "c")
    c.call("ZREM", "z", "c")
    c.call("ZPOPMIN", "nokey")
    c.call("ZREMRANGEBYRANK", "z", "5", "6")
    assert stats() == (1, 1)
    c.call("ZRANGE", "z", "0", "-1")
    c.call("ZUNION", "2", "z", "nokey")
    c.call("ZRANGESTORE", "dst", "z", "0", "0")
    c.call("ZMSCORE", "nokey", "a")
    c.call("ZCARD", "z")
    c.call("ZSCAN", "z", "0")
    c.call("ZRANDMEMBER", "nokey")
    assert stats() == (6, 4)
    c.call("ZUNIONSTORE", "d2", "2", "z", "nokey")
    c.call("ZINTERCARD", "2", "z", "nokey")
    c.call("ZMPOP", "1", "nokey", "MIN")
    c.call("BZPOPMIN", "nokey", "0.01")
    assert stats() == (8, 6)


def test_negative_zero_scores(c):
    # a listpack stores integer scores as integers: -0 comes back as 0
    c.call("ZADD", "lp", "-0", "a")
    assert c.call("ZSCORE", "lp", "a") == b"0"
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "2")
    c.call("ZADD", "sl", "-0", "a", "1", "b", "2", "c")
    assert c.call("OBJECT", "ENCODING", "sl") == b"skiplist"
    assert c.call("ZSCORE", "sl", "a") == b"0"  # added while a listpack
    c.call("ZADD", "sl", "-0", "d")
    assert c.call("ZSCORE", "sl", "d") == b"-0"
    # -0 and 0 are the same score: no update
    assert c.call("ZADD", "sl", "CH", "0", "d") == 0
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "0")
    c.call("ZADD", "src", "-0", "a", "-0", "b", "-0", "c")
    c.call("CONFIG", "SET", "zset-max-listpack-entries", "2")
    # ZRANGESTORE by rank knows the size: a skiplist from the start
    assert c.call("ZRANGESTORE", "dst", "src", "0", "-1") == 3
    assert c.call("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"a", b"-0", b"b", b"-0", b"c", b"-0"]
    # by score it starts as a listpack: the first two lose the sign
    assert c.call("ZRANGESTORE", "dst", "src", "-inf", "+inf", "BYSCORE") == 3
    assert c.call("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"a", b"0", b"b", b"0", b"c", b"-0"]
    assert c.call("ZRANGESTORE", "dst", "src", "-", "+", "BYLEX") == 3
    assert c.call("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"a", b"0", b"b", b"0", b"c", b"-0"]
    # ZADD creating a key starts as a listpack
    c.call("ZADD", "n", "-0", "a", "1", "b", "2", "c")
    assert c.call("ZSCORE", "n", "a") == b"0"
    assert c.call("ZUNION", "1", "src", "WITHSCORES") == [b"a", b"-0", b"b", b"-0", b"c", b"-0"]


def test_waiters_ignore_keys_of_another_type(server, c):
    b = server.client()
    b.send("BZPOPMIN", "k", "0")
    wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"))
    c.call("RPUSH", "k", "x")  # a list: the BZPOPMIN waiter keeps waiting
    l = server.client()
    l.send("BLPOP", "z", "0")
    wait_until(lambda: b"blocked_clients:2" in c.call("INFO", "clients"))
    c.call("ZADD", "z", "1", "m")  # a sorted set: the BLPOP waiter keeps waiting
    time.sleep(0.1)
    assert b"blocked_clients:2" in c.call("INFO", "clients")
    c.call("DEL", "k")
    c.call("ZADD", "k", "2", "n")
    assert b.read_reply() == [b"k", b"n", b"2"]
    c.call("DEL", "z")
    c.call("RPUSH", "z", "v")
    assert l.read_reply() == [b"z", b"v"]
