"""List commands, blocking ones included, and SORT."""

import threading
import time

import pytest

from helpers import wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


def test_push_pop_len_range(c):
    assert c.call("RPUSH", "l", "a", "b", "c") == 3
    assert c.call("LPUSH", "l", "z", "y") == 5
    assert c.call("LRANGE", "l", "0", "-1") == [b"y", b"z", b"a", b"b", b"c"]
    assert c.call("LLEN", "l") == 5
    assert c.call("LPOP", "l") == b"y"
    assert c.call("RPOP", "l") == b"c"
    assert c.call("LPOP", "l", "2") == [b"z", b"a"]
    assert c.call("RPOP", "l", "0") == []
    assert c.call("RPOP", "l", "10") == [b"b"]
    assert c.call("EXISTS", "l") == 0  # emptied lists disappear
    assert c.call("LPOP", "l") is None
    assert c.call("LPOP", "l", "3") is None
    assert c.err("LPOP", "l", "-1") == "ERR value is out of range, must be positive"
    assert c.err("LPOP", "l", "1", "2") == arity("lpop")
    assert c.call("LLEN", "nokey") == 0
    assert c.call("LPUSHX", "nokey", "a") == 0
    assert c.call("RPUSHX", "nokey", "a") == 0
    assert c.call("EXISTS", "nokey") == 0
    c.call("RPUSH", "x", "1")
    assert c.call("RPUSHX", "x", "2", "3") == 3
    assert c.call("LPUSHX", "x", "0") == 4
    c.call("SET", "s", "v")
    for cmd in (("LPUSH", "s", "a"), ("RPOP", "s"), ("LLEN", "s"), ("LRANGE", "s", "0", "1"), ("LINDEX", "s", "0")):
        assert c.err(*cmd) == WRONGTYPE


def test_lrange_and_ltrim_indices(c):
    c.call("RPUSH", "l", *[str(i) for i in range(10)])
    assert c.call("LRANGE", "l", "-3", "-1") == [b"7", b"8", b"9"]
    assert c.call("LRANGE", "l", "5", "100") == [b"5", b"6", b"7", b"8", b"9"]
    assert c.call("LRANGE", "l", "-100", "1") == [b"0", b"1"]
    assert c.call("LRANGE", "l", "6", "2") == []
    assert c.call("LRANGE", "l", "20", "30") == []
    assert c.err("LRANGE", "l", "a", "1") == NOT_INT
    assert c.call("LTRIM", "l", "2", "-3") == "OK"
    assert c.call("LRANGE", "l", "0", "-1") == [b"2", b"3", b"4", b"5", b"6", b"7"]
    assert c.call("LTRIM", "l", "5", "1") == "OK"
    assert c.call("EXISTS", "l") == 0
    assert c.call("LTRIM", "nokey", "0", "1") == "OK"


def test_lindex_lset_linsert_lrem(c):
    c.call("RPUSH", "l", "a", "b", "c", "b", "a", "b")
    assert c.call("LINDEX", "l", "0") == b"a"
    assert c.call("LINDEX", "l", "-1") == b"b"
    assert c.call("LINDEX", "l", "100") is None
    assert c.call("LSET", "l", "-2", "A") == "OK"
    assert c.err("LSET", "l", "100", "x") == "ERR index out of range"
    assert c.err("LSET", "nokey", "0", "x") == "ERR no such key"
    assert c.call("LINSERT", "l", "BEFORE", "c", "before-c") == 7
    assert c.call("LINSERT", "l", "after", "c", "after-c") == 8
    assert c.call("LINSERT", "l", "AFTER", "missing", "x") == -1
    assert c.call("LINSERT", "nokey", "AFTER", "a", "x") == 0
    assert c.err("LINSERT", "l", "MIDDLE", "a", "x") == SYNTAX
    assert c.call("LRANGE", "l", "0", "-1") == [b"a", b"b", b"before-c", b"c", b"after-c", b"b", b"A", b"b"]
    assert c.call("LREM", "l", "-2", "b") == 2
    assert c.call("LRANGE", "l", "0", "-1") == [b"a", b"b", b"before-c", b"c", b"after-c", b"A"]
    assert c.call("LREM", "l", "0", "a") == 1
    assert c.call("LREM", "l", "1", "nothing") == 0
    assert c.call("LREM", "nokey", "1", "a") == 0


