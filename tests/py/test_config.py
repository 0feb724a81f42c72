"""Configuration files, command-line options and process behaviour."""

import os
import re
import socket
import time

import pytest

from helpers import Client, parse_info, pid_alive, run_server_expect_exit, wait_until

FATAL_RE = re.compile(r"\*\*\* FATAL CONFIG FILE ERROR \(Redis 7\.0\.\d+\) \*\*\*")

DENIED = (
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is "
    "set for the default user. In this mode connections are only accepted from the loopback interface. "
    "If you want to connect from external computers to Redis you may adopt one of the following "
    "solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from "
    "the loopback interface by connecting to Redis from the same host the server is running, however "
    "MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make "
    "this change permanent. 2) Alternatively you can just disable the protected mode by editing the "
    "Redis configuration file, and setting the protected mode option to 'no', and then restarting the "
    "server. 3) If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: "
    "You only need to do one of the above things in order for the server to start accepting "
    "connections from the outside.\r\n"
)

# A source address that is on the loopback interface but is not "127.0.0.1": Redis only treats
# the literal peer addresses 127.0.0.1 and ::1 as local for protected mode.
NON_LOCAL_SOURCE = "127.0.0.2"


def cfg(c, name):
    rep = c.call("CONFIG", "GET", name)
    return rep[1] if rep else None


def test_config_file_quoting_include_sizes(server_factory, tmp_path):
    inc_dir = tmp_path / "inc"
    inc_dir.mkdir()
    inc = inc_dir / "included.conf"
    inc.write_text("hz 25\nmaxmemory-policy allkeys-lru\n")
    conf = (
        "# test config with comments\n"
        "\n"
        'requirepass "pa ss\\x41word\\"q"\n'
        "maxmemory 10mb\n"
        "   maxmemory-samples 7\n"
        "HZ 12\n"
        "include %s\n"
        "client-output-buffer-limit normal 1mb 512kb 30\n"
        "proto-max-bulk-len 2mb\n"
        'slowlog-max-len "64"\n'
        "loglevel 'warning'\n"
        "client-query-buffer-limit 2gb\n"
    ) % inc
    s = server_factory(config=conf)
    c = s.client()
    assert c.err("PING") == "NOAUTH Authentication required."
    assert c.call("AUTH", 'pa ssAword"q') == "OK"
    assert cfg(c, "requirepass") == b'pa ssAword"q'
    assert cfg(c, "maxmemory") == b"10485760"
    assert cfg(c, "maxmemory-samples") == b"7"
    assert cfg(c, "hz") == b"25"  # the include comes after "HZ 12"
    assert cfg(c, "maxmemory-policy") == b"allkeys-lru"
    assert cfg(c, "client-output-buffer-limit").startswith(b"normal 1048576 524288 30 ")
    assert cfg(c, "proto-max-bulk-len") == b"2097152"
    assert cfg(c, "slowlog-max-len") == b"64"
    assert cfg(c, "loglevel") == b"warning"
    assert cfg(c, "client-query-buffer-limit") == b"2147483648"
    _, info = parse_info(c.call("INFO", "server"))
    assert info["config_file"] == s.config_path


def test_command_line_overrides_config_file(server_factory):
    s = server_factory(config="hz 20\nmaxmemory 1mb\n", args=["--hz", "30"])
    c = s.client()
    assert cfg(c, "hz") == b"30"
    assert cfg(c, "maxmemory") == b"1048576"


def test_invalid_directive_fatal_error():
    rc, out = run_server_expect_exit(config="# comment\nhz 10\nfoobar yes\n")
    assert rc == 1
    assert FATAL_RE.search(out), out
    assert "Reading the configuration file, at line 3\n>>> 'foobar yes'\nBad directive or wrong number of arguments" in out


def test_invalid_value_fatal_error():
    rc, out = run_server_expect_exit(config="port 0\nmaxmemory abc\n")
    assert rc == 1
    assert FATAL_RE.search(out), out
    assert "Reading the configuration file, at line 2\n>>> 'maxmemory abc'\nargument must be a memory value" in out


