"""client-output-buffer-limit for normal clients, enforced while the server keeps
executing, as Redis 7.0 does (networking.c checkClientOutputBufferLimits).

What counts is the output waiting unwritten beyond the 16 KiB fixed reply buffer.
Over the hard limit (or over the soft limit for longer than its seconds) the client
is closed: at once when its own command or a message pushed it over ("scheduled to
be closed ASAP", nothing more is sent and nothing more of its pipeline runs), or by
the once-a-second cron ("closed") when a soft limit's time runs out.  Every test
passes with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import socket
import time

from helpers import parse_info, wait_until

SMALL_RCVBUF = 4096


def slow_reader(server):
    raw = server.raw()
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF)
    return raw


def client_count(c):
    return len(c.call("CLIENT", "LIST").splitlines())


def test_one_big_reply_over_the_hard_limit_closes_without_sending_it(server, c):
    c.call("RPUSH", "l", *(["x" * 1000] * 2000))
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == "OK"
    raw = slow_reader(server)
    raw.send(b"CLIENT SETNAME lr\r\n")
    raw.expect(b"+OK\r\n")
    raw.send(b"LRANGE l 0 -1\r\n")
    assert raw.read_until_close(10) == b""
    wait_until(lambda: client_count(c) == 1, 10)
    log = server.log()
    line = [x for x in log.splitlines() if "overcoming of output buffer limits" in x]
    assert line, log[-2000:]
    assert " name=lr " in line[-1] and " cmd=lrange " in line[-1]
    assert line[-1].endswith(" scheduled to be closed ASAP for overcoming of output buffer limits.")
    assert " # Client id=" in line[-1]
    # Redis 7.0 has no disconnection counters in INFO.
    info = c.call("INFO", "stats")
    assert b"output_buffer_limit_disconnections" not in info
    assert b"query_buffer_limit_disconnections" not in info


def test_the_rest_of_a_pipeline_does_not_run_once_over_the_limit(server, c):
    c.call("SET", "big", "x" * (200 * 1024))
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == "OK"
    raw = slow_reader(server)
    raw.send(b"GET big\r\nINCR ctr\r\n" * 20)
    assert raw.read_until_close(10) == b""
    # Five GETs fit under 1 MB (plus the fixed buffer); the sixth goes over.
    assert c.call("GET", "ctr") == b"5"
    assert c.call("PING") == "PONG"


def test_a_client_that_sends_slowly_and_never_reads_is_closed(server, c):
    """Requests arriving one at a time keep running while the replies pile up
    (the connection does not stop reading), until the limit closes it."""
    c.call("SET", "big", "x" * (1024 * 1024))
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 4mb 0 0") == "OK"
    raw = slow_reader(server)
    raw.send(b"CLIENT SETNAME trickle\r\n")
    raw.expect(b"+OK\r\n")
    sent = 0
    closed = False
    for _ in range(300):
        try:
            raw.send(b"GET big\r\nINCR ctr\r\n")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        sent += 1
        if b"name=trickle" not in c.call("CLIENT", "LIST"):
            closed = True
            break
        time.sleep(0.005)
    assert closed, "the client that never reads was never closed"
    ran = int(c.call("GET", "ctr"))
    # Every request sent before the close ran, although nothing was read.
    assert ran >= 5 and ran <= sent
    assert c.call("PING") == "PONG"


def test_soft_limit_closes_after_its_seconds_without_new_output(server, c):
    c.call("SET", "big", "x" * (1024 * 1024))
    assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 300kb 2") == "OK"
    raw = slow_reader(server)
    raw.send(b"CLIENT SETNAME soft\r\n")
    raw.expect(b"+OK\r\n")
    start = time.monotonic()
    raw.send(b"GET big\r\n" * 8)
    # Still connected right after: the soft limit allows 2 seconds.
    time.sleep(0.3)
    assert b"name=soft" in c.call("CLIENT", "LIST")
    wait_until(lambda: b"name=soft" not in c.call("CLIENT", "LIST"), 10)
    took = time.monotonic() - start
    assert took >= 2.0, took
    lines = [x for x in server.log().splitlines() if "overcoming of output buffer limits" in x]
    assert lines and lines[-1].endswith(" closed for overcoming of output buffer limits.")
    assert " name=soft " in lines[-1]


def test_no_limit_by_default_and_the_output_waits(server, c):
    """With `normal 0 0 0` (the default) a client that does not read is never
    closed; once it reads, it gets every reply in order."""
    c.call("SET", "big", "x" * (256 * 1024))
    # A normal receive window, so the replies can be read back quickly; 10 MB
    # is more than the sockets hold, so some wait in the server meanwhile.
    raw = server.raw()
    n = 40
    raw.send(b"GET big\r\n" * n + b"PING\r\n")
    time.sleep(0.5)
    assert client_count(c) == 2
    one = b"$%d\r\n" % (256 * 1024) + b"x" * (256 * 1024) + b"\r\n"
    got = raw.recv_exact(len(one) * n + len(b"+PONG\r\n"), timeout=20)
    assert got == one * n + b"+PONG\r\n"
    _, f = parse_info(c.call("INFO", "clients"))
    assert f["connected_clients"] == "2"
