"""Server commands: INFO CONFIG COMMAND TIME SHUTDOWN MONITOR SLOWLOG LATENCY MEMORY DEBUG WAIT."""

import re
import struct
import hashlib
import time

import pytest

from helpers import parse_info, wait_until

DEBUG = pytest.mark.server(args=["--enable-debug-command", "yes"])

DEFAULT_SECTIONS = [
    "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
    "Errorstats", "Cluster", "Keyspace",
]
ALL_SECTIONS = [
    "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
    "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace",
]


def section_names(info):
    return [ln[2:] for ln in info.decode().split("\r\n") if ln.startswith("# ")]


def arity(cmd):
    return "ERR wrong number of arguments for '%s' command" % cmd


# ---------------------------------------------------------------------------
# INFO
# ---------------------------------------------------------------------------


def test_info_default_sections(c):
    info = c.call("INFO")
    assert isinstance(info, bytes)
    assert section_names(info) == DEFAULT_SECTIONS
    assert section_names(c.call("INFO", "default")) == DEFAULT_SECTIONS
    # sections are separated by an empty line, lines end with CRLF
    assert info.startswith(b"# Server\r\n")
    assert b"\r\n\r\n# Clients\r\n" in info
    assert info.endswith(b"\r\n") and not info.endswith(b"\r\n\r\n")


def test_info_all_everything(c):
    c.call("SET", "k", "v")
    for arg in ("all", "everything", "ALL"):
        names = section_names(c.call("INFO", arg))
        assert names == ALL_SECTIONS, arg


def test_info_each_section(c):
    c.call("SET", "k", "v")
    c.err("FOO")
    for name in ALL_SECTIONS:
        for arg in (name.lower(), name.upper()):
            info = c.call("INFO", arg)
            assert section_names(info) == [name], arg
    assert c.call("INFO", "nosuchsection") == b""


def test_info_multiple_sections_in_canonical_order(c):
    c.call("SET", "k", "v")
    info = c.call("INFO", "keyspace", "cpu", "server")
    assert section_names(info) == ["Server", "CPU", "Keyspace"]
    info = c.call("INFO", "default", "commandstats")
    assert section_names(info) == DEFAULT_SECTIONS[:8] + ["Commandstats"] + DEFAULT_SECTIONS[8:]
    assert section_names(c.call("INFO", "server", "server")) == ["Server"]


def test_info_server_fields(server, c):
    secs, flat = parse_info(c.call("INFO", "server"))
    s = secs["server"]
    assert re.match(r"^7\.0\.\d+$", s["redis_version"])
    assert s["redis_mode"] == "standalone"
    assert s["tcp_port"] == str(server.port)
    assert s["process_id"] == str(server.proc.pid)
    assert s["arch_bits"] == "64"
    assert re.match(r"^[0-9a-f]{40}$", s["run_id"])
    assert int(s["uptime_in_seconds"]) >= 0
    assert s["uptime_in_days"] == "0"
    assert s["hz"] == "10" and s["configured_hz"] == "10"
    assert s["config_file"] == ""
    assert abs(int(s["server_time_usec"]) / 1e6 - time.time()) < 5
    for f in ("redis_git_sha1", "redis_git_dirty", "redis_build_id", "os", "multiplexing_api",
              "lru_clock", "executable"):
        assert f in s, f


def test_info_clients_fields(server, c):
    others = [server.client() for _ in range(2)]
    for o in others:
        o.call("PING")
    secs, _ = parse_info(c.call("INFO", "clients"))
    cl = secs["clients"]
    assert cl["connected_clients"] == "3"
    assert cl["maxclients"] == "10000"
    assert cl["blocked_clients"] == "0"
    others[0].close()
    wait_until(lambda: parse_info(c.call("INFO", "clients"))[1]["connected_clients"] == "2", 5)


def test_info_memory_fields(c):
    secs, _ = parse_info(c.call("INFO", "memory"))
    m = secs["memory"]
    for f in ("used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak",
              "used_memory_peak_human", "used_memory_startup", "used_memory_dataset", "maxmemory",
              "maxmemory_human", "maxmemory_policy", "mem_fragmentation_ratio", "mem_allocator",
              "total_system_memory", "used_memory_overhead", "lazyfree_pending_objects"):
        assert f in m, f
    assert int(m["used_memory"]) > 0
    assert m["maxmemory"] == "0"
    assert m["maxmemory_human"] == "0B"
    assert m["maxmemory_policy"] == "noeviction"
    before = int(m["used_memory"])
    c.call("SET", "big", "x" * 1000000)
    after = int(parse_info(c.call("INFO", "memory"))[1]["used_memory"])
    assert after - before >= 1000000


def test_info_persistence_replication_cpu_modules_cluster(c):
    secs, _ = parse_info(c.call("INFO", "everything"))
    p = secs["persistence"]
    assert p["loading"] == "0"
    assert p["aof_enabled"] == "0"
    assert p["rdb_bgsave_in_progress"] == "0"
    assert "rdb_changes_since_last_save" in p
    r = secs["replication"]
    assert r["role"] == "master"
    assert r["connected_slaves"] == "0"
    assert re.match(r"^[0-9a-f]{40}$", r["master_replid"])
    cpu = secs["cpu"]
    for f in ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"):
        assert re.match(r"^\d+\.\d{6}$", cpu[f]), f
    assert secs["modules"] == {}
    assert secs["cluster"] == {"cluster_enabled": "0"}


