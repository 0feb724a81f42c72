"""Function libraries between the server under test (SERVER_BIN) and real
Redis 7.0 (REDIS_PEER), both ways: an RDB with libraries loads in the other
server, a FUNCTION DUMP payload restores in the other server, and FUNCTION
LOAD plus FCALL effects replicate from either master to the other replica.
"""

import os
import shutil

import pytest

from helpers import REDIS_PEER, REPL_ARGS, SERVER_BIN, wait_in_sync, wait_link_up, wait_online

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_PEER), reason="REDIS_PEER (%s) not installed" % REDIS_PEER)

LIB = (
    "#!lua name=interop\n"
    "redis.register_function{function_name='bump', callback=function(keys, args)"
    " return redis.call('incrby', keys[1], args[1]) end, description='adds'}\n"
    "redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end,"
    " flags={'no-writes'}}\n"
    # Long enough for Redis to LZF-compress it in its RDB and DUMP payload.
    + "-- " + "padding " * 40 + "\n"
)

PAIRS = [(SERVER_BIN, REDIS_PEER), (REDIS_PEER, SERVER_BIN)]
IDS = ["to-redis", "from-redis"]


def listing(c):
    libs = c.call("FUNCTION", "LIST", "WITHCODE")
    assert len(libs) == 1
    lib = dict(zip(libs[0][::2], libs[0][1::2]))
    functions = sorted(dict(zip(f[::2], f[1::2]))[b"name"] for f in lib[b"functions"])
    return lib[b"library_name"], lib[b"library_code"], functions


def check_library(c):
    assert listing(c) == (b"interop", LIB.encode(), [b"bump", b"peek"])
    c.call("SET", "n", "1")
    assert c.call("FCALL", "bump", "1", "n", "41") == 42
    assert c.call("FCALL_RO", "peek", "1", "n") == b"42"


@pytest.mark.parametrize("writer,reader", PAIRS, ids=IDS)
def test_an_rdb_with_libraries_loads_in_the_other_server(server_factory, writer, reader):
    w = server_factory(binary=writer)
    c = w.client()
    assert c.call("FUNCTION", "LOAD", LIB) == b"interop"
    assert c.call("SAVE") == "OK"
    r = server_factory(binary=reader, wait=False)
    shutil.copy(os.path.join(w.dir, "dump.rdb"), os.path.join(r.dir, "dump.rdb"))
    r.start()
    check_library(r.client())


@pytest.mark.parametrize("writer,reader", PAIRS, ids=IDS)
def test_a_dump_payload_restores_in_the_other_server(server_factory, writer, reader):
    w = server_factory(binary=writer)
    c = w.client()
    c.call("FUNCTION", "LOAD", LIB)
    payload = c.call("FUNCTION", "DUMP")
    r = server_factory(binary=reader).client()
    assert r.call("FUNCTION", "RESTORE", payload) == "OK"
    check_library(r)
    # And back again.
    assert c.call("FUNCTION", "RESTORE", r.call("FUNCTION", "DUMP"), "REPLACE") == "OK"
    check_library(c)


@pytest.mark.parametrize("master_bin,replica_bin", PAIRS, ids=IDS)
def test_libraries_and_fcall_effects_replicate(server_factory, master_bin, replica_bin):
    master = server_factory(args=REPL_ARGS, binary=master_bin)
    m = master.client()
    # One library before the replica syncs (it comes in the RDB), one after
    # (it comes as FUNCTION LOAD in the stream).
    m.call("FUNCTION", "LOAD", LIB)
    replica = server_factory(args=[*REPL_ARGS, "--replicaof", "127.0.0.1", str(master.port)], binary=replica_bin)
    r = replica.client()
    wait_link_up(r)
    wait_online(m, 1)
    m.call("FUNCTION", "LOAD", "#!lua name=later\nredis.register_function('twice', function(keys) "
           "redis.call('incr', keys[1]) return redis.call('incr', keys[1]) end)")
    m.call("SET", "n", "1")
    assert m.call("FCALL", "bump", "1", "n", "9") == 10
    assert m.call("FCALL", "twice", "1", "c") == 2
    wait_in_sync(m, [r])
    assert r.call("GET", "n") == b"10"
    assert r.call("GET", "c") == b"2"
    names = sorted(lib[1] for lib in r.call("FUNCTION", "LIST"))
    assert names == [b"interop", b"later"]
    assert r.call("FCALL_RO", "peek", "1", "n") == b"10"
    m.call("FUNCTION", "DELETE", "later")
    m.call("SET", "sync", "1")
    wait_in_sync(m, [r])
    assert [lib[1] for lib in r.call("FUNCTION", "LIST")] == [b"interop"]
    assert m.call("DEBUG", "DIGEST") == r.call("DEBUG", "DIGEST")


def test_dump_payload_is_redis_byte_for_byte(server_factory):
    ours = server_factory().client()
    theirs = server_factory(binary=REDIS_PEER).client()
    for c in (ours, theirs):
        c.call("FUNCTION", "LOAD", LIB)
    assert ours.call("FUNCTION", "DUMP") == theirs.call("FUNCTION", "DUMP")
    for c in (ours, theirs):
        c.call("CONFIG", "SET", "rdbcompression", "no")
    assert ours.call("FUNCTION", "DUMP") == theirs.call("FUNCTION", "DUMP")
