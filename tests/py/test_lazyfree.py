"""The lazyfree counters of INFO memory, as Redis 7.0 counts them (lazyfree.c).

`lazyfreed_objects` counts the values freed in the background: a value whose free
effort is over 64 (list nodes, hash-table / skip-list elements) deleted lazily
(UNLINK; DEL / GETDEL with lazyfree-lazy-user-del; overwrite with
lazyfree-lazy-server-del; expiry with lazyfree-lazy-expire), and every key of a
database flushed asynchronously.  CONFIG RESETSTAT resets it.  Every test passes
with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import pytest

from helpers import parse_info, wait_until


def lazyfree(c):
    f = parse_info(c.call("INFO", "memory"))[1]
    return int(f["lazyfree_pending_objects"]), int(f["lazyfreed_objects"])


def settled(c):
    """lazyfreed_objects once nothing is pending (Redis frees in a thread)."""
    wait_until(lambda: lazyfree(c)[0] == 0, 10)
    return lazyfree(c)[1]


def big_set(c, key, n):
    c.call("SADD", key, *["m%d" % i for i in range(n)])


@pytest.fixture
def fresh(c):
    settled(c)
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    assert lazyfree(c) == (0, 0)
    return c


def test_unlink_counts_only_values_over_the_threshold(fresh):
    c = fresh
    big_set(c, "s65", 65)
    big_set(c, "s64", 64)
    c.call("SADD", "ints", *range(100))
    c.call("RPUSH", "small-list", *range(1000))
    c.call("RPUSH", "long-list", *(["x" * 100] * 10000))
    c.call("ZADD", "z", *[x for i in range(200) for x in (i, "m%d" % i)])
    assert c.call("OBJECT", "ENCODING", "s64") == b"hashtable"
    assert c.call("OBJECT", "ENCODING", "ints") == b"intset"
    assert c.call("UNLINK", "s65") == 1
    assert settled(c) == 1
    assert c.call("UNLINK", "s64", "ints", "small-list") == 3
    assert settled(c) == 1
    assert c.call("UNLINK", "long-list", "z") == 2
    assert settled(c) == 3


def test_del_is_lazy_only_with_lazyfree_lazy_user_del(fresh):
    c = fresh
    big_set(c, "a", 600)
    big_set(c, "b", 600)
    big_set(c, "g", 600)
    assert c.call("DEL", "a") == 1
    assert settled(c) == 0
    assert c.call("CONFIG", "SET", "lazyfree-lazy-user-del", "yes") == "OK"
    assert c.call("DEL", "b") == 1
    assert settled(c) == 1


def test_overwrite_is_lazy_with_lazyfree_lazy_server_del(fresh):
    c = fresh
    big_set(c, "k", 100)
    assert c.call("SET", "k", "v") == "OK"
    assert settled(c) == 0
    assert c.call("CONFIG", "SET", "lazyfree-lazy-server-del", "yes") == "OK"
    big_set(c, "k2", 100)
    assert c.call("SET", "k2", "v") == "OK"
    assert settled(c) == 1


def test_flushes(fresh):
    c = fresh
    for i in range(10):
        c.call("SET", "k%d" % i, i)
    assert c.call("FLUSHALL", "ASYNC") == "OK"
    assert settled(c) == 10
    assert c.call("FLUSHALL", "ASYNC") == "OK"
    assert settled(c) == 10
    for i in range(5):
        c.call("SET", "k%d" % i, i)
    assert c.call("FLUSHDB", "ASYNC") == "OK"
    assert settled(c) == 15
    c.call("MSET", "a", 1, "b", 2, "c", 3)
    assert c.call("FLUSHALL") == "OK"
    assert settled(c) == 15
    assert c.call("CONFIG", "SET", "lazyfree-lazy-user-flush", "yes") == "OK"
    c.call("MSET", "a", 1, "b", 2, "c", 3)
    assert c.call("FLUSHALL") == "OK"
    assert settled(c) == 18
    c.call("MSET", "a", 1, "b", 2, "c", 3)
    assert c.call("FLUSHALL", "SYNC") == "OK"
    assert settled(c) == 18
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    assert lazyfree(c) == (0, 0)


@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_lazy_expiry_with_lazyfree_lazy_expire(fresh):
    c = fresh
    assert c.call("CONFIG", "SET", "lazyfree-lazy-expire", "yes") == "OK"
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    big_set(c, "s", 100)
    c.call("PEXPIRE", "s", 1)
    wait_until(lambda: c.call("EXISTS", "s") == 0, 5)
    assert settled(c) == 1
