"""maxmemory and eviction policies.

The limit is set relative to the memory the idle server already uses
(used_memory right after start + 2 MB) so that the test exercises the policy,
not the baseline footprint of a particular implementation.
"""

import time

import pytest

from helpers import RespError, parse_info

OOM = "OOM command not allowed when used memory > 'maxmemory'."
VALUE = "x" * 1000
SLACK = 128 * 1024  # the last write may overshoot the limit a little


def stats(c):
    _, f = parse_info(c.call("INFO", "everything"))
    return int(f["used_memory"]), int(f["evicted_keys"])


def setup_limit(c, policy, extra=2 * 1024 * 1024):
    base, _ = stats(c)
    limit = base + extra
    assert c.call("CONFIG", "SET", "maxmemory", limit, "maxmemory-policy", policy) == "OK"
    return limit


def exists_count(c, keys):
    return sum(c.pipeline([("EXISTS", k) for k in keys]))


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_policies_evict_and_stay_near_limit(c, policy):
    limit = setup_limit(c, policy)
    n = 5000
    for b in range(0, n, 500):
        reps = c.pipeline([("SET", "k:%d" % i, VALUE) for i in range(b, b + 500)])
        assert reps == ["OK"] * 500  # writes never fail with an allkeys policy
    used, evicted = stats(c)
    assert used <= limit + SLACK, (used, limit)
    assert used >= limit * 0.7, (used, limit)
    assert evicted > 0
    dbsize = c.call("DBSIZE")
    assert dbsize < n
    assert dbsize + evicted == n
    _, f = parse_info(c.call("INFO", "memory"))
    assert f["maxmemory"] == str(limit)
    assert f["maxmemory_policy"] == policy


def test_allkeys_lru_keeps_recently_used_keys(c):
    extra = 3 * 1024 * 1024
    base, _ = stats(c)
    setup_limit(c, "allkeys-lru", extra)
    # fill to ~60% of the headroom with "old" keys (adaptive: per-key overhead may differ)
    old = []
    while stats(c)[0] < base + 0.6 * extra:
        batch = ["old:%d" % i for i in range(len(old), len(old) + 100)]
        c.pipeline([("SET", k, VALUE) for k in batch])
        old += batch
        assert len(old) < 100000
    assert stats(c)[1] == 0
    time.sleep(2.1)  # Redis' LRU clock resolution is one second
    hot, cold = old[:50], old[50:]
    c.pipeline([("GET", k) for k in hot])
    new = []
    while stats(c)[1] < len(cold) // 3:
        batch = ["new:%d" % i for i in range(len(new), len(new) + 100)]
        c.pipeline([("SET", k, VALUE) for k in batch])
        new += batch
        assert len(new) < 100000
    # the least recently used keys went first
    assert exists_count(c, hot) >= 48
    assert exists_count(c, new) >= len(new) * 0.95


def test_allkeys_lfu_keeps_frequently_used_keys(c):
    setup_limit(c, "allkeys-lfu")
    hot = ["hot:%d" % i for i in range(50)]
    c.pipeline([("SET", k, "x" * 100) for k in hot])
    for _ in range(30):
        c.pipeline([("GET", k) for k in hot])
    for b in range(0, 5000, 500):
        c.pipeline([("SET", "cold:%d" % i, VALUE) for i in range(b, b + 500)])
    _, evicted = stats(c)
    assert evicted > 1000
    assert exists_count(c, hot) >= 48


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_only_evict_keys_with_ttl(c, policy):
    limit = setup_limit(c, policy)
    persistent = []
    for b in range(40):
        cmds = [("SET", "v:%d:%d" % (b, i), VALUE, "EX", "10000") for i in range(100)]
        keys = ["p:%d:%d" % (b, i) for i in range(5)]
        cmds += [("SET", k, "y" * 100) for k in keys]
        persistent += keys
        assert c.pipeline(cmds) == ["OK"] * len(cmds)
    used, evicted = stats(c)
    assert evicted > 1000
    assert used <= limit + SLACK
    assert exists_count(c, persistent) == len(persistent)
    _, f = parse_info(c.call("INFO", "keyspace"))
    keys_, expires_ = [int(x.split("=")[1]) for x in f["db0"].split(",")[:2]]
    assert keys_ - expires_ == len(persistent)


def test_volatile_ttl_evicts_shortest_ttl_first(c):
    setup_limit(c, "volatile-ttl")
    cmds = []
    for i in range(2000):
        cmds.append(("SET", "short:%d" % i, VALUE, "EX", "1000"))
        cmds.append(("SET", "long:%d" % i, VALUE, "EX", "100000"))
    c.pipeline(cmds)
    short = exists_count(c, ["short:%d" % i for i in range(2000)])
    long_ = exists_count(c, ["long:%d" % i for i in range(2000)])
    assert long_ > 3 * short, (short, long_)