def test_info_stats_fields(server, c):
    c.call("CONFIG", "RESETSTAT")
    c.call("SET", "a", "1")
    c.call("GET", "a")
    c.call("GET", "a")
    c.call("GET", "nokey")
    secs, _ = parse_info(c.call("INFO", "stats"))
    st = secs["stats"]
    for f in ("total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec",
              "total_net_input_bytes", "total_net_output_bytes", "rejected_connections", "expired_keys",
              "evicted_keys", "keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns",
              "total_error_replies"):
        assert f in st, f
    assert st["keyspace_hits"] == "2"
    assert st["keyspace_misses"] == "1"
    assert int(st["total_commands_processed"]) >= 5
    assert st["total_error_replies"] == "0"
    before = int(st["total_connections_received"])
    server.client().call("PING")
    after = int(parse_info(c.call("INFO", "stats"))[1]["total_connections_received"])
    assert after == before + 1


def test_info_keyspace(c):
    assert c.call("INFO", "keyspace") == b"# Keyspace\r\n"
    c.call("SET", "a", "1")
    c.call("SET", "b", "1", "EX", "1000")
    c.call("SELECT", "5")
    c.call("SET", "c", "1")
    info = c.call("INFO", "keyspace").decode()
    lines = info.split("\r\n")
    assert lines[0] == "# Keyspace"
    assert re.match(r"^db0:keys=2,expires=1,avg_ttl=\d+$", lines[1])
    assert lines[2] == "db5:keys=1,expires=0,avg_ttl=0"
    assert lines[3] == ""


def test_info_commandstats(c):
    c.call("CONFIG", "RESETSTAT")
    c.call("SET", "a", "1")
    c.call("GET", "a")
    c.call("GET", "a")
    c.err("GET")  # rejected (arity)
    c.call("RPUSH", "l", "x")
    c.err("GET", "l")  # failed (WRONGTYPE)
    c.call("CONFIG", "GET", "hz")
    _, flat = parse_info(c.call("INFO", "commandstats"))
    m = re.match(
        r"^calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),failed_calls=(\d+)$",
        flat["cmdstat_get"],
    )
    assert m, flat["cmdstat_get"]
    assert m.group(1) == "3"  # rejected calls are not counted as calls
    assert m.group(4) == "1"
    assert m.group(5) == "1"
    assert flat["cmdstat_set"].startswith("calls=1,")
    # subcommands are reported as command|subcommand
    assert flat["cmdstat_config|get"].startswith("calls=1,")
    assert flat["cmdstat_config|resetstat"].startswith("calls=1,")
    assert "cmdstat_incr" not in flat


def test_info_errorstats(c):
    c.call("CONFIG", "RESETSTAT")
    assert c.call("INFO", "errorstats") == b"# Errorstats\r\n"
    c.err("FOO")
    c.err("GET")
    c.call("RPUSH", "l", "x")
    c.err("GET", "l")
    _, flat = parse_info(c.call("INFO", "errorstats"))
    assert flat["errorstat_ERR"] == "count=2"
    assert flat["errorstat_WRONGTYPE"] == "count=1"
    _, st = parse_info(c.call("INFO", "stats"))
    assert st["total_error_replies"] == "3"


def test_config_resetstat(c):
    c.call("SET", "a", "1")
    c.call("GET", "a")
    c.err("FOO")
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    _, flat = parse_info(c.call("INFO", "everything"))
    assert flat["keyspace_hits"] == "0"
    assert flat["total_error_replies"] == "0"
    assert flat["total_connections_received"] == "0"
    assert "errorstat_ERR" not in flat
    assert "cmdstat_get" not in flat
    assert "cmdstat_set" not in flat
    assert flat["cmdstat_config|resetstat"].startswith("calls=1,")
    assert c.err("CONFIG", "RESETSTAT", "x") == arity("config|resetstat")


# ---------------------------------------------------------------------------
# CONFIG
# ---------------------------------------------------------------------------


def cfg(c, *patterns):
    rep = c.call("CONFIG", "GET", *patterns)
    assert len(rep) % 2 == 0
    return dict(zip(rep[0::2], rep[1::2]))


def test_config_get(server, c):
    assert c.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"0"]
    assert cfg(c, "port") == {b"port": str(server.port).encode()}
    assert cfg(c, "bind") == {b"bind": b"127.0.0.1"}
    assert cfg(c, "port", "bind") == {b"port": str(server.port).encode(), b"bind": b"127.0.0.1"}
    assert cfg(c, "maxmemory*") == {
        b"maxmemory": b"0",
        b"maxmemory-policy": b"noeviction",
        b"maxmemory-samples": b"5",
        b"maxmemory-clients": b"0",
        b"maxmemory-eviction-tenacity": b"10",
    }
    assert c.call("CONFIG", "GET", "nonexistent") == []
    assert cfg(c, "save") == {b"save": b""}
    assert cfg(c, "appendonly") == {b"appendonly": b"no"}
    assert cfg(c, "dir") == {b"dir": server.dir.encode()}
    assert cfg(c, "databases") == {b"databases": b"16"}
    assert cfg(c, "timeout") == {b"timeout": b"0"}
    assert cfg(c, "requirepass") == {b"requirepass": b""}
    # an exact (non-glob) name is echoed back as given
    assert cfg(c, "MAXMEMORY") == {b"MAXMEMORY": b"0"}
    assert cfg(c, "MAXMEM*")[b"maxmemory"] == b"0"
    everything = cfg(c, "*")
    assert len(everything) > 100
    assert everything[b"hz"] == b"10"
    assert c.err("CONFIG", "GET") == arity("config|get")