def test_wrong_arg_count_and_unbalanced_quotes():
    rc, out = run_server_expect_exit(config="hz\n")
    assert rc == 1
    assert "at line 1\n>>> 'hz'\nwrong number of arguments" in out
    rc, out = run_server_expect_exit(config="hz 10\nloglevel \"notice\n")
    assert rc == 1
    assert FATAL_RE.search(out)
    assert "at line 2\n>>> 'loglevel \"notice'\nUnbalanced quotes in configuration line" in out


def test_bad_command_line_option_fatal():
    rc, out = run_server_expect_exit(args=["--foobar", "yes"])
    assert rc == 1
    assert FATAL_RE.search(out), out
    assert ">>> 'foobar \"yes\"'\nBad directive or wrong number of arguments" in out


def test_missing_config_file():
    rc, out = run_server_expect_exit(args=["/nonexistent/redust-test.conf"], base_args=False)
    assert rc == 1
    assert "Fatal error, can't open config file '/nonexistent/redust-test.conf'" in out


def test_missing_include_file():
    rc, out = run_server_expect_exit(config="include /nonexistent/x.conf\n")
    assert rc == 1
    assert "Fatal error, can't open config file '/nonexistent/x.conf'" in out


def test_daemonize_pidfile_logfile(server_factory):
    s = server_factory(wait=False)
    pidfile = os.path.join(s.dir, "redis.pid")
    logfile = os.path.join(s.dir, "redis.log")
    s.extra_args += ["--daemonize", "yes", "--pidfile", pidfile, "--logfile", logfile]
    s.pidfiles.append(pidfile)
    s.spawn()
    # the launched process detaches: the foreground process exits with 0
    assert s.proc.wait(timeout=10) == 0
    wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 10)
    pid = int(open(pidfile).read().strip())
    assert pid != s.proc.pid
    assert pid_alive(pid)
    wait_until(lambda: s.ping_once(), 10)
    wait_until(lambda: "Ready to accept connections" in open(logfile).read(), 10)
    c = s.client()
    _, info = parse_info(c.call("INFO", "server"))
    assert info["process_id"] == str(pid)
    assert cfg(c, "daemonize") == b"yes"
    assert cfg(c, "pidfile") == pidfile.encode()
    c.send("SHUTDOWN", "NOSAVE")
    assert c.is_closed(10)
    wait_until(lambda: not pid_alive(pid), 10)
    # the pid file is removed on shutdown
    wait_until(lambda: not os.path.exists(pidfile), 5)


def test_logfile_without_daemonize(server_factory):
    s = server_factory(wait=False)
    logfile = os.path.join(s.dir, "server.log")
    s.extra_args += ["--logfile", logfile]
    s.start()
    wait_until(lambda: os.path.exists(logfile) and "Ready to accept connections" in open(logfile).read(), 10)


@pytest.mark.server(args=["--rename-command", "SET", "MYSET", "--rename-command", "CONFIG", ""])
def test_rename_command(c):
    assert c.err("SET", "a", "b") == "ERR unknown command 'SET', with args beginning with: 'a' 'b' "
    assert c.err("set", "a", "b") == "ERR unknown command 'set', with args beginning with: 'a' 'b' "
    assert c.call("MYSET", "a", "b") == "OK"
    assert c.call("myset", "a", "c") == "OK"
    assert c.call("GET", "a") == b"c"
    assert c.err("CONFIG", "GET", "x") == "ERR unknown command 'CONFIG', with args beginning with: 'GET' 'x' "


def test_rename_command_in_config_file(server_factory):
    s = server_factory(config='rename-command FLUSHALL ""\nrename-command GET "FETCH"\n')
    c = s.client()
    c.call("SET", "k", "v")
    assert c.err("FLUSHALL") == "ERR unknown command 'FLUSHALL', with args beginning with: "
    assert c.call("FETCH", "k") == b"v"
    assert c.err("GET", "k") == "ERR unknown command 'GET', with args beginning with: 'k' "