def test_lpos(c):
    c.call("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert c.call("LPOS", "l", "c") == 2
    assert c.call("LPOS", "l", "c", "RANK", "2") == 6
    assert c.call("LPOS", "l", "c", "RANK", "-1") == 7
    assert c.call("LPOS", "l", "c", "COUNT", "0") == [2, 6, 7]
    assert c.call("LPOS", "l", "c", "COUNT", "2", "RANK", "-1") == [7, 6]
    assert c.call("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3") == [2]
    assert c.call("LPOS", "l", "x") is None
    assert c.call("LPOS", "l", "x", "COUNT", "5") == []
    assert c.call("LPOS", "nokey", "x") is None
    assert c.err("LPOS", "l", "c", "RANK", "0").startswith("ERR RANK can't be zero")
    assert c.err("LPOS", "l", "c", "COUNT", "-1") == "ERR COUNT can't be negative"
    assert c.err("LPOS", "l", "c", "MAXLEN", "-1") == "ERR MAXLEN can't be negative"
    assert c.err("LPOS", "l", "c", "FOO", "1") == SYNTAX


def test_lmove_rpoplpush_lmpop(c):
    c.call("RPUSH", "src", "a", "b", "c")
    assert c.call("LMOVE", "src", "dst", "LEFT", "RIGHT") == b"a"
    assert c.call("LMOVE", "src", "dst", "RIGHT", "LEFT") == b"c"
    assert c.call("LRANGE", "dst", "0", "-1") == [b"c", b"a"]
    assert c.call("RPOPLPUSH", "src", "dst") == b"b"
    assert c.call("EXISTS", "src") == 0
    assert c.call("LMOVE", "src", "dst", "LEFT", "LEFT") is None
    assert c.err("LMOVE", "dst", "x", "UP", "LEFT") == SYNTAX
    # rotating a list onto itself
    assert c.call("LMOVE", "dst", "dst", "LEFT", "RIGHT") == b"b"
    assert c.call("LRANGE", "dst", "0", "-1") == [b"c", b"a", b"b"]
    c.call("SET", "str", "x")
    assert c.err("LMOVE", "dst", "str", "LEFT", "LEFT") == WRONGTYPE
    assert c.call("LRANGE", "dst", "0", "-1") == [b"c", b"a", b"b"]  # untouched
    assert c.call("LMPOP", "2", "nokey", "dst", "RIGHT", "COUNT", "2") == [b"dst", [b"b", b"a"]]
    assert c.call("LMPOP", "1", "nokey", "LEFT") is None
    assert c.err("LMPOP", "0", "dst", "LEFT") == "ERR numkeys should be greater than 0"
    assert c.err("LMPOP", "3", "dst", "LEFT") == SYNTAX
    assert c.err("LMPOP", "1", "dst", "LEFT", "COUNT", "0") == "ERR count should be greater than 0"
    assert c.err("LMPOP", "1", "dst", "MIDDLE") == SYNTAX


def test_list_encoding_is_quicklist(c):
    c.call("RPUSH", "l", "a")
    assert c.call("OBJECT", "ENCODING", "l") == b"quicklist"
    c.call("RPUSH", "big", *["x" * 100 for _ in range(500)])
    assert c.call("OBJECT", "ENCODING", "big") == b"quicklist"
    assert c.call("LLEN", "big") == 500


def test_blpop_serves_waiting_clients_in_arrival_order(server, c):
    results = {}

    def waiter(name):
        cl = server.client()
        results[name] = cl.call("BLPOP", "q", "5")

    threads = []
    for name in ("first", "second", "third"):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        wait_until(lambda: int(_info(c, "clients")["blocked_clients"]) == len(threads), 5)
    assert c.call("RPUSH", "q", "1", "2") == 2
    wait_until(lambda: len(results) == 2, 5)
    assert results == {"first": [b"q", b"1"], "second": [b"q", b"2"]}
    c.call("RPUSH", "q", "3")
    for t in threads:
        t.join(5)
    assert results["third"] == [b"q", b"3"]
    assert c.call("EXISTS", "q") == 0


def _info(c, section):
    out = {}
    for line in c.call("INFO", section).decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def test_blocking_pops_time_out_with_null(server, c):
    start = time.monotonic()
    assert c.call("BLPOP", "nokey", "0.2") is None
    assert time.monotonic() - start >= 0.18
    assert c.call("BRPOP", "a", "b", "0.1") is None
    assert c.call("BLMOVE", "a", "b", "LEFT", "LEFT", "0.1") is None
    assert c.call("BRPOPLPUSH", "a", "b", "0.1") is None
    assert c.call("BLMPOP", "0.1", "2", "a", "b", "LEFT") is None
    assert c.err("BLPOP", "a", "x") == "ERR timeout is not a float or out of range"
    assert c.err("BLPOP", "a", "-1") == "ERR timeout is negative"
    assert c.call("PING") == "PONG"


def test_blocking_pops_return_at_once_when_data_exists(c):
    c.call("RPUSH", "b", "x", "y")
    assert c.call("BLPOP", "a", "b", "0") == [b"b", b"x"]
    assert c.call("BRPOP", "a", "b", "0") == [b"b", b"y"]
    c.call("RPUSH", "b", "1", "2", "3")
    assert c.call("BLMPOP", "0", "1", "b", "RIGHT", "COUNT", "2") == [b"b", [b"3", b"2"]]
    assert c.call("BLMOVE", "b", "d", "LEFT", "RIGHT", "0") == b"1"
    assert c.call("BRPOPLPUSH", "d", "e", "0") == b"1"
    c.call("SET", "s", "v")
    assert c.err("BLPOP", "s", "0") == WRONGTYPE


def test_push_inside_multi_wakes_waiter_after_exec(server, c):
    got = {}
    t = threading.Thread(target=lambda: got.update(v=server.client().call("BRPOP", "w", "5")))
    t.start()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("MULTI")
    c.call("RPUSH", "w", "a")
    c.call("RPUSH", "w", "b")
    assert c.call("EXEC") == [1, 2]
    t.join(5)
    assert got["v"] == [b"w", b"b"]  # served after the whole transaction
    assert c.call("LRANGE", "w", "0", "-1") == [b"a"]


def test_blocking_commands_inside_multi_do_not_block(c):
    c.call("MULTI")
    c.call("BLPOP", "empty", "10")
    c.call("BLMOVE", "empty", "x", "LEFT", "LEFT", "10")
    start = time.monotonic()
    assert c.call("EXEC") == [None, None]
    assert time.monotonic() - start < 1


def test_waiter_survives_key_deleted_or_changing_type(server, c):
    got = {}
    t = threading.Thread(target=lambda: got.update(v=server.client().call("BLPOP", "k", "5")))
    t.start()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("SET", "k", "string")  # another type: the waiter keeps waiting
    c.call("DEL", "k")
    time.sleep(0.1)
    assert "v" not in got
    c.call("RPUSH", "other", "x")
    c.call("RENAME", "other", "k")  # a list renamed onto the key wakes it
    t.join(5)
    assert got["v"] == [b"k", b"x"]


def test_waiter_on_several_keys_is_served_from_the_key_that_became_ready(server, c):
    # k2 gets data before k1 in one transaction: Redis serves the waiter from
    # k2, the first ready key, not from k1, the first key of its command.
    got = {}
    t = threading.Thread(target=lambda: got.update(v=server.client().call("BLPOP", "k1", "k2", "5")))
    t.start()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("MULTI")
    c.call("RPUSH", "k2", "from-k2")
    c.call("RPUSH", "k1", "from-k1")
    c.call("EXEC")
    t.join(5)
    assert got["v"] == [b"k2", b"from-k2"]
    assert c.call("LRANGE", "k1", "0", "-1") == [b"from-k1"]
    assert c.call("EXISTS", "k2") == 0


def test_blmpop_waiter_is_served_from_the_ready_key_only(server, c):
    w = server.client()
    w.send("BLMPOP", "5", "3", "a", "b", "c", "RIGHT", "COUNT", "5")
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("MULTI")
    c.call("RPUSH", "c", "c1", "c2")
    c.call("RPUSH", "a", "a1")
    c.call("EXEC")
    assert w.read_reply() == [b"c", [b"c2", b"c1"]]
    assert c.call("LRANGE", "a", "0", "-1") == [b"a1"]


def test_waiter_is_served_past_a_key_of_another_type(server, c):
    # Run again as "BLPOP s k 5", the command would fail on the string at s.
    c.call("SET", "s", "string")
    got = {}
    t = threading.Thread(target=lambda: got.update(v=server.client().call("BLPOP", "nolist", "k", "5")))
    t.start()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("MULTI")
    c.call("RPUSH", "k", "x")
    c.call("RENAME", "s", "nolist")
    c.call("EXEC")
    t.join(5)
    assert got["v"] == [b"k", b"x"]


def test_blmove_waiter_is_served_and_pushes_to_destination(server, c):
    got = {}
    t = threading.Thread(target=lambda: got.update(v=server.client().call("BLMOVE", "src", "dst", "RIGHT", "LEFT", "5")))
    t.start()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    c.call("RPUSH", "src", "a", "b")
    t.join(5)
    assert got["v"] == b"b"
    assert c.call("LRANGE", "dst", "0", "-1") == [b"b"]
    assert c.call("LRANGE", "src", "0", "-1") == [b"a"]


def test_disconnected_waiter_is_forgotten(server, c):
    w = server.client()
    w.send("BLPOP", "gone", "0")
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "1", 5)
    w.close()
    wait_until(lambda: _info(c, "clients")["blocked_clients"] == "0", 5)
    c.call("RPUSH", "gone", "x")
    assert c.call("LRANGE", "gone", "0", "-1") == [b"x"]