def test_config_set(c):
    assert c.call("CONFIG", "SET", "maxmemory", "10mb") == "OK"
    assert cfg(c, "maxmemory") == {b"maxmemory": b"10485760"}
    assert c.call("CONFIG", "SET", "maxmemory", "1gb") == "OK"
    assert cfg(c, "maxmemory") == {b"maxmemory": b"1073741824"}
    assert c.call("CONFIG", "SET", "maxmemory", "1GB") == "OK"
    assert c.call("CONFIG", "SET", "maxmemory", "100k") == "OK"
    assert cfg(c, "maxmemory") == {b"maxmemory": b"100000"}
    assert c.call("CONFIG", "SET", "maxmemory", "2kb") == "OK"
    assert cfg(c, "maxmemory") == {b"maxmemory": b"2048"}
    assert c.call("CONFIG", "SET", "maxmemory", "0") == "OK"
    # several parameters at once (atomic)
    assert c.call("CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "allkeys-lru") == "OK"
    assert cfg(c, "maxmemory", "maxmemory-policy") == {b"maxmemory": b"1048576", b"maxmemory-policy": b"allkeys-lru"}
    assert c.call("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction") == "OK"
    assert c.call("CONFIG", "SET", "save", "3600 1 300 100") == "OK"
    assert cfg(c, "save") == {b"save": b"3600 1 300 100"}
    c.call("CONFIG", "SET", "save", "")
    # hz is clamped
    assert c.call("CONFIG", "SET", "hz", "0") == "OK"
    assert cfg(c, "hz") == {b"hz": b"1"}
    assert c.call("CONFIG", "SET", "hz", "1000") == "OK"
    assert cfg(c, "hz") == {b"hz": b"500"}
    assert c.call("config", "set", "HZ", "10") == "OK"
    assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
    assert c.call("CONFIG", "SET", "slowlog-max-len", "200") == "OK"
    assert cfg(c, "slowlog-max-len") == {b"slowlog-max-len": b"200"}


def test_config_set_errors(c):
    def failed(name, why):
        return "ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, why)

    assert c.err("CONFIG", "SET", "foo", "bar") == "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    assert c.err("CONFIG", "SET", "maxmemory") == arity("config|set")
    assert c.err("CONFIG", "SET", "maxmemory", "1", "hz") == "ERR syntax error"
    assert c.err("CONFIG", "SET", "maxmemory", "abc") == failed("maxmemory", "argument must be a memory value")
    assert c.err("CONFIG", "SET", "maxmemory", "-1") == failed("maxmemory", "argument must be a memory value")
    assert c.err("CONFIG", "SET", "maxmemory-policy", "foo") == failed(
        "maxmemory-policy",
        "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
        "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
    )
    assert c.err("CONFIG", "SET", "daemonize", "yes") == failed("daemonize", "can't set immutable config")
    assert c.err("CONFIG", "SET", "timeout", "-1") == failed(
        "timeout", "argument must be between 0 and 2147483647 inclusive"
    )
    assert c.err("CONFIG", "SET", "appendonly", "maybe") == failed("appendonly", "argument must be 'yes' or 'no'")
    assert c.err("CONFIG", "SET", "slowlog-log-slower-than", "1.5") == failed(
        "slowlog-log-slower-than", "argument couldn't be parsed into an integer"
    )
    assert c.err("CONFIG", "SET", "loglevel", "loud") == failed(
        "loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"
    )
    assert c.err("CONFIG", "SET", "maxmemory", "0", "maxmemory", "1") == failed("maxmemory", "duplicate parameter")
    # a failing multi-set changes nothing
    assert c.err("CONFIG", "SET", "maxmemory", "5mb", "maxmemory-policy", "bad").startswith("ERR CONFIG SET failed")
    assert cfg(c, "maxmemory") == {b"maxmemory": b"0"}
    assert c.err("CONFIG", "FOO") == "ERR unknown subcommand 'FOO'. Try CONFIG HELP."
    assert c.err("CONFIG") == arity("config")


def test_config_rewrite_without_file(c):
    assert c.err("CONFIG", "REWRITE") == "ERR The server is running without a config file"


def test_config_set_port_moves_listener(server, c):
    from helpers import Client, free_port

    new_port = free_port()
    assert c.call("CONFIG", "SET", "port", new_port) == "OK"
    # existing connection keeps working
    assert c.call("PING") == "PONG"
    cl = Client(new_port)
    assert cl.call("PING") == "PONG"
    cl.close()
    server.port = new_port


# ---------------------------------------------------------------------------
# COMMAND
# ---------------------------------------------------------------------------


def test_command_count_and_list(c):
    count = c.call("COMMAND", "COUNT")
    assert isinstance(count, int) and count > 50
    everything = c.call("COMMAND")
    assert len(everything) == count
    names = c.call("COMMAND", "LIST")
    top = [n for n in names if b"|" not in n]
    assert len(top) == count
    for required in (b"get", b"set", b"ping", b"client", b"config", b"multi", b"subscribe", b"lcs"):
        assert required in names
    assert b"client|list" in names and b"config|get" in names
    assert sorted(c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "mse*")) == [b"mset", b"msetnx"]
    pubsub = c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "pubsub")
    assert b"publish" in pubsub and b"subscribe" in pubsub and b"get" not in pubsub
    assert c.call("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
    assert c.err("COMMAND", "LIST", "FILTERBY", "foo", "x") == "ERR syntax error"
    assert c.err("COMMAND", "FOO") == "ERR unknown subcommand 'FOO'. Try COMMAND HELP."


KEYSPEC_SINGLE_RO = [
    b"flags", ["RO", "access"],
    b"begin_search", [b"type", b"index", b"spec", [b"index", 1]],
    b"find_keys", [b"type", b"range", b"spec", [b"lastkey", 0, b"keystep", 1, b"limit", 0]],
]


def test_command_info(c):
    assert c.call("COMMAND", "INFO", "get") == [[
        b"get", 2, ["readonly", "fast"], 1, 1, 1, ["@read", "@string", "@fast"], [], [KEYSPEC_SINGLE_RO], [],
    ]]
    res = c.call("COMMAND", "INFO", "set", "mset", "nosuch", "GET")
    assert len(res) == 4
    assert res[0][:7] == [b"set", -3, ["write", "denyoom"], 1, 1, 1, ["@write", "@string", "@slow"]]
    assert res[1][:7] == [b"mset", -3, ["write", "denyoom"], 1, -1, 2, ["@write", "@string", "@slow"]]
    assert res[2] is None
    assert res[3][0] == b"get"
    assert c.call("COMMAND", "INFO", "ping")[0][:7] == [b"ping", -1, ["fast"], 0, 0, 0, ["@fast", "@connection"]]
    assert c.call("COMMAND", "INFO", "del")[0][:7] == [
        b"del", -2, ["write"], 1, -1, 1, ["@keyspace", "@write", "@slow"]
    ]
    assert c.call("COMMAND", "INFO", "rename")[0][:7] == [
        b"rename", 3, ["write"], 1, 2, 1, ["@keyspace", "@write", "@slow"]
    ]
    assert c.call("COMMAND", "INFO", "incr")[0][:7] == [
        b"incr", 2, ["write", "denyoom", "fast"], 1, 1, 1, ["@write", "@string", "@fast"]
    ]
    assert c.call("COMMAND", "INFO", "config|get") == [[
        b"config|get", -3, ["admin", "noscript", "loading", "stale"], 0, 0, 0,
        ["@admin", "@slow", "@dangerous"], [], [], [],
    ]]
    # container commands list their subcommands
    client = c.call("COMMAND", "INFO", "client")[0]
    assert client[:7] == [b"client", -2, [], 0, 0, 0, ["@slow"]]
    subs = {s[0]: s for s in client[9]}
    assert subs[b"client|id"][:3] == [b"client|id", 2, ["noscript", "loading", "stale"]]
    assert subs[b"client|kill"][1] == -3
    all_info = c.call("COMMAND", "INFO")
    assert len(all_info) == c.call("COMMAND", "COUNT")


def test_command_getkeys(c):
    assert c.call("COMMAND", "GETKEYS", "get", "a") == [b"a"]
    assert c.call("COMMAND", "GETKEYS", "set", "a", "b", "EX", "10") == [b"a"]
    assert c.call("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2") == [b"a", b"b"]
    assert c.call("COMMAND", "GETKEYS", "del", "a", "b", "c") == [b"a", b"b", b"c"]
    assert c.call("COMMAND", "GETKEYS", "rename", "a", "b") == [b"a", b"b"]
    assert c.call("COMMAND", "GETKEYS", "lcs", "a", "b") == [b"a", b"b"]
    assert c.call("COMMAND", "GETKEYS", "copy", "a", "b") == [b"a", b"b"]
    assert c.call("COMMAND", "GETKEYS", "GET", "a") == [b"a"]
    assert c.err("COMMAND", "GETKEYS", "set", "a") == "ERR Invalid number of arguments specified for command"
    assert c.err("COMMAND", "GETKEYS", "nosuch", "a") == "ERR Invalid command specified"
    assert c.err("COMMAND", "GETKEYS", "ping") == arity("command|getkeys")
    assert c.err("COMMAND", "GETKEYS") == arity("command|getkeys")


def test_command_docs(c):
    docs = c.call("COMMAND", "DOCS", "get")
    assert docs[0] == b"get"
    d = dict(zip(docs[1][0::2], docs[1][1::2]))
    assert isinstance(d[b"summary"], bytes) and d[b"summary"]  # 7.0: "Get the value of a key"
    assert d[b"since"] == b"1.0.0"
    assert d[b"group"] == b"string"
    assert d[b"complexity"] == b"O(1)"
    assert d[b"arguments"] == [[b"name", b"key", b"type", b"key", b"key_spec_index", 0]]
    assert c.call("COMMAND", "DOCS", "nosuch") == []
    two = c.call("COMMAND", "DOCS", "set", "ping")
    assert sorted(two[0::2]) == [b"ping", b"set"]
    c.call("HELLO", "3")
    docs3 = c.call("COMMAND", "DOCS", "get")
    assert isinstance(docs3, dict) and docs3[b"get"][b"group"] == b"string"


# ---------------------------------------------------------------------------
# TIME / WAIT / SHUTDOWN
# ---------------------------------------------------------------------------


def test_time(c):
    t = c.call("TIME")
    assert isinstance(t, list) and len(t) == 2
    assert t[0].isdigit() and t[1].isdigit()
    assert abs(int(t[0]) - time.time()) < 5
    assert 0 <= int(t[1]) < 1000000
    assert c.err("TIME", "x") == arity("time")


def test_wait(c):
    assert c.call("WAIT", "0", "0") == 0
    assert c.call("WAIT", "1", "50") == 0
    assert c.err("WAIT", "x", "0") == "ERR value is not an integer or out of range"
    assert c.err("WAIT", "0", "-1") == "ERR timeout is negative"
    assert c.err("WAIT", "0") == arity("wait")


def test_shutdown_nosave(server, c):
    other = server.client()
    other.call("PING")
    c.send("SHUTDOWN", "NOSAVE")
    assert c.is_closed(10)
    assert server.wait_exit(10) == 0
    assert other.is_closed(5)


def test_shutdown_plain_exits_zero(server, c):
    c.call("SET", "a", "1")
    c.send("SHUTDOWN")
    assert c.is_closed(10)
    assert server.wait_exit(10) == 0


def test_shutdown_errors(c):
    assert c.err("SHUTDOWN", "FOO") == "ERR syntax error"
    assert c.err("SHUTDOWN", "NOSAVE", "SAVE") == "ERR syntax error"
    assert c.err("SHUTDOWN", "ABORT") == "ERR No shutdown in progress."
    assert c.call("PING") == "PONG"


# ---------------------------------------------------------------------------
# MONITOR
# ---------------------------------------------------------------------------

MONITOR_LINE = re.compile(rb'^\+(\d+\.\d{6}) \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)$')


def read_lines(raw, n, timeout=5):
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\r\n") < n and time.monotonic() < deadline:
        buf += raw.read_available(0.05)
    lines = buf.split(b"\r\n")
    assert len(lines) > n, "expected %d lines, got %r" % (n, buf)
    return lines[:n]


def test_monitor(server, c):
    mon = server.raw()
    mon.send(b"MONITOR\r\n")
    mon.expect(b"+OK\r\n")
    port = c.sock.getsockname()[1]
    c.call("SET", "a", 'b c"\x01\n')
    c.call("GET", "a")
    c.call("SELECT", "3")
    c.call("SET", "k", "v")
    c.call("AUTH", "default", "pw")
    c.err("GET")  # rejected commands are not shown
    c.err("NOSUCH")
    c.call("MULTI")
    c.call("INCR", "n")
    c.call("EXEC")
    lines = read_lines(mon, 8)
    parsed = []
    for ln in lines:
        m = MONITOR_LINE.match(ln)
        assert m, ln
        assert abs(float(m.group(1)) - time.time()) < 10
        assert int(m.group(3)) == port
        parsed.append((int(m.group(2)), m.group(4)))
    assert parsed == [
        (0, b'"SET" "a" "b c\\"\\x01\\n"'),
        (0, b'"GET" "a"'),
        (3, b'"SELECT" "3"'),
        (3, b'"SET" "k" "v"'),
        (3, b'"AUTH" "(redacted)" "(redacted)"'),
        (3, b'"MULTI"'),
        (3, b'"INCR" "n"'),
        (3, b'"EXEC"'),
    ]
    assert mon.read_available(0.1) == b""


def test_monitor_client_cannot_use_keyspace(server):
    mon = server.raw()
    mon.send(b"MONITOR\r\n")
    mon.expect(b"+OK\r\n")
    mon.send(b"GET a\r\n")
    mon.expect(b"-ERR Replica can't interact with the keyspace\r\n")


# ---------------------------------------------------------------------------
# SLOWLOG
# ---------------------------------------------------------------------------


def test_slowlog(server, c):
    assert c.call("SLOWLOG", "RESET") == "OK"
    assert c.call("SLOWLOG", "LEN") == 0
    assert c.call("SLOWLOG", "GET") == []
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.call("CLIENT", "SETNAME", "slowpoke")
    c.call("SET", "a", "b")
    entries = c.call("SLOWLOG", "GET")
    assert len(entries) >= 2
    top = entries[0]
    assert len(top) == 6
    eid, ts, dur, args, addr, name = top
    assert args == [b"SET", b"a", b"b"]
    assert isinstance(eid, int) and isinstance(dur, int) and dur >= 0
    assert abs(ts - time.time()) < 10
    assert addr == ("127.0.0.1:%d" % c.sock.getsockname()[1]).encode()
    assert name == b"slowpoke"
    # newest first, ids increasing
    assert entries[1][0] == eid - 1
    assert entries[1][3] == [b"CLIENT", b"SETNAME", b"slowpoke"]
    one = c.call("SLOWLOG", "GET", "1")
    assert len(one) == 1 and one[0][3] == [b"SLOWLOG", b"GET"]
    n = c.call("SLOWLOG", "LEN")
    assert n >= 4
    # the LEN call itself is logged once it has run
    assert len(c.call("SLOWLOG", "GET", "-1")) == n + 1
    assert c.call("SLOWLOG", "RESET") == "OK"
    # the RESET itself is logged after the reset
    assert c.call("SLOWLOG", "LEN") == 1
    assert [e[3] for e in c.call("SLOWLOG", "GET")] == [[b"SLOWLOG", b"LEN"], [b"SLOWLOG", b"RESET"]]
    assert c.err("SLOWLOG", "GET", "x") == "ERR count should be greater than or equal to -1"
    assert c.err("SLOWLOG", "GET", "-2") == "ERR count should be greater than or equal to -1"
    assert c.err("SLOWLOG", "FOO") == "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."


def test_slowlog_argument_truncation(c):
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.call("SET", "big", "x" * 200)
    args = c.call("SLOWLOG", "GET", "1")[0][3]
    assert args == [b"SET", b"big", b"x" * 128 + b"... (72 more bytes)"]
    c.call("DEL", *["k%d" % i for i in range(40)])
    args = c.call("SLOWLOG", "GET", "1")[0][3]
    assert len(args) == 32
    assert args[:3] == [b"DEL", b"k0", b"k1"]
    assert args[30] == b"k29"
    assert args[31] == b"... (10 more arguments)"


def test_slowlog_threshold_and_max_len(c):
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "1000000")
    c.call("SLOWLOG", "RESET")
    c.call("SET", "a", "1")
    assert c.call("SLOWLOG", "LEN") == 0
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3")
    for i in range(10):
        c.call("SET", "a", i)
    assert c.call("SLOWLOG", "LEN") == 3
    # negative disables the slowlog
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    c.call("SLOWLOG", "RESET")
    c.call("SET", "a", "1")
    assert c.call("SLOWLOG", "LEN") == 0


