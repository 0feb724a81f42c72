"""Busy scripts: past busy-reply-threshold other clients get -BUSY, the
allow_busy commands still run, SCRIPT KILL stops a script that has not
written, SHUTDOWN NOSAVE stops the server, and a script never deadlocks it.

Every test passes against Redis 7.0 and redust."""

import os
import threading

import pytest

import helpers
from helpers import Client, RespError, call_or_error, encode_command, start_in_thread, wait_until

BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
UNKILLABLE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. "
    "You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
)

pytestmark = pytest.mark.server(args=["--busy-reply-threshold", "100"])


def start_script(server, body, *args):
    return start_in_thread(server.port, "EVAL", body, *args)


def wait_busy(server):
    helpers.wait_busy(server.port, BUSY)


def test_busy_script_refuses_others_and_script_kill_stops_it(server):
    t, result = start_script(server, "local i = 0\nwhile true do\n i = i + 1\nend", "0")
    wait_busy(server)
    c = Client(server.port)
    # Commands without allow_busy get BUSY; a new connection too.
    for cmd in (["GET", "x"], ["INFO"], ["SCRIPT", "LOAD", "return 1"], ["CLIENT", "ID"], ["SELECT", "0"]):
        assert call_or_error(c, *cmd) == "-" + BUSY, cmd
    # SHUTDOWN without NOSAVE is refused the same way.
    assert call_or_error(c, "SHUTDOWN") == "-" + BUSY
    # Transactions: MULTI works, a queued command is refused, EXEC aborts.
    assert c.call("MULTI") == "OK"
    assert call_or_error(c, "SET", "k", "v") == "-" + BUSY
    assert call_or_error(c, "EXEC") == "-EXECABORT Transaction discarded because of: " + BUSY
    # EXEC without MULTI is aborted the same way.
    assert call_or_error(c, "EXEC") == "-EXECABORT Transaction discarded because of: " + BUSY
    # FUNCTION KILL does not stop an EVAL.
    assert call_or_error(c, "FUNCTION", "KILL") == "-" + BUSY
    assert c.call("SCRIPT", "KILL") == "OK"
    t.join(10)
    reply = result["reply"]
    assert isinstance(reply, RespError)
    assert str(reply).startswith("ERR Script killed by user with SCRIPT KILL... script: ")
    assert ", on @user_script:" in str(reply)
    # Normal service again, on the connections served during the script too.
    assert c.call("PING") == "PONG"
    assert c.call("SET", "k", "v") == "OK"
    assert call_or_error(c, "SCRIPT", "KILL") == "-NOTBUSY No scripts in execution right now."
    log = server.log()
    assert "Slow script detected: still in execution after" in log
    assert "You can try killing the script using the SCRIPT KILL command." in log
    assert "Lua script killed by user with SCRIPT KILL." in log
    c.close()


def test_pcall_cannot_keep_a_killed_script_running(server):
    body = "while true do pcall(function() while true do end end) end"
    t, result = start_script(server, body, "0")
    wait_busy(server)
    c = Client(server.port)
    assert c.call("SCRIPT", "KILL") == "OK"
    t.join(10)
    assert not t.is_alive()
    assert str(result["reply"]).startswith("ERR Script killed by user with SCRIPT KILL...")
    assert c.call("PING") == "PONG"
    c.close()


def test_a_script_that_wrote_cannot_be_killed_but_shutdown_nosave_stops_the_server(server_factory):
    s = server_factory(args=["--busy-reply-threshold", "100", "--appendonly", "yes"])
    t, result = start_script(s, "redis.call('set', KEYS[1], 'partial') while true do end", "1", "k")
    wait_busy(s)
    c = Client(s.port)
    assert call_or_error(c, "SCRIPT", "KILL") == "-" + UNKILLABLE
    c.send("SHUTDOWN", "NOSAVE")
    wait_until(lambda: s.proc.poll() is not None, timeout=10, msg="the server did not exit")
    t.join(10)
    # The script's client got no reply: its connection closed.
    assert not isinstance(result["reply"], (bytes, str, int))
    # Nothing the script did reached the AOF.
    s.start()
    c = s.client()
    assert c.call("GET", "k") is None


def test_partial_requests_read_while_busy_complete_afterwards(server):
    t, result = start_script(server, "while true do end", "0")
    wait_busy(server)
    c = Client(server.port)
    # A whole request and half of the next: the first is answered now.
    c.send_raw(encode_command("PING") + b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
    assert call_or_error_read(c) == "-" + BUSY
    killer = Client(server.port)
    assert killer.call("SCRIPT", "KILL") == "OK"
    t.join(10)
    c.send_raw(b"lo\r\n")
    assert c.read_reply() == b"hello"
    assert c.call("PING") == "PONG"
    c.close()
    killer.close()


def call_or_error_read(c):
    reply = c.read_reply(raise_errors=False)
    return "-" + str(reply) if isinstance(reply, RespError) else reply


def test_before_the_threshold_nothing_interleaves(server_factory):
    s = server_factory(args=["--busy-reply-threshold", "5000"])
    c = s.client()
    c.call("SET", "n", "0")
    seen = []
    stop = threading.Event()

    def poll():
        p = s.client()
        while not stop.is_set():
            seen.append(p.call("GET", "n"))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    wait_until(lambda: len(seen) > 0)
    # A few hundred ms of Lua between two writes.
    body = "redis.call('set','n','1') local x = 0 for i = 1, 20000000 do x = x + 1 end redis.call('set','n','2') return x"
    assert c.call("EVAL", body, "0") == 20000000
    wait_until(lambda: seen[-1] == b"2")
    stop.set()
    poller.join(10)
    # No client saw the script's middle state, and none got BUSY.
    assert b"1" not in seen
    assert "Slow script detected" not in s.log()


def test_lua_time_limit_is_the_same_setting(c):
    c.call("CONFIG", "SET", "lua-time-limit", "1234")
    assert c.call("CONFIG", "GET", "busy-reply-threshold") == [b"busy-reply-threshold", b"1234"]