def test_list_keyspace_notifications(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = server.client()
    sub.call("PSUBSCRIBE", "__keyevent@0__:*")
    c.call("RPUSH", "l", "a", "b")
    c.call("LPOP", "l")
    c.call("LSET", "l", "0", "x")
    c.call("RPOP", "l")
    events = []
    sub.settimeout(5)
    for _ in range(5):
        m = sub.read_reply()
        events.append(m[2].decode().split(":")[-1])
    assert events == ["rpush", "lpop", "lset", "rpop", "del"]


def test_watch_invalidated_by_list_push(server, c):
    c.call("WATCH", "l")
    server.client().call("RPUSH", "l", "x")
    c.call("MULTI")
    c.call("PING")
    assert c.call("EXEC") is None


def test_sort_numeric_alpha_limit_desc(c):
    c.call("RPUSH", "n", "3", "1", "2", "10")
    assert c.call("SORT", "n") == [b"1", b"2", b"3", b"10"]
    assert c.call("SORT", "n", "DESC") == [b"10", b"3", b"2", b"1"]
    assert c.call("SORT", "n", "ALPHA") == [b"1", b"10", b"2", b"3"]
    assert c.call("SORT", "n", "LIMIT", "1", "2") == [b"2", b"3"]
    assert c.call("SORT", "n", "LIMIT", "10", "2") == []
    c.call("RPUSH", "w", "a", "b")
    assert c.err("SORT", "w") == "ERR One or more scores can't be converted into double"
    assert c.call("SORT", "nokey") == []
    assert c.err("SORT", "n", "FOO") == SYNTAX
    c.call("SET", "s", "x")
    assert c.err("SORT", "s") == WRONGTYPE
    c.call("SADD", "set", "5", "4", "6")
    assert c.call("SORT", "set") == [b"4", b"5", b"6"]
    c.call("ZADD", "z", "1", "c", "2", "b", "3", "a")
    assert c.call("SORT", "z", "ALPHA") == [b"a", b"b", b"c"]


def test_sort_by_and_get_patterns(c):
    c.call("RPUSH", "ids", "1", "2", "3")
    c.call("MSET", "w_1", "30", "w_2", "10", "w_3", "20", "name_1", "one", "name_2", "two")
    c.call("HSET", "h_1", "f", "b")
    c.call("HSET", "h_2", "f", "c")
    c.call("HSET", "h_3", "f", "a")
    assert c.call("SORT", "ids", "BY", "w_*") == [b"2", b"3", b"1"]
    assert c.call("SORT", "ids", "BY", "w_*", "GET", "#", "GET", "name_*") == [b"2", b"two", b"3", None, b"1", b"one"]
    assert c.call("SORT", "ids", "BY", "h_*->f", "ALPHA") == [b"3", b"1", b"2"]
    assert c.call("SORT", "ids", "BY", "nosort") == [b"1", b"2", b"3"]
    assert c.call("SORT", "ids", "BY", "nosort", "GET", "h_*->f") == [b"b", b"c", b"a"]


def test_sort_store_and_sort_ro(c):
    c.call("RPUSH", "n", "3", "1", "2")
    assert c.call("SORT", "n", "STORE", "out") == 3
    assert c.call("LRANGE", "out", "0", "-1") == [b"1", b"2", b"3"]
    assert c.call("SORT", "empty", "STORE", "out") == 0
    assert c.call("EXISTS", "out") == 0
    assert c.call("SORT_RO", "n", "DESC") == [b"3", b"2", b"1"]
    assert c.err("SORT_RO", "n", "STORE", "x") == SYNTAX


def _used_memory(c):
    return int(_info(c, "memory")["used_memory"])


@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_list_compress_depth_compresses_inner_nodes(server, c):
    c.call("SET", "warm-up", "x")  # the first key's fixed costs are not the list's
    items = ["item-%d-some-compressible-payload-payload" % i for i in range(20000)]

    def load(key):
        for i in range(0, len(items), 1000):
            c.call("RPUSH", key, *items[i:i + 1000])
        return _used_memory(c)

    before = _used_memory(c)
    plain = load("plain") - before
    assert " ql_compressed:0 " in c.call("DEBUG", "OBJECT", "plain")
    c.call("CONFIG", "SET", "list-compress-depth", "1")
    before = _used_memory(c)
    packed = load("packed") - before
    line = c.call("DEBUG", "OBJECT", "packed")
    assert " ql_compressed:1 " in line and " encoding:quicklist " in line
    assert packed * 3 < plain, (packed, plain)
    assert c.call("MEMORY", "USAGE", "packed") * 2 < c.call("MEMORY", "USAGE", "plain")
    # Same contents, however stored.
    assert c.call("DEBUG", "DIGEST-VALUE", "packed") == c.call("DEBUG", "DIGEST-VALUE", "plain")
    assert c.call("LINDEX", "packed", "12345") == items[12345].encode()
    assert c.call("LRANGE", "packed", "9998", "10001") == [x.encode() for x in items[9998:10002]]


def test_compressed_list_reads_and_writes_like_a_plain_one(server, c):
    c.call("CONFIG", "SET", "list-compress-depth", "2")
    c.call("CONFIG", "SET", "list-max-listpack-size", "4")
    model = ["element-%03d-padding-padding-padding" % i for i in range(300)]
    c.call("RPUSH", "l", *model)

    def check():
        assert c.call("LRANGE", "l", "0", "-1") == [x.encode() for x in model]
        assert c.call("LLEN", "l") == len(model)

    check()
    assert c.call("LSET", "l", "150", "changed") == "OK"
    model[150] = "changed"
    assert c.call("LINSERT", "l", "BEFORE", "element-100-padding-padding-padding", "new") == len(model) + 1
    model.insert(100, "new")
    assert c.call("LREM", "l", "0", "element-200-padding-padding-padding") == 1
    model.remove("element-200-padding-padding-padding")
    assert c.call("LPOS", "l", "element-250-padding-padding-padding") == model.index("element-250-padding-padding-padding")
    assert c.call("LINDEX", "l", "-7") == model[-7].encode()
    check()
    assert c.call("LTRIM", "l", "20", "-20") == "OK"
    model = model[20:-19]
    check()
    for _ in range(100):
        assert c.call("LPOP", "l") == model.pop(0).encode()
        assert c.call("RPOP", "l") == model.pop().encode()
    check()