def test_slowlog_exec_not_logged_but_inner_commands_are(c):
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.call("SLOWLOG", "RESET")
    c.call("MULTI")
    c.call("SET", "x", "1")
    c.call("EXEC")
    logged = [e[3][0] for e in c.call("SLOWLOG", "GET", "-1")]
    assert b"SET" in logged
    assert b"EXEC" not in logged


# ---------------------------------------------------------------------------
# LATENCY
# ---------------------------------------------------------------------------


@DEBUG
def test_latency_monitor(c):
    assert c.call("LATENCY", "LATEST") == []
    assert c.call("LATENCY", "RESET") == 0
    assert c.call("LATENCY", "HISTORY", "command") == []
    c.call("DEBUG", "SLEEP", "0.1")  # threshold 0 = disabled
    assert c.call("LATENCY", "LATEST") == []
    assert c.call("CONFIG", "SET", "latency-monitor-threshold", "50") == "OK"
    c.call("DEBUG", "SLEEP", "0.1")
    latest = c.call("LATENCY", "LATEST")
    assert len(latest) == 1
    name, ts, last, peak = latest[0]
    assert name == b"command"
    assert abs(ts - time.time()) < 10
    assert 100 <= last < 1000 and peak == last
    hist = c.call("LATENCY", "HISTORY", "command")
    assert len(hist) == 1 and hist[0][1] == last
    assert c.call("LATENCY", "HISTORY", "nosuchevent") == []
    c.call("DEBUG", "SLEEP", "0.06")
    hist = c.call("LATENCY", "HISTORY", "command")
    assert 1 <= len(hist) <= 2  # one sample per second at most
    assert c.call("LATENCY", "RESET", "command") == 1
    assert c.call("LATENCY", "LATEST") == []
    assert c.call("LATENCY", "RESET") == 0
    c.call("DEBUG", "SLEEP", "0.06")
    assert c.call("LATENCY", "RESET", "foo", "command") == 1
    assert c.err("LATENCY", "FOO") == "ERR unknown subcommand 'FOO'. Try LATENCY HELP."
    assert c.err("LATENCY", "GRAPH", "command") == "ERR No samples available for event 'command'"