def test_volatile_policy_without_volatile_keys_gives_oom(c):
    setup_limit(c, "volatile-lru")
    errors = []
    for b in range(0, 5000, 500):
        reps = c.pipeline([("SET", "p:%d" % i, VALUE) for i in range(b, b + 500)])
        errors += [r for r in reps if isinstance(r, RespError)]
        if errors:
            break
    assert errors and errors[0].msg == OOM
    assert stats(c)[1] == 0


def test_noeviction_oom(server, c):
    limit = setup_limit(c, "noeviction")
    errors = []
    ok = 0
    for b in range(0, 5000, 500):
        reps = c.pipeline([("SET", "k:%d" % i, VALUE) for i in range(b, b + 500)])
        ok += reps.count("OK")
        errors += [r for r in reps if isinstance(r, RespError)]
    assert ok > 500
    assert errors and all(e.msg == OOM for e in errors)
    used, evicted = stats(c)
    assert evicted == 0
    assert used <= limit + SLACK
    assert c.call("DBSIZE") == ok
    # denyoom commands fail, others work
    assert c.err("SET", "new", "v") == OOM
    assert c.err("APPEND", "k:0", "x") == OOM
    assert c.err("INCR", "counter") == OOM
    assert c.call("GET", "k:0") == VALUE.encode()
    assert c.call("EXPIRE", "k:0", "100") == 1
    assert c.call("DEL", "k:1") == 1
    assert c.call("PING") == "PONG"
    # raw error line
    raw = server.raw()
    raw.send(b"SET another v\r\n")
    raw.expect(("-" + OOM + "\r\n").encode())
    # OOM inside MULTI is reported at queue time and aborts EXEC
    c.call("MULTI")
    assert c.err("SET", "x", "y") == OOM
    assert c.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    # freeing memory makes writes work again
    c.call("FLUSHALL")
    assert c.call("SET", "new", "v") == "OK"


def test_lowering_maxmemory_at_runtime_evicts(c):
    c.pipeline([("SET", "k:%d" % i, VALUE) for i in range(3000)])
    used, _ = stats(c)
    target = used - 1024 * 1024
    c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    c.call("CONFIG", "SET", "maxmemory", target)
    c.call("SET", "trigger", "1")
    used2, evicted = stats(c)
    assert evicted > 500
    assert used2 <= target + SLACK


def test_evicted_keyspace_event(server, c):
    c.call("CONFIG", "SET", "notify-keyspace-events", "Ee")
    sub = server.client()
    sub.send("SUBSCRIBE", "__keyevent@0__:evicted")
    assert sub.read_reply() == [b"subscribe", b"__keyevent@0__:evicted", 1]
    setup_limit(c, "allkeys-random")
    c.pipeline([("SET", "k:%d" % i, VALUE) for i in range(4000)])
    msg = sub.read_reply()
    assert msg[:2] == [b"message", b"__keyevent@0__:evicted"]
    assert msg[2].startswith(b"k:")


@pytest.mark.server(args=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"])
def test_maxmemory_from_command_line(c):
    assert c.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"3145728"]
    assert c.call("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"allkeys-lru"]
    _, f = parse_info(c.call("INFO", "memory"))
    assert f["maxmemory_human"] == "3.00M"


def test_first_write_after_flushall_costs_what_the_key_costs(c):
    """A maxmemory set a little above used_memory right after FLUSHALL can be filled: the
    first key in an empty database costs about what the key itself costs (Redis: a small
    hash table), not a large index allocated on first use."""
    c.call("FLUSHALL")
    base, _ = stats(c)
    c.call("SET", "first", "v")
    after, _ = stats(c)
    assert after - base < 64 * 1024
    c.call("SELECT", "5")  # likewise in another database
    base, _ = stats(c)
    c.call("SET", "first", "v")
    after, _ = stats(c)
    assert after - base < 64 * 1024
    c.call("SELECT", "0")
    c.call("FLUSHALL")
    base, _ = stats(c)
    assert c.call("CONFIG", "SET", "maxmemory", base + 100 * 1024, "maxmemory-policy",
                  "noeviction") == "OK"
    written = 0
    for i in range(1000):
        try:
            c.call("SET", "k:%d" % i, "x" * 100)
            written += 1
        except RespError as e:
            assert e.msg == OOM
            break
    assert 100 < written < 1000
