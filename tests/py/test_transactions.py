"""MULTI / EXEC / DISCARD / WATCH / UNWATCH."""

import threading
import time

import pytest

from helpers import RespError, wait_until

EXECABORT = "EXECABORT Transaction discarded because of previous errors."
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_multi_exec_basic(c):
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("INCR", "a") == "QUEUED"
    assert c.call("GET", "a") == "QUEUED"
    assert c.call("EXEC") == ["OK", 2, b"2"]
    assert c.call("GET", "a") == b"2"


def test_multi_exec_raw_wire(server):
    raw = server.raw()
    raw.send(b"MULTI\r\nSET a 1\r\nGET a\r\nEXEC\r\n")
    raw.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n1\r\n")
    raw.send(b"MULTI\r\nEXEC\r\n")
    raw.expect(b"+OK\r\n*0\r\n")


def test_exec_discard_without_multi(c):
    assert c.err("EXEC") == "ERR EXEC without MULTI"
    assert c.err("DISCARD") == "ERR DISCARD without MULTI"


def test_nested_multi(c):
    c.call("MULTI")
    # error, but the transaction is NOT flagged as failed
    assert c.err("MULTI") == "ERR MULTI calls can not be nested"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("EXEC") == ["OK"]


def test_watch_inside_multi(c):
    c.call("MULTI")
    assert c.err("WATCH", "a") == "ERR WATCH inside MULTI is not allowed"
    assert c.call("SET", "a", "2") == "QUEUED"
    assert c.call("EXEC") == ["OK"]


def test_discard(c):
    c.call("SET", "a", "0")
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("DISCARD") == "OK"
    assert c.call("GET", "a") == b"0"
    assert c.err("EXEC") == "ERR EXEC without MULTI"


def test_execabort_unknown_command(c):
    c.call("MULTI")
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.err("FOO", "bar") == "ERR unknown command 'FOO', with args beginning with: 'bar' "
    assert c.call("SET", "b", "1") == "QUEUED"
    assert c.err("EXEC") == EXECABORT
    assert c.call("EXISTS", "a", "b") == 0
    # no longer in MULTI
    assert c.err("EXEC") == "ERR EXEC without MULTI"


def test_execabort_wrong_arity(c):
    c.call("MULTI")
    assert c.err("GET") == "ERR wrong number of arguments for 'get' command"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.err("EXEC") == EXECABORT
    assert c.call("EXISTS", "a") == 0


def test_execabort_raw_wire(server):
    raw = server.raw()
    raw.send(b"MULTI\r\nSET a\r\nEXEC\r\n")
    raw.expect(
        b"+OK\r\n-ERR wrong number of arguments for 'set' command\r\n"
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    )


def test_runtime_errors_inside_exec(c):
    c.call("RPUSH", "l", "x")
    c.call("MULTI")
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("INCR", "l") == "QUEUED"
    assert c.call("SET", "b", "v", "NX", "XX") == "QUEUED"  # syntax checked at run time
    assert c.call("INCR", "a") == "QUEUED"
    res = c.call("EXEC")
    assert res == ["OK", RespError(WRONGTYPE), RespError("ERR syntax error"), 2]
    # the other commands ran
    assert c.call("GET", "a") == b"2"


def test_exec_error_wire_format(server):
    raw = server.raw()
    raw.send(b"RPUSH l x\r\nMULTI\r\nINCR l\r\nEXEC\r\n")
    raw.expect(b":1\r\n+OK\r\n+QUEUED\r\n*1\r\n-" + WRONGTYPE.encode() + b"\r\n")


def test_multi_state_is_per_connection(server, c):
    other = server.client()
    c.call("MULTI")
    c.call("SET", "a", "1")
    assert other.call("GET", "a") is None
    assert other.call("SET", "a", "x") == "OK"
    assert c.call("EXEC") == ["OK"]
    assert other.call("GET", "a") == b"1"


def test_watch_unwatch_basics(c):
    assert c.call("WATCH", "a", "b") == "OK"
    assert c.call("UNWATCH") == "OK"
    assert c.call("UNWATCH") == "OK"
    assert c.err("WATCH") == "ERR wrong number of arguments for 'watch' command"


def _watched_exec(c, other, setup=(), between=(), key="k"):
    c.call("FLUSHALL")
    for cmd in setup:
        c.call(*cmd)
    assert c.call("WATCH", key) == "OK"
    for cmd in between:
        if cmd == "sleep":
            time.sleep(0.25)
        else:
            other.call(*cmd)
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "x", "1") == "QUEUED"
    return c.call("EXEC")