def test_latency_doctor(c):
    # The report is prose (our own wording); its substance is checked.
    off = c.call("LATENCY", "DOCTOR")
    assert isinstance(off, bytes) and off.endswith(b"\n")
    assert b"latency-monitor-threshold" in off  # tells how to enable monitoring
    c.call("CONFIG", "SET", "latency-monitor-threshold", "1000")
    quiet = c.call("LATENCY", "DOCTOR")
    assert quiet != off and b"latency-monitor-threshold" not in quiet
    assert b"spike" in quiet.lower()


# ---------------------------------------------------------------------------
# MEMORY
# ---------------------------------------------------------------------------


def test_memory_usage(c):
    c.call("SET", "a", "hello")
    small = c.call("MEMORY", "USAGE", "a")
    assert isinstance(small, int) and 0 < small < 200
    c.call("SET", "big", "x" * 10000)
    big = c.call("MEMORY", "USAGE", "big")
    assert 10000 <= big < 20000
    assert c.call("MEMORY", "USAGE", "nokey") is None
    assert c.call("MEMORY", "USAGE", "a", "SAMPLES", "5") == small
    assert c.err("MEMORY", "USAGE", "a", "SAMPLES", "x") == "ERR value is not an integer or out of range"
    assert c.err("MEMORY", "USAGE", "a", "FOO") == "ERR syntax error"
    assert c.err("MEMORY", "FOO") == "ERR unknown subcommand 'FOO'. Try MEMORY HELP."


