"""Key expiry: lazy (on access) and active (background cycle at default hz)."""

import time

import pytest

from helpers import info_field, parse_info, wait_until

DEBUG = pytest.mark.server(args=["--enable-debug-command", "yes"])


def expired_keys(c):
    return int(info_field(c, "expired_keys", "stats"))


@DEBUG
def test_lazy_expiry_on_access(c):
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    c.call("SET", "k", "v", "PX", "50")
    c.call("SET", "keep", "v")
    time.sleep(0.15)
    # not accessed: with active expiry disabled the key is still stored
    assert c.call("DBSIZE") == 2
    assert expired_keys(c) == 0
    # access finds it logically expired and deletes it
    assert c.call("GET", "k") is None
    assert c.call("DBSIZE") == 1
    assert expired_keys(c) == 1
    assert c.call("GET", "keep") == b"v"


@DEBUG
def test_lazy_expiry_various_commands(c):
    c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    cmds = [
        ("EXISTS", "k"), ("TTL", "k"), ("PTTL", "k"), ("TYPE", "k"), ("STRLEN", "k"),
        ("GET", "k"), ("APPEND", "k", "x"), ("INCR", "k"), ("SETNX", "k", "n"), ("RENAME", "k", "z"),
    ]
    expect = [0, -2, -2, "none", 0, None, 1, 1, 1, "ERR no such key"]
    for cmd, exp in zip(cmds, expect):
        c.call("SET", "k", "old", "PX", "20")
        time.sleep(0.05)
        c.send(*cmd)
        rep = c.read_reply(raise_errors=False)
        if isinstance(exp, str) and exp.startswith("ERR"):
            assert rep.msg == exp
        else:
            assert rep == exp, cmd
        c.call("DEL", "k")
    # SET ... GET on an expired key returns nil
    c.call("SET", "k", "old", "PX", "20")
    time.sleep(0.05)
    assert c.call("SET", "k", "new", "GET") is None


def test_key_gone_after_ttl(c):
    c.call("SET", "k", "v", "PX", "100")
    assert c.call("GET", "k") == b"v"
    wait_until(lambda: c.call("GET", "k") is None, 3)
    assert c.call("EXISTS", "k") == 0
    assert c.call("TTL", "k") == -2


def test_active_expiry_removes_untouched_keys(c):
    n = 200
    c.pipeline([("SET", "vol:%d" % i, "v", "PX", "100") for i in range(n)])
    c.pipeline([("SET", "perm:%d" % i, "v") for i in range(50)])
    c.call("SELECT", "3")
    c.pipeline([("SET", "db3:%d" % i, "v", "PX", "100") for i in range(20)])
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == n + 50
    # never accessed: the background cycle (hz 10 by default) removes them
    wait_until(lambda: c.call("DBSIZE") == 50, 10)
    wait_until(lambda: expired_keys(c) == n + 20, 10)
    c.call("SELECT", "3")
    assert c.call("DBSIZE") == 0
    c.call("SELECT", "0")
    _, flat = parse_info(c.call("INFO", "keyspace"))
    assert flat["db0"] == "keys=50,expires=0,avg_ttl=0"
    assert "db3" not in flat


def test_ttl_counts_down(c):
    c.call("SET", "k", "v", "PX", "1500")
    p1 = c.call("PTTL", "k")
    wait_until(lambda: c.call("PTTL", "k") < p1 - 200, 3)
    assert c.call("TTL", "k") in (0, 1)


def test_overwrite_clears_ttl(c):
    c.call("SET", "k", "v", "PX", "100")
    c.call("SET", "k", "v2")
    time.sleep(0.25)
    assert c.call("GET", "k") == b"v2"


def test_persist_prevents_expiry(c):
    c.call("SET", "k", "v", "PX", "150")
    assert c.call("PERSIST", "k") == 1
    time.sleep(0.3)
    assert c.call("GET", "k") == b"v"


def test_keyspace_info_counts_expires(c):
    c.call("SET", "a", "1", "EX", "1000")
    c.call("SET", "b", "1")

    def db0():
        _, flat = parse_info(c.call("INFO", "keyspace"))
        return dict(kv.split("=") for kv in flat["db0"].split(","))

    assert db0()["keys"] == "2" and db0()["expires"] == "1"
    # avg_ttl (ms) is an estimate maintained by the active expire cycle
    wait_until(lambda: int(db0()["avg_ttl"]) > 0, 5)
    assert 900000 < int(db0()["avg_ttl"]) <= 1000000


@pytest.mark.server(args=["--hz", "100"])
def test_hz_config_active_expiry(c):
    assert c.call("CONFIG", "GET", "hz") == [b"hz", b"100"]
    c.pipeline([("SET", "k%d" % i, "v", "PX", "50") for i in range(100)])
    wait_until(lambda: c.call("DBSIZE") == 0, 5)


def test_hz_default(c):
    assert c.call("CONFIG", "GET", "hz") == [b"hz", b"10"]
    _, flat = parse_info(c.call("INFO", "server"))
    assert flat["hz"] == "10"
    assert flat["configured_hz"] == "10"


@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_paused_clients_freeze_expiry(server, c):
    """During CLIENT PAUSE (WRITE) Redis 7.0 keeps the dataset as it is: an expired key reads
    as missing but is not deleted (no DEL may reach replicas or the AOF), and the active
    cycle waits; after the pause the key goes."""
    c.call("SET", "k", "v", "PX", "20")
    assert c.call("CLIENT", "PAUSE", "3000", "WRITE") == "OK"
    gone = time.time() * 1000 + 150
    wait_until(lambda: time.time() * 1000 > gone, 2)
    assert c.call("GET", "k") is None
    assert c.call("EXISTS", "k") == 0
    assert c.call("DBSIZE") == 1
    assert parse_info(c.call("INFO", "stats"))[1]["expired_keys"] == "0"
    assert c.call("CLIENT", "UNPAUSE") == "OK"
    wait_until(lambda: c.call("DBSIZE") == 0, 5)
    assert parse_info(c.call("INFO", "stats"))[1]["expired_keys"] == "1"