def test_watch_invalidated_by_other_client_write(server, c):
    o = server.client()
    assert _watched_exec(c, o, [("SET", "k", "1")], [("SET", "k", "2")]) is None
    assert c.call("EXISTS", "x") == 0
    assert _watched_exec(c, o, [], [("SET", "k", "2")]) is None  # created
    assert _watched_exec(c, o, [("SET", "k", "1")], [("SET", "k", "1")]) is None  # same value
    assert _watched_exec(c, o, [("SET", "k", "1")], [("EXPIRE", "k", "100")]) is None
    assert _watched_exec(c, o, [("SET", "k", "1")], [("DEL", "k")]) is None
    assert _watched_exec(c, o, [("SET", "k", "1")], [("RENAME", "k", "k2")]) is None
    assert _watched_exec(c, o, [("SET", "k", "1")], [("SWAPDB", "0", "1")]) is None


def test_watch_not_invalidated(server, c):
    o = server.client()
    assert _watched_exec(c, o, [("SET", "k", "1")], [("GET", "k")]) == ["OK"]
    assert _watched_exec(c, o, [("SET", "k", "1")], [("SET", "other", "1")]) == ["OK"]
    assert _watched_exec(c, o, [("SET", "k", "1")], [("SELECT", "1"), ("SET", "k", "2"), ("SELECT", "0")]) == ["OK"]
    assert _watched_exec(c, o, [], [("DEL", "k")]) == ["OK"]  # no-op delete
    assert c.call("GET", "x") == b"1"


def test_watch_exec_nil_wire(server):
    raw = server.raw()
    other = server.client()
    raw.send(b"WATCH k\r\n")
    raw.expect(b"+OK\r\n")
    other.call("SET", "k", "v")
    raw.send(b"MULTI\r\nSET x 1\r\nEXEC\r\n")
    raw.expect(b"+OK\r\n+QUEUED\r\n*-1\r\n")
    # RESP3: null
    raw.send(b"HELLO 3\r\n")
    raw.read_available(0.3)
    raw.send(b"WATCH k\r\n")
    raw.expect(b"+OK\r\n")
    other.call("SET", "k", "v2")
    raw.send(b"MULTI\r\nSET x 1\r\nEXEC\r\n")
    raw.expect(b"+OK\r\n+QUEUED\r\n_\r\n")


def test_watch_own_write_invalidates(c):
    c.call("SET", "k", "1")
    c.call("WATCH", "k")
    c.call("SET", "k", "2")
    c.call("MULTI")
    c.call("SET", "x", "1")
    assert c.call("EXEC") is None


def test_watch_invalidated_by_expiry(server, c):
    o = server.client()
    assert _watched_exec(c, o, [("SET", "k", "1", "PX", "100")], ["sleep"]) is None
    assert _watched_exec(c, o, [("SET", "k", "1", "PX", "100")], ["sleep", ("GET", "k")]) is None


def test_watch_invalidated_by_flush(server, c):
    o = server.client()
    assert _watched_exec(c, o, [("SET", "k", "1")], [("FLUSHALL",)]) is None
    assert _watched_exec(c, o, [("SET", "k", "1")], [("FLUSHDB",)]) is None
    # flushing a database where the watched key does not exist does not invalidate
    assert _watched_exec(c, o, [], [("FLUSHALL",)]) == ["OK"]


def test_unwatch_exec_discard_clear_watches(server, c):
    o = server.client()
    c.call("SET", "k", "1")
    c.call("WATCH", "k")
    c.call("UNWATCH")
    o.call("SET", "k", "2")
    c.call("MULTI")
    c.call("SET", "x", "1")
    assert c.call("EXEC") == ["OK"]
    # after EXEC the watch is gone
    c.call("WATCH", "k")
    c.call("MULTI")
    c.call("EXEC")
    o.call("SET", "k", "3")
    c.call("MULTI")
    c.call("SET", "x", "2")
    assert c.call("EXEC") == ["OK"]
    # DISCARD also unwatches
    c.call("WATCH", "k")
    c.call("MULTI")
    c.call("DISCARD")
    o.call("SET", "k", "4")
    c.call("MULTI")
    c.call("SET", "x", "3")
    assert c.call("EXEC") == ["OK"]


def test_watch_aborted_exec_then_works_again(server, c):
    o = server.client()
    c.call("WATCH", "k")
    o.call("SET", "k", "1")
    c.call("MULTI")
    assert c.call("EXEC") is None
    c.call("MULTI")
    c.call("SET", "k", "mine")
    assert c.call("EXEC") == ["OK"]