def test_memory_stats(c):
    c.call("SET", "a", "1")
    c.call("SELECT", "2")
    c.call("SET", "b", "1")
    rep = c.call("MEMORY", "STATS")
    st = dict(zip(rep[0::2], rep[1::2]))
    for k in (b"peak.allocated", b"total.allocated", b"startup.allocated", b"replication.backlog",
              b"clients.slaves", b"clients.normal", b"aof.buffer", b"overhead.total", b"keys.count",
              b"keys.bytes-per-key", b"dataset.bytes", b"dataset.percentage", b"peak.percentage",
              b"fragmentation", b"db.0", b"db.2"):
        assert k in st, k
    assert st[b"keys.count"] == 2
    assert isinstance(st[b"total.allocated"], int) and st[b"total.allocated"] > 0
    db0 = dict(zip(st[b"db.0"][0::2], st[b"db.0"][1::2]))
    assert b"overhead.hashtable.main" in db0 and b"overhead.hashtable.expires" in db0
    assert b"db.1" not in st
    # RESP2: ratios are bulk strings; RESP3: doubles
    float(st[b"dataset.percentage"])
    c.call("HELLO", "3")
    st3 = c.call("MEMORY", "STATS")
    assert isinstance(st3, dict)
    assert isinstance(st3[b"dataset.percentage"], float)
    assert isinstance(st3[b"db.0"], dict)


def test_memory_doctor_empty_instance(c):
    # Prose report (our own wording): an empty instance is recognised as such.
    report = c.call("MEMORY", "DOCTOR")
    assert isinstance(report, bytes) and report.endswith(b"\n")
    assert b"empty" in report.lower()


def test_memory_help_and_purge(c):
    h = c.call("MEMORY", "HELP")
    assert h[0] == "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "USAGE <key> [SAMPLES <count>]" in h
    assert c.call("MEMORY", "PURGE") == "OK"
    assert isinstance(c.call("MEMORY", "MALLOC-STATS"), bytes)


# ---------------------------------------------------------------------------
# DEBUG
# ---------------------------------------------------------------------------


