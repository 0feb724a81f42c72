"""maxmemory-clients (client eviction), as in Redis 7.0.

While the limit is set, the memory of normal and pub/sub clients (CLIENT LIST's
tot-mem) is counted; when it reaches the limit, the largest clients are closed until
it is below (never a client with CLIENT NO-EVICT on, a replica or a master).  Every
test passes with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import socket

import pytest

from helpers import RespError, parse_info, wait_until


def evicted_clients(c):
    return int(parse_info(c.call("INFO", "stats"))[1]["evicted_clients"])


def names(c):
    out = set()
    for line in c.call("CLIENT", "LIST").decode().splitlines():
        for part in line.split(" "):
            if part.startswith("name=") and part != "name=":
                out.add(part[5:])
    return out


def hold_query_buffer(server, name, nbytes):
    """A client whose query buffer holds `nbytes` of an unfinished argument."""
    raw = server.raw()
    raw.send(b"CLIENT SETNAME %s\r\n" % name.encode())
    raw.expect(b"+OK\r\n")
    # Redis counts a big argument's whole declared length as soon as its
    # header arrives; declared and sent are close, so both count the same.
    try:
        raw.send(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (nbytes + 1000) + b"x" * nbytes)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return raw


def closed(raw, timeout=10):
    try:
        return raw.read_until_close(timeout) is not None
    except (ConnectionResetError, BrokenPipeError):
        return True


@pytest.mark.parametrize(
    "value, shown",
    [("10%", b"10%"), ("0", b"0"), ("0%", b"0"), ("1gb", b"1073741824"), ("1KB", b"1024"),
     ("1k", b"1000"), ("100%", b"100%"), ("", b"0")],
)
def test_config_values(c, value, shown):
    assert c.call("CONFIG", "SET", "maxmemory-clients", value) == "OK"
    assert c.call("CONFIG", "GET", "maxmemory-clients") == [b"maxmemory-clients", shown]


@pytest.mark.parametrize(
    "value, why",
    [("101%", "percentage argument must be less or equal to 100"),
     ("-1", "argument must be a memory or percent value"),
     ("abc", "argument must be a memory or percent value"),
     ("1.5", "argument must be a memory or percent value"),
     ("-5%", "argument must be a memory or percent value"),
     ("5 %", "argument must be a memory or percent value"),
     ("%", "argument must be a memory or percent value"),
     ("+5%", "argument must be a memory or percent value")],
)
def test_config_errors(c, value, why):
    with pytest.raises(RespError) as e:
        c.call("CONFIG", "SET", "maxmemory-clients", value)
    assert e.value.msg == (
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - " + why)


def test_a_client_over_the_limit_by_its_query_buffer_is_evicted(server, c):
    c.call("CLIENT", "SETNAME", "ctl")
    assert c.call("CONFIG", "SET", "maxmemory-clients", "1mb") == "OK"
    raw = hold_query_buffer(server, "big", 1200 * 1024)
    assert closed(raw)
    wait_until(lambda: "big" not in names(c), 10)
    assert evicted_clients(c) == 1
    lines = [x for x in server.log().splitlines() if "Evicting client: " in x]
    assert lines and " name=big " in lines[-1] and " * Evicting client: id=" in lines[-1]
    assert c.call("PING") == "PONG"
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    assert evicted_clients(c) == 0


def test_a_client_over_the_limit_by_replies_it_does_not_read_is_evicted(server, c):
    c.call("CLIENT", "SETNAME", "ctl")
    # Written from another connection: Redis keeps a big query buffer's
    # room for a while, which would make the writer the largest client.
    setup = server.client()
    setup.call("SET", "big", "x" * (512 * 1024))
    setup.close()
    assert c.call("CONFIG", "SET", "maxmemory-clients", "1mb") == "OK"
    raw = server.raw()
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.send(b"CLIENT SETNAME reader\r\n")
    raw.expect(b"+OK\r\n")
    for _ in range(20):
        try:
            raw.send(b"GET big\r\n")
        except (BrokenPipeError, ConnectionResetError):
            break
        if "reader" not in names(c):
            break
    wait_until(lambda: "reader" not in names(c), 10)
    assert evicted_clients(c) == 1
    assert c.call("PING") == "PONG"


def test_only_the_largest_clients_go_until_below_the_limit(server, c):
    c.call("CLIENT", "SETNAME", "ctl")
    assert c.call("CONFIG", "SET", "maxmemory-clients", "2mb") == "OK"
    small1 = hold_query_buffer(server, "small1", 300 * 1024)
    small2 = hold_query_buffer(server, "small2", 400 * 1024)
    wait_until(lambda: {"small1", "small2"} <= names(c), 5)
    big = hold_query_buffer(server, "big", 1500 * 1024)
    assert closed(big)
    wait_until(lambda: "big" not in names(c), 10)
    assert {"ctl", "small1", "small2"} <= names(c)
    assert evicted_clients(c) == 1
    small1.close()
    small2.close()


def test_no_evict_clients_count_but_stay(server, c):
    c.call("CLIENT", "SETNAME", "ctl")
    assert c.call("CLIENT", "NO-EVICT", "on") == "OK"
    assert b"flags=e" in c.call("CLIENT", "INFO")
    raw = server.raw()
    raw.send(b"CLIENT SETNAME keep\r\nCLIENT NO-EVICT on\r\n")
    raw.expect(b"+OK\r\n+OK\r\n")
    raw.send(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (1201 * 1024) + b"x" * (1200 * 1024))
    assert c.call("CONFIG", "SET", "maxmemory-clients", "1mb") == "OK"
    wait_until(lambda: "Over client maxmemory after evicting all evictable clients" in server.log(), 10)
    assert {"ctl", "keep"} <= names(c)
    assert evicted_clients(c) == 0
    with pytest.raises(RespError) as e:
        c.call("CLIENT", "NO-EVICT", "maybe")
    assert e.value.msg == "ERR syntax error"
    # Back under the limit once the large client's buffer is gone.
    raw.close()
    assert c.call("CONFIG", "SET", "maxmemory-clients", "0") == "OK"


def test_a_percentage_without_maxmemory_evicts_nobody(server, c):
    assert c.call("CONFIG", "SET", "maxmemory-clients", "1%") == "OK"
    raw = hold_query_buffer(server, "big", 1200 * 1024)
    wait_until(lambda: "big" in names(c), 5)
    assert c.call("PING") == "PONG"
    assert "big" in names(c)
    assert evicted_clients(c) == 0
    raw.close()


def test_a_percentage_of_maxmemory_is_the_limit(server, c):
    c.call("CLIENT", "SETNAME", "ctl")
    assert c.call("CONFIG", "SET", "maxmemory", "100mb") == "OK"
    assert c.call("CONFIG", "SET", "maxmemory-clients", "1%") == "OK"
    raw = hold_query_buffer(server, "big", 1200 * 1024)
    assert closed(raw)
    assert evicted_clients(c) == 1