def test_reset_and_quit_in_multi(server):
    cl = server.client()
    cl.call("MULTI")
    cl.call("SET", "a", "1")
    assert cl.call("RESET") == "RESET"
    assert cl.call("GET", "a") is None
    cl.call("MULTI")
    cl.send("QUIT")
    assert cl.read_reply() == "OK"
    assert cl.is_closed()


def test_multi_with_subscribe_resp2(c):
    c.call("MULTI")
    assert c.call("SUBSCRIBE", "x") == "QUEUED"
    assert c.call("PING") == "QUEUED"
    assert c.call("EXEC") == [[b"subscribe", b"x", 1], [b"pong", b""]]
    assert c.call("RESET") == "RESET"


def test_cas_race_two_clients(server):
    """WATCH/GET/MULTI/SET/EXEC increments from threads: final == successful EXECs."""
    setup = server.client()
    setup.call("SET", "counter", "0")
    iterations = 400
    nthreads = 2
    successes = [0] * nthreads
    aborts = [0] * nthreads
    errors = []

    def worker(idx):
        try:
            cl = server.client()
            for _ in range(iterations):
                assert cl.call("WATCH", "counter") == "OK"
                v = int(cl.call("GET", "counter"))
                assert cl.call("MULTI") == "OK"
                assert cl.call("SET", "counter", v + 1) == "QUEUED"
                res = cl.call("EXEC")
                if res is None:
                    aborts[idx] += 1
                else:
                    assert res == ["OK"]
                    successes[idx] += 1
            cl.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(successes) + sum(aborts) == iterations * nthreads
    assert int(setup.call("GET", "counter")) == sum(successes)
    assert sum(successes) > 0


# Redis 7.0's rules for watched keys and expiry (touchWatchedKey, isWatchedKeyExpired,
# touchAllWatchedKeysInDb): a key already expired when watched is already gone for its
# readers, so deleting it (lazily, by DEL, by FLUSHALL, by SWAPDB) changes nothing; a live
# key that expires, or an expired key that comes back, does.
WATCH_EXPIRY_CASES = {
    "expired-at-watch-untouched": ("expired", [], True),
    "expired-at-watch-then-set": ("expired", [("SET", "k", "w")], False),
    "expired-at-watch-deleted-by-get": ("expired", [("GET", "k")], True),
    "expired-at-watch-deleted-by-del": ("expired", [("DEL", "k")], True),
    "expired-at-watch-deleted-then-set": ("expired", [("GET", "k"), ("SET", "k", "x")], False),
    "expired-at-watch-flushall": ("expired", [("FLUSHALL",)], True),
    "expired-at-watch-swapdb-with-nothing": ("expired", [("SWAPDB", "0", "1")], True),
    "expired-at-watch-swapdb-with-live": (
        "expired", [("SELECT", "1"), ("SET", "k", "v"), ("SWAPDB", "0", "1")], False),
    "live-expires-before-exec": ("expiring", ["wait"], False),
    "live-expires-deleted-by-get": ("expiring", ["wait", ("GET", "k")], False),
    "live-flushall": ("live", [("FLUSHALL",)], False),
    "missing-flushall": ("missing", [("FLUSHALL",)], True),
    "missing-swapdb-with-live": (
        "missing", [("SELECT", "1"), ("SET", "k", "v"), ("SWAPDB", "0", "1")], False),
    "missing-swapdb-with-expired": (
        "missing", [("SELECT", "1"), ("SET", "k", "v", "PX", "1"), "wait1",
                    ("SWAPDB", "0", "1")], True),
}


@pytest.mark.parametrize("case", sorted(WATCH_EXPIRY_CASES))
@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_watch_and_expired_keys(server, c, case):
    start, steps, succeeds = WATCH_EXPIRY_CASES[case]
    other = server.client()
    other.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # keys go only when touched
    if start == "live":
        other.call("SET", "k", "v")
    elif start == "expired":
        other.call("SET", "k", "v", "PX", "1")
        gone = time.time() * 1000 + 5
        wait_until(lambda: time.time() * 1000 > gone, 2)
    elif start == "expiring":
        other.call("SET", "k", "v", "PX", "300")
    assert c.call("WATCH", "k") == "OK"
    for step in steps:
        if step in ("wait", "wait1"):
            gone = time.time() * 1000 + (310 if step == "wait" else 5)
            wait_until(lambda: time.time() * 1000 > gone, 2)
        else:
            other.call(*step)
    assert c.call("MULTI") == "OK"
    assert c.call("PING") == "QUEUED"
    assert c.call("EXEC") == (["PONG"] if succeeds else None)