def test_debug_disabled_by_default(c):
    assert c.err("DEBUG", "SLEEP", "0") == (
        'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you '
        "can run it from a local connection, otherwise you need to set this option in the "
        "configuration file, and then restart the server."
    )
    assert c.call("CONFIG", "GET", "enable-debug-command") == [b"enable-debug-command", b"no"]


@pytest.mark.server(args=["--enable-debug-command", "local"])
def test_debug_local_allowed_from_loopback(c):
    assert c.call("DEBUG", "SLEEP", "0") == "OK"


@DEBUG
def test_debug_sleep(c):
    start = time.monotonic()
    assert c.call("DEBUG", "SLEEP", "0.2") == "OK"
    assert time.monotonic() - start >= 0.19
    assert c.call("DEBUG", "SLEEP", "0") == "OK"


@DEBUG
def test_debug_sleep_blocks_server(server, c):
    other = server.client()
    other.call("PING")
    t0 = time.monotonic()
    c.send("DEBUG", "SLEEP", "0.5")
    time.sleep(0.1)
    assert other.call("PING") == "PONG"
    # the whole server was blocked: the PING is served only after the sleep
    assert time.monotonic() - t0 >= 0.45
    assert c.read_reply() == "OK"


@DEBUG
def test_debug_populate(c):
    assert c.call("DEBUG", "POPULATE", "5") == "OK"
    assert c.call("DBSIZE") == 5
    assert sorted(c.call("KEYS", "*")) == [b"key:%d" % i for i in range(5)]
    assert c.call("GET", "key:0") == b"value:0"
    assert c.call("DEBUG", "POPULATE", "3", "foo", "10") == "OK"
    assert c.call("GET", "foo:1") == b"value:1\x00\x00\x00"
    assert c.call("GET", "foo:2") == b"value:2\x00\x00\x00"
    # existing keys are not overwritten
    c.call("SET", "key:7", "mine")
    assert c.call("DEBUG", "POPULATE", "10") == "OK"
    assert c.call("DBSIZE") == 13
    assert c.call("GET", "key:7") == b"mine"
    assert c.err("DEBUG", "POPULATE", "x") == "ERR value is out of range, must be positive"
    assert c.err("DEBUG", "POPULATE", "-1") == "ERR value is out of range, must be positive"


def _sha1(b):
    return hashlib.sha1(b).digest()


def _xor_digest(d, data):
    return bytes(a ^ b for a, b in zip(d, _sha1(data)))


def _mix_digest(d, data):
    return _sha1(_xor_digest(d, data))


def ref_value_digest(value, has_expire=False):
    """Redis' xorObjectDigest for a string value (type 0)."""
    d = _mix_digest(bytes(20), struct.pack(">I", 0))
    d = _mix_digest(d, value)
    if has_expire:
        d = _xor_digest(d, b"!!expire!!")
    return d


def ref_dataset_digest(dbs):
    """Redis' computeDatasetDigest for string-only datasets: {db: {key: (value, has_ttl)}}."""
    final = bytes(20)
    for j in sorted(dbs):
        if not dbs[j]:
            continue
        final = _mix_digest(final, struct.pack(">I", j))
        for k, (v, exp) in dbs[j].items():
            d = _mix_digest(bytes(20), k)
            d = _mix_digest(d, struct.pack(">I", 0))
            d = _mix_digest(d, v)
            if exp:
                d = _xor_digest(d, b"!!expire!!")
            final = _xor_digest(final, d)
    return final


@DEBUG
def test_debug_digest(server, c):
    zero = "0" * 40
    assert c.call("DEBUG", "DIGEST") == zero
    c.call("SET", "a", "1")
    assert c.call("DEBUG", "DIGEST") == "943d800368fb9c0e951138f1bc0e313ac769d91f"
    assert c.call("DEBUG", "DIGEST") == ref_dataset_digest({0: {b"a": (b"1", False)}}).hex()
    c.call("SET", "b", "hello", "EX", "100")
    assert c.call("DEBUG", "DIGEST") == "669dc7955c0119edb82e7cfeb40ea4a28f89f902"
    # order independent: another server with the same data inserted differently
    c2 = server.client()
    c2.call("SELECT", "1")
    data = {b"k%d" % i: (b"v%d" % i, i % 3 == 0) for i in range(50)}
    for k, (v, exp) in reversed(list(data.items())):
        c2.call("SET", k, v, *(["EX", "1000"] if exp else []))
    want = ref_dataset_digest({0: {b"a": (b"1", False), b"b": (b"hello", True)}, 1: data})
    assert c.call("DEBUG", "DIGEST") == want.hex()
    c.call("FLUSHALL")
    assert c.call("DEBUG", "DIGEST") == zero


@DEBUG
def test_debug_digest_value(c):
    c.call("SET", "key:0", "value:0")
    c.call("SET", "a", "1")
    c.call("SET", "b", "hello", "EX", "100")
    assert c.call("DEBUG", "DIGEST-VALUE", "key:0", "nokey") == [
        "c15f34c747bf411833c10208c03e1da1bb7da7cf", "0" * 40,
    ]
    assert c.call("DEBUG", "DIGEST-VALUE", "b", "a") == [
        "d037c4eb8a8b36b602fbced4000daeab0714c1e3", "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da",
    ]
    assert c.call("DEBUG", "DIGEST-VALUE", "a")[0] == ref_value_digest(b"1").hex()
    assert c.call("DEBUG", "DIGEST-VALUE") == []


