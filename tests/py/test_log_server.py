"""Server log lines at start-up, shutdown and for clients, in Redis 7.0's wording.

Operators and their tools grep these lines, so text, level mark (`#` warning, `*`
notice, `-` verbose) and role letter (`C` for the first lines, `M` master, `S`
replica) follow Redis 7.0.15.  Every test passes with
``REDUST_SERVER=/usr/bin/redis-server``.
"""

import re
import signal
import socket

from helpers import HOST, REPL_ARGS, Server, wait_until

PREFIX = r"^(\d+):([CMS]) \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([#*.-]) "


def entries(log):
    """(role, mark, message) for every ordinary log line."""
    out = []
    for line in log.splitlines():
        m = re.match(PREFIX + r"(.*)$", line)
        if m:
            out.append((m.group(2), m.group(3), m.group(4)))
    return out


def in_order(log, expected):
    """The (mark, message) pairs appear in this order (other lines may come between)."""
    got = [(mark, msg) for _, mark, msg in entries(log)]
    i = 0
    for want in expected:
        while i < len(got) and got[i] != want:
            i += 1
        assert i < len(got), "missing or out of order: %r\nlog:\n%s" % (want, log[-3000:])
        i += 1


def test_start_up_lines(server):
    wait_until(lambda: "Ready to accept connections" in server.log(), 10)
    log = server.log()
    first = entries(log)[:3]
    pid = server.proc.pid
    assert first == [
        ("C", "#", "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
        ("C", "#", "Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=%d, just started" % pid),
        ("C", "#", "Configuration loaded"),
    ]
    in_order(log, [
        ("*", "monotonic clock: POSIX clock_gettime"),
        ("*", "Running mode=standalone, port=%d." % server.port),
        ("#", "Server initialized"),
        ("*", "Ready to accept connections"),
    ])
    assert all(role == "M" for role, _, _ in entries(log)[3:])


def test_a_replica_logs_as_s(server_factory):
    master = server_factory()
    replica = server_factory(args=["--replicaof", HOST, str(master.port)])
    wait_until(lambda: "Ready to accept connections" in replica.log(), 10)
    roles = [role for role, _, _ in entries(replica.log())[3:]]
    assert roles and set(roles) == {"S"}


def test_shutdown_lines(server_factory):
    s = server_factory(args=["--save", "900 1"])
    c = s.client()
    c.call("SET", "k", "v")
    try:
        c.call("SHUTDOWN")
    except Exception:
        pass
    s.proc.wait(timeout=10)
    in_order(s.log(), [
        ("#", "User requested shutdown..."),
        ("*", "Saving the final RDB snapshot before exiting."),
        ("*", "DB saved on disk"),
        ("#", "Redis is now ready to exit, bye bye..."),
    ])


def test_sigterm_lines(server_factory):
    s = server_factory()
    wait_until(lambda: "Ready to accept connections" in s.log(), 10)
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(timeout=10)
    log = s.log()
    assert re.search(r"^%d:signal-handler \(\d+\) Received SIGTERM scheduling shutdown\.\.\.$" % s.proc.pid,
                     log, re.M), log
    in_order(log, [("#", "User requested shutdown..."), ("#", "Redis is now ready to exit, bye bye...")])


def test_port_in_use(server):
    busy = server.port
    s = Server(args=["--port", str(busy), "--bind", HOST], base_args=False)
    try:
        s.spawn(port=busy)
        s.proc.wait(timeout=10)
        log = s.log()
    finally:
        s.cleanup()
    in_order(log, [
        ("#", "Warning: Could not create server TCP listening socket %s:%d: bind: Address already in use"
         % (HOST, busy)),
        ("#", "Failed listening on port %d (TCP), aborting." % busy),
    ])


def test_query_buffer_limit_line(server, c):
    assert c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == "OK"
    raw = server.raw()
    try:
        raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + b"x" * (1100 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass
    wait_until(lambda: "Closing client that reached max query buffer length" in server.log(), 10)
    line = [m for _, mark, m in entries(server.log())
            if m.startswith("Closing client that reached max query buffer length")][-1]
    # The client's CLIENT LIST line, then up to 64 bytes of its query buffer
    # quoted (Redis holds a big argument apart, so which bytes differs).
    assert re.match(r"Closing client that reached max query buffer length: id=\d+ addr=\S+ .* "
                    r"cmd=NULL user=default redir=-1 resp=2 \(qbuf initial bytes: \"[^\"]{1,256}\"\)$",
                    line), line


def test_client_lines_at_verbose(server_factory):
    s = server_factory(args=["--loglevel", "verbose"])
    sock = socket.create_connection((HOST, s.port))
    sock.sendall(b"PING\r\n")
    assert sock.recv(100) == b"+PONG\r\n"
    port = sock.getsockname()[1]
    sock.close()
    mine = "Client closed connection id="
    addr = " addr=%s:%d " % (HOST, port)
    wait_until(lambda: any(m.startswith(mine) and addr in m for _, _, m in entries(s.log())), 10)
    msgs = [(mark, m) for _, mark, m in entries(s.log())]
    assert ("-", "Accepted %s:%d" % (HOST, port)) in msgs
    closed = [(mark, m) for mark, m in msgs if m.startswith(mine) and addr in m]
    assert closed[0][0] == "-"
    assert re.match(r"Client closed connection id=\d+ addr=%s:%d laddr=\S+ fd=\d+ name= age=\d+ idle=\d+ "
                    r"flags=N db=0 .* cmd=ping user=default redir=-1 resp=2$" % (HOST, port), closed[0][1])
    bad = socket.create_connection((HOST, s.port))
    bad.sendall(b"*1\r\n$x\r\n")
    bad.recv(100)
    bad.close()
    wait_until(lambda: "Protocol error" in s.log(), 10)
    line = [m for mark, m in msgs + [(k, v) for _, k, v in entries(s.log())]
            if m.startswith("Protocol error")][-1]
    assert re.match(r"Protocol error \(invalid bulk length\) from client: id=\d+ addr=\S+ .*\. "
                    r"Query buffer during protocol error: '.*'$", line), line


def test_replicaof_switches_the_role_letter(server_factory):
    master = server_factory(args=REPL_ARGS)
    s = server_factory(args=REPL_ARGS)
    c = s.client()
    assert c.call("REPLICAOF", HOST, str(master.port)) == "OK"
    wait_until(lambda: any(m.startswith("MASTER <-> REPLICA sync: Finished with success")
                           for _, _, m in entries(s.log())), 10)
    assert c.call("REPLICAOF", "NO", "ONE") == "OK"
    wait_until(lambda: any(m.startswith("MASTER MODE enabled") for _, _, m in entries(s.log())), 10)
    lines = entries(s.log())
    connecting = [r for r, _, m in lines if m.startswith("Connecting to MASTER")]
    finished = [r for r, _, m in lines if m.startswith("MASTER <-> REPLICA sync: Finished with success")]
    mode = [r for r, _, m in lines if m.startswith("MASTER MODE enabled")]
    assert connecting == ["S"] and finished == ["S"] and mode == ["M"]
