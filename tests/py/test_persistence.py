"""RDB persistence: SAVE, restart, DEBUG RELOAD, DUMP/RESTORE, and interop with Redis 7.0 files."""

import os
import shutil
import subprocess
import time

import pytest

from helpers import Client, RespError, wait_until

DEBUG = pytest.mark.server(args=["--enable-debug-command", "yes"])
REDIS = "/usr/bin/redis-server"


def fill_every_type(c):
    c.call("SET", "str", "hello")
    c.call("SET", "int", "12345")
    c.call("SET", "long", "x" * 3000)  # LZF-compressible
    c.call("SET", "ttl", "v", "EX", "1000")
    c.call("RPUSH", "list", *[str(i) for i in range(300)])
    c.call("HSET", "hash", "f1", "v1", "f2", "v2")
    c.call("HSET", "bighash", *sum([["f%d" % i, "v%d" % i] for i in range(600)], []))
    c.call("SADD", "intset", "1", "2", "-3")
    c.call("SADD", "strset", "a", "b", "c")
    c.call("SADD", "bigset", *[str(i) for i in range(600)])
    c.call("ZADD", "zset", "1.5", "a", "-2", "b", "inf", "c")
    c.call("ZADD", "bigzset", *sum([[str(i * 0.25), "m%d" % i] for i in range(300)], []))
    c.call("SELECT", "5")
    c.call("SET", "in-db-5", "yes")
    c.call("SELECT", "0")


@DEBUG
def test_save_then_restart_keeps_every_type_and_ttl(server, c):
    fill_every_type(c)
    digest = c.call("DEBUG", "DIGEST")
    before = c.call("LASTSAVE")
    assert c.call("SAVE") == "OK"
    assert c.call("LASTSAVE") >= before
    info = c.call("INFO", "persistence").decode()
    assert "rdb_changes_since_last_save:0" in info
    assert "rdb_last_bgsave_status:ok" in info
    server.restart()
    c2 = server.client()
    assert c2.call("DEBUG", "DIGEST") == digest
    assert 990 <= c2.call("TTL", "ttl") <= 1000
    assert c2.call("LRANGE", "list", "0", "2") == [b"0", b"1", b"2"]
    assert c2.call("OBJECT", "ENCODING", "bighash") == b"hashtable"
    assert c2.call("OBJECT", "ENCODING", "intset") == b"intset"
    assert c2.call("OBJECT", "ENCODING", "zset") == b"listpack"
    assert c2.call("OBJECT", "ENCODING", "bigzset") == b"skiplist"
    assert c2.call("ZSCORE", "zset", "c") == b"inf"
    assert "keys_loaded" in server.log() or "DB loaded from disk" in server.log()


@DEBUG
def test_debug_reload_keeps_the_dataset(c):
    fill_every_type(c)
    digest = c.call("DEBUG", "DIGEST")
    assert c.call("DEBUG", "RELOAD") == "OK"
    assert c.call("DEBUG", "DIGEST") == digest


def test_keys_expired_in_the_file_are_not_loaded(server, c):
    c.call("SET", "short", "v", "PX", "300")
    c.call("SET", "long", "v")
    assert c.call("SAVE") == "OK"
    server.kill()
    # Let the 300 ms TTL pass while the server is down.
    expired_at = time.monotonic() + 0.4
    wait_until(lambda: time.monotonic() > expired_at, 5)
    server.start(port=server.port)
    c2 = server.client()
    assert c2.call("EXISTS", "short", "long") == 1