@pytest.mark.server(args=["--requirepass", "foobared"])
def test_requirepass(server):
    c = server.client()
    assert c.err("SET", "a", "b") == "NOAUTH Authentication required."
    assert c.err("AUTH", "nope") == "WRONGPASS invalid username-password pair or user is disabled."
    assert c.call("AUTH", "foobared") == "OK"
    assert c.call("SET", "a", "b") == "OK"
    raw = server.raw()
    raw.send(b"GET a\r\n")
    raw.expect(b"-NOAUTH Authentication required.\r\n")
    raw.send(b"AUTH foobared\r\nGET a\r\n")
    raw.expect(b"+OK\r\n$1\r\nb\r\n")
    # changing the password at run time
    assert c.call("CONFIG", "SET", "requirepass", "newpw") == "OK"
    c2 = server.client()
    assert c2.err("AUTH", "foobared") == "WRONGPASS invalid username-password pair or user is disabled."
    assert c2.call("AUTH", "newpw") == "OK"
    # already authenticated connections stay authenticated
    assert c.call("GET", "a") == b"b"


@pytest.mark.server(args=["--maxclients", "3"])
def test_maxclients(server):
    first = server.client()
    # The fixture's readiness probe may still be closing: wait until we're alone.
    wait_until(lambda: parse_info(first.call("INFO", "clients"))[1]["connected_clients"] == "1", 10)
    clients = [first] + [server.client() for _ in range(2)]
    for cl in clients:
        assert cl.call("PING") == "PONG"
    raw = server.raw()
    assert raw.read_until_close(10) == b"-ERR max number of clients reached\r\n"
    _, info = parse_info(clients[0].call("INFO", "everything"))
    assert info["maxclients"] == "3"
    assert int(info["rejected_connections"]) >= 1
    clients[2].close()
    # a slot frees up
    def can_connect():
        cl = Client(server.port)
        try:
            return cl.call("PING") == "PONG"
        finally:
            cl.close()

    wait_until(can_connect, 10)


@pytest.mark.server(args=["--timeout", "1"])
def test_idle_timeout(server):
    idle = server.client()
    idle.call("PING")
    sub = server.client()
    sub.send("SUBSCRIBE", "x")
    assert sub.read_reply() == [b"subscribe", b"x", 1]
    start = time.monotonic()
    assert idle.is_closed(10)
    assert time.monotonic() - start >= 0.5
    # pub/sub clients are not subject to the timeout
    assert not sub.is_closed(0.2)
    assert server.client().call("PING") == "PONG"


@pytest.mark.server(args=["--timeout", "1"])
def test_active_client_not_timed_out(server):
    c = server.client()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert c.call("PING") == "PONG"
        time.sleep(0.2)


def test_config_timeout_set_at_runtime(server):
    c = server.client()
    idle = server.client()
    idle.call("PING")
    c.call("CONFIG", "SET", "timeout", "1")
    assert idle.is_closed(10)


# ---------------------------------------------------------------------------
# protected mode
# ---------------------------------------------------------------------------


def _connect_from(port, source):
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def _recv_all(s, timeout=5):
    s.settimeout(timeout)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return out
        if not d:
            return out
        out += d


@pytest.mark.server(args=["--protected-mode", "yes", "--bind", "*", "-::*"])
def test_protected_mode_denies_non_loopback_address(server):
    s = _connect_from(server.port, NON_LOCAL_SOURCE)
    s.sendall(b"PING\r\n")
    assert _recv_all(s).decode() == DENIED  # reply, then the connection is closed
    s.close()
    # 127.0.0.1 is served
    c = server.client()
    assert c.call("PING") == "PONG"
    assert cfg(c, "protected-mode") == b"yes"
    # disabling protected mode at run time lets the other address in
    assert c.call("CONFIG", "SET", "protected-mode", "no") == "OK"
    s = _connect_from(server.port, NON_LOCAL_SOURCE)
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    s.close()