@DEBUG
def test_debug_object(c):
    c.call("SET", "s", "value:0")
    line = c.call("DEBUG", "OBJECT", "s")
    assert isinstance(line, str)
    assert re.match(
        r"^Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:8 lru:\d+ lru_seconds_idle:\d+$", line
    ), line
    c.call("SET", "i", "12")
    assert re.match(r"^Value at:0x[0-9a-f]+ refcount:2147483647 encoding:int serializedlength:2 ", c.call("DEBUG", "OBJECT", "i"))
    c.call("SET", "r", "x" * 100)
    assert " encoding:raw " in c.call("DEBUG", "OBJECT", "r")
    assert c.err("DEBUG", "OBJECT", "nokey") == "ERR no such key"


@DEBUG
def test_debug_misc_errors(c):
    assert c.err("DEBUG", "FOO") == "ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP."
    assert c.err("DEBUG") == arity("debug")
    help_ = c.call("DEBUG", "HELP")
    assert help_[0] == "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"


@DEBUG
def test_debug_set_active_expire(c):
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    c.call("SET", "k", "v", "PX", "20")
    time.sleep(0.3)
    assert c.call("DBSIZE") == 1
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1") == "OK"
    wait_until(lambda: c.call("DBSIZE") == 0, 5)


# ---------------------------------------------------------------------------
# DEBUG subcommands operators and tests use (Redis 7.0's DEBUG HELP)
# ---------------------------------------------------------------------------

DEBUG_ON = pytest.mark.server(args=["--enable-debug-command", "yes", "--appendonly", "yes"])


@DEBUG_ON
def test_debug_log_change_repl_id_and_error(server, c):
    assert c.call("DEBUG", "LOG", "hello from the test") == "OK"
    wait_until(lambda: "DEBUG LOG: hello from the test" in server.log(), 5)
    before = parse_info(c.call("INFO", "replication"))[1]["master_replid"]
    assert c.call("DEBUG", "CHANGE-REPL-ID") == "OK"
    info = parse_info(c.call("INFO", "replication"))[1]
    assert info["master_replid"] != before and len(info["master_replid"]) == 40
    assert info["master_replid2"] == "0" * 40
    assert c.err("DEBUG", "ERROR", "MYCODE something failed") == "MYCODE something failed"


@DEBUG_ON
def test_debug_knobs_reply_ok(c):
    for args in (("AOF-FLUSH-SLEEP", "0"), ("REPLYBUFFER", "PEAK-RESET-TIME", "100"),
                 ("REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"),
                 ("REPLYBUFFER", "PEAK-RESET-TIME", "RESET"),
                 ("REPLYBUFFER", "RESIZING", "0"), ("REPLYBUFFER", "RESIZING", "1")):
        assert c.call("DEBUG", *args) == "OK"
    assert c.err("DEBUG", "REPLYBUFFER", "X").startswith(
        "ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'")
    c.call("DEBUG", "AOF-FLUSH-SLEEP", "1000")  # each AOF write waits 1 ms
    assert c.call("SET", "slow", "1") == "OK"
    c.call("DEBUG", "AOF-FLUSH-SLEEP", "0")


@DEBUG_ON
def test_debug_pause_cron_stops_active_expiry(c):
    assert c.call("DEBUG", "PAUSE-CRON", "1") == "OK"
    c.call("SET", "k", "v", "PX", "20")
    gone = time.time() * 1000 + 250
    wait_until(lambda: time.time() * 1000 > gone, 2)
    # Nothing removed it: the key is still counted, logically expired.
    assert parse_info(c.call("INFO", "keyspace"))[1]["db0"].startswith("keys=1,")
    assert c.call("DEBUG", "PAUSE-CRON", "0") == "OK"
    wait_until(lambda: c.call("DBSIZE") == 0, 5)


@DEBUG_ON
def test_debug_set_skip_checksum_validation(c):
    c.call("SET", "k", "value")
    payload = bytearray(c.call("DUMP", "k"))
    payload[-1] ^= 0xFF  # a wrong CRC
    assert c.err("RESTORE", "k2", "0", bytes(payload)) == (
        "ERR DUMP payload version or checksum are wrong")
    assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == "OK"
    assert c.call("RESTORE", "k2", "0", bytes(payload)) == "OK"
    assert c.call("GET", "k2") == b"value"
    assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0") == "OK"
    assert c.err("RESTORE", "k3", "0", bytes(payload)).startswith("ERR DUMP payload")


@DEBUG_ON
def test_debug_loadaof_reloads_the_dataset_from_the_aof(server, c):
    c.call("SET", "a", "1")
    c.call("RPUSH", "l", "x", "y")
    c.call("SELECT", "2")
    c.call("SET", "b", "2")
    digest = c.call("DEBUG", "DIGEST")
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("DEBUG", "DIGEST") == digest
    assert c.call("GET", "b") == b"2"
    wait_until(lambda: "Append Only File loaded by DEBUG LOADAOF" in server.log(), 5)


@pytest.mark.parametrize("how,first_line", [
    ("SEGFAULT", re.compile(r"# Redis 7\.0\.\d+ crashed by signal: 11")),
    ("PANIC", re.compile(r"# Guru Meditation: DEBUG PANIC called at Unix time \d+ #")),
])
@pytest.mark.server(args=["--enable-debug-command", "yes"])
def test_crash_writes_a_bug_report_to_the_log(server, how, first_line):
    """A fatal signal or a broken invariant ends the process with Redis's bug report in the
    log: the START line, what happened, the stack trace, the END line."""
    c = server.client()
    c.send("DEBUG", how)
    server.wait_exit(15)
    log = server.log()
    start = log.index("=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    report = log[start:]
    assert first_line.search(report)
    assert "------ STACK TRACE ------" in report
    assert "=== REDIS BUG REPORT END. Make sure to include from START to END. ===" in report