@pytest.mark.skipif(not os.path.exists("/usr/bin/redis-check-rdb"), reason="redis-tools not installed")
def test_redis_check_rdb_accepts_our_file(server, c):
    fill_every_type(c)
    assert c.call("SAVE") == "OK"
    out = subprocess.run(["redis-check-rdb", os.path.join(server.dir, "dump.rdb")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RDB looks OK" in out.stdout


@pytest.mark.skipif(not os.path.exists(REDIS), reason="redis-server not installed")
@DEBUG
def test_files_move_between_redust_and_redis_both_ways(server, c, server_factory):
    fill_every_type(c)
    ours = c.call("DEBUG", "DIGEST")
    assert c.call("SAVE") == "OK"
    # Real Redis loads our file...
    real = server_factory(args=["--enable-debug-command", "yes"], binary=REDIS, wait=False)
    shutil.copy(os.path.join(server.dir, "dump.rdb"), os.path.join(real.dir, "dump.rdb"))
    real.start()
    rc = real.client()
    assert rc.call("DEBUG", "DIGEST") == ours
    # ...adds to it and saves; we load Redis's file.
    rc.call("ZADD", "z", "1.5", "a", "2", "b")
    rc.call("DEL", "z")
    rc.call("HSET", "from-redis", "k", "v")
    theirs = rc.call("DEBUG", "DIGEST")
    assert rc.call("SAVE") == "OK"
    shutil.copy(os.path.join(real.dir, "dump.rdb"), os.path.join(server.dir, "dump.rdb"))
    server.restart()
    assert server.client().call("DEBUG", "DIGEST") == theirs


@pytest.mark.skipif(not os.path.exists(REDIS), reason="redis-server not installed")
@DEBUG
def test_dump_restore_between_redust_and_redis(server, c, server_factory):
    real = server_factory(args=["--enable-debug-command", "yes"], binary=REDIS)
    rc = real.client()
    fill_every_type(c)
    for key in ["str", "int", "long", "list", "hash", "bighash", "intset", "strset", "bigset", "zset", "bigzset"]:
        payload = c.call("DUMP", key)
        assert rc.call("RESTORE", key, "0", payload) == "OK"
        assert rc.call("DEBUG", "DIGEST-VALUE", key) == c.call("DEBUG", "DIGEST-VALUE", key)
        back = rc.call("DUMP", key)
        assert c.call("RESTORE", key + ":back", "0", back) == "OK"
        assert c.call("DEBUG", "DIGEST-VALUE", key + ":back") == c.call("DEBUG", "DIGEST-VALUE", key)


def test_dump_restore_options_and_errors(c):
    c.call("SET", "k", "v")
    payload = c.call("DUMP", "k")
    assert c.call("DUMP", "missing") is None
    assert c.err("RESTORE", "k", "0", payload) == "BUSYKEY Target key name already exists."
    assert c.call("RESTORE", "k", "0", payload, "REPLACE") == "OK"
    assert c.call("RESTORE", "t", "5000", payload) == "OK"
    assert 4000 < c.call("PTTL", "t") <= 5000
    assert c.call("RESTORE", "past", "1", payload, "ABSTTL") == "OK"
    assert c.call("EXISTS", "past") == 0
    assert c.err("RESTORE", "x", "-1", payload) == "ERR Invalid TTL value, must be >= 0"
    assert c.err("RESTORE", "x", "0", payload, "IDLETIME", "-1") == "ERR Invalid IDLETIME value, must be >= 0"
    assert c.err("RESTORE", "x", "0", payload, "FREQ", "300") == "ERR Invalid FREQ value, must be >= 0 and <= 255"
    assert c.err("RESTORE", "x", "0", payload, "BOGUS") == "ERR syntax error"
    bad = bytearray(payload)
    bad[-1] ^= 0xFF
    assert c.err("RESTORE", "x", "0", bytes(bad)) == "ERR DUMP payload version or checksum are wrong"
    assert c.call("RESTORE", "idle", "0", payload, "IDLETIME", "1000") == "OK"
    assert c.call("OBJECT", "IDLETIME", "idle") >= 999


def test_shutdown_saves_when_save_points_exist(server, c):
    c.call("CONFIG", "SET", "save", "3600 1")
    c.call("SET", "k", "v")
    c.send("SHUTDOWN")
    server.wait_exit(10)
    assert os.path.exists(os.path.join(server.dir, "dump.rdb"))
    server.start(port=server.port)
    assert server.client().call("GET", "k") == b"v"


def test_shutdown_nosave_does_not_save(server, c):
    c.call("CONFIG", "SET", "save", "3600 1")
    c.call("SET", "k", "v")
    c.send("SHUTDOWN", "NOSAVE")
    server.wait_exit(10)
    assert not os.path.exists(os.path.join(server.dir, "dump.rdb"))


def test_corrupt_rdb_stops_start_up_with_a_clear_message(server_factory):
    s = server_factory(wait=False)
    with open(os.path.join(s.dir, "dump.rdb"), "wb") as f:
        f.write(b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfe\x00\x00\x03key")  # cut inside an entry
    s.spawn()
    code = s.wait_exit(10)
    assert code != 0
    log = s.log()
    assert "dump.rdb" in log or "Bad file format" in log or "Short read" in log


def _persistence(c):
    out = {}
    for line in c.call("INFO", "persistence").decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


@DEBUG
def test_bgsave_is_a_point_in_time_image_while_writes_continue(server, c):
    c.call("DEBUG", "POPULATE", "100000", "key", "50")
    c.call("RPUSH", "list", *[str(i) for i in range(1000)])
    digest = c.call("DEBUG", "DIGEST")
    assert c.call("BGSAVE") == "Background saving started"
    writer = server.client()
    n = 0
    while True:
        writer.call("SET", "key:%d" % (n % 100000), "changed")
        writer.call("DEL", "key:%d" % ((n + 5) % 100000))
        writer.call("SET", "new:%d" % n, "x")
        writer.call("LPOP", "list")
        n += 1
        if _persistence(c)["rdb_bgsave_in_progress"] == "0":
            break
    info = _persistence(c)
    assert info["rdb_last_bgsave_status"] == "ok"
    # Redis may still be reaping its child for a moment: retry until the reload runs.
    wait_until(lambda: c.call("DEBUG", "RELOAD", "NOSAVE") == "OK", 10)
    assert c.call("DEBUG", "DIGEST") == digest  # nothing written during the save leaked in


def test_bgsave_errors_and_schedule(c):
    c.call("SET", "k", "v")
    assert c.err("BGSAVE", "NOW") == "ERR syntax error"
    assert c.call("BGSAVE") == "Background saving started"
    # A second one while the first runs is refused, SCHEDULE or not (unless the first already finished).
    try:
        assert c.call("BGSAVE", "SCHEDULE") == "Background saving started"
    except RespError as e:
        assert e.msg == "ERR Background save already in progress"
    wait_until(lambda: _persistence(c)["rdb_bgsave_in_progress"] == "0", 10)
    assert _persistence(c)["rdb_last_bgsave_status"] == "ok"


def test_save_rules_trigger_a_background_save(server, c):
    c.call("CONFIG", "SET", "save", "1 3")
    before = int(_persistence(c)["rdb_saves"])
    for i in range(5):
        c.call("SET", "k%d" % i, "v")
    wait_until(lambda: int(_persistence(c)["rdb_saves"]) > before, 10)
    wait_until(lambda: _persistence(c)["rdb_changes_since_last_save"] == "0", 10)
    assert "changes in 1 seconds. Saving..." in server.log()
    assert os.path.exists(os.path.join(server.dir, "dump.rdb"))