@pytest.mark.server(args=["--protected-mode", "yes"])
def test_protected_mode_applies_even_with_explicit_bind(server):
    s = _connect_from(server.port, NON_LOCAL_SOURCE)
    s.sendall(b"PING\r\n")
    assert _recv_all(s).decode() == DENIED
    s.close()


@pytest.mark.server(args=["--protected-mode", "yes", "--bind", "*", "-::*", "--requirepass", "pw"])
def test_protected_mode_inactive_with_password(server):
    s = _connect_from(server.port, NON_LOCAL_SOURCE)
    s.sendall(b"PING\r\nAUTH pw\r\nPING\r\n")
    expect = b"-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n"
    got = b""
    deadline = time.monotonic() + 5
    while len(got) < len(expect) and time.monotonic() < deadline:
        got += s.recv(1000)
    assert got == expect
    s.close()


@pytest.mark.server(args=["--protected-mode", "no", "--bind", "*", "-::*"])
def test_protected_mode_off(server):
    s = _connect_from(server.port, NON_LOCAL_SOURCE)
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    s.close()


# ---------------------------------------------------------------------------
# CONFIG REWRITE
# ---------------------------------------------------------------------------

REWRITE_CONF = """# My redust config
# second comment line

maxmemory 10mb
# policy comment
maxmemory-policy allkeys-lru
hz 15
appendonly no
"""


def test_config_rewrite_round_trip(server_factory):
    s = server_factory(config=REWRITE_CONF)
    c = s.client()
    assert c.call("CONFIG", "SET", "maxmemory", "20mb") == "OK"
    assert c.call("CONFIG", "SET", "hz", "20") == "OK"
    assert c.call("CONFIG", "SET", "slowlog-max-len", "256") == "OK"
    assert c.call("CONFIG", "SET", "maxmemory-policy", "volatile-ttl") == "OK"
    assert c.call("CONFIG", "REWRITE") == "OK"
    text = open(s.config_path).read()
    lines = text.split("\n")
    # comments and the order of the original lines are kept, values updated in place
    assert lines[:8] == [
        "# My redust config",
        "# second comment line",
        "",
        "maxmemory 20mb",
        "# policy comment",
        "maxmemory-policy volatile-ttl",
        "hz 20",
        "appendonly no",
    ]
    assert "# Generated by CONFIG REWRITE" in lines
    gen = lines.index("# Generated by CONFIG REWRITE")
    assert gen > 7
    assert "slowlog-max-len 256" in lines[gen:]
    assert sum(1 for ln in lines if ln.startswith("maxmemory ")) == 1
    assert sum(1 for ln in lines if ln.startswith("hz ")) == 1
    # a restart with the rewritten file has the new values
    s.restart()
    c = s.client()
    assert cfg(c, "maxmemory") == b"20971520"
    assert cfg(c, "hz") == b"20"
    assert cfg(c, "slowlog-max-len") == b"256"
    assert cfg(c, "maxmemory-policy") == b"volatile-ttl"
    # rewriting again keeps the user's part of the file and adds no duplicates
    assert c.call("CONFIG", "REWRITE") == "OK"
    lines2 = open(s.config_path).read().split("\n")
    assert lines2[:8] == lines[:8]
    assert lines2.count("# Generated by CONFIG REWRITE") == 1
    assert sum(1 for ln in lines2 if ln.startswith("slowlog-max-len ")) == 1


def test_config_rewrite_removes_nothing_it_does_not_own(server_factory):
    conf = "# keep me\nhz 11\n# and me\n"
    s = server_factory(config=conf)
    c = s.client()
    c.call("CONFIG", "SET", "hz", "12")
    assert c.call("CONFIG", "REWRITE") == "OK"
    lines = open(s.config_path).read().split("\n")
    assert lines[:3] == ["# keep me", "hz 12", "# and me"]
