"""oom-score-adj and oom-score-adj-values, as in Redis 7.0 (tests/unit/oom-score-adj.tcl).

The server writes its own /proc/<pid>/oom_score_adj: the value for its role (master,
replica) added to the score it started from (`relative`/`yes`) or as is
(`absolute`), and the original back on `no`.  Lowering a score below where it
started needs CAP_SYS_RESOURCE; without it CONFIG SET fails and is rolled back.
Every test passes with ``REDUST_SERVER=/usr/bin/redis-server``.  (Redis also sets
the third value on its BGSAVE child; redust saves in a thread, so there is no child
to check.)
"""

import os
import subprocess
import sys

import pytest

from helpers import RespError, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def score(server):
    with open("/proc/%d/oom_score_adj" % server.proc.pid) as f:
        return int(f.read())


def set_score(server, value):
    with open("/proc/%d/oom_score_adj" % server.proc.pid, "w") as f:
        f.write("%d\n" % value)


def can_lower_score():
    """Whether this machine lets a process lower its own score (CAP_SYS_RESOURCE)."""
    r = subprocess.run(["sh", "-c", "echo -1 > /proc/self/oom_score_adj"], capture_output=True)
    return r.returncode == 0


def test_config_set_follows_the_role(server, c):
    base = score(server)
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "10 20 30") == "OK"
    assert c.call("CONFIG", "SET", "oom-score-adj", "yes") == "OK"
    assert score(server) == base + 10
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "15 20 30") == "OK"
    assert score(server) == base + 15
    assert c.call("REPLICAOF", "localhost", "1") == "OK"
    assert score(server) == base + 20
    assert c.call("REPLICAOF", "NO", "ONE") == "OK"
    assert score(server) == base + 15


@pytest.mark.skipif(can_lower_score(), reason="this machine may lower OOM scores")
def test_configuration_failures_are_rolled_back(server, c):
    assert c.call("CONFIG", "SET", "oom-score-adj", "no") == "OK"
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "-1000 -1000 -1000") == "OK"
    with pytest.raises(RespError) as e:
        c.call("CONFIG", "SET", "oom-score-adj", "yes")
    assert e.value.msg == (
        "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj') - "
        "Failed to set current oom_score_adj. Check server logs.")
    assert c.call("CONFIG", "GET", "oom-score-adj") == [b"oom-score-adj", b"no"]
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "0 100 100") == "OK"
    assert c.call("CONFIG", "SET", "oom-score-adj", "yes") == "OK"
    with pytest.raises(RespError) as e:
        c.call("CONFIG", "SET", "oom-score-adj-values", "-1000 -1000 -1000")
    assert "Failed" in e.value.msg
    assert c.call("CONFIG", "GET", "oom-score-adj-values") == [b"oom-score-adj-values", b"0 100 100"]
    log = server.log()
    assert "Unable to write oom_score_adj: Permission denied" in log
    assert ("Failed applying new configuration. Possibly related to new "
            "oom-score-adj-values setting. Restoring previous settings.") in log


def test_values_do_not_touch_proc_while_disabled(server, c):
    assert c.call("CONFIG", "SET", "oom-score-adj", "no") == "OK"
    orig = score(server)
    set_score(server, orig + 2)
    v = orig + 1
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "%d %d %d" % (v, v, v)) == "OK"
    assert score(server) == orig + 2


def test_score_restored_on_disable(server, c):
    assert c.call("CONFIG", "SET", "oom-score-adj", "no") == "OK"
    set_score(server, 22)
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "9 9 9", "oom-score-adj", "yes") == "OK"
    assert score(server) == 31
    assert c.call("CONFIG", "SET", "oom-score-adj", "no") == "OK"
    assert score(server) == 22


def test_relative_and_absolute(server, c):
    assert c.call("CONFIG", "SET", "oom-score-adj", "no") == "OK"
    base = score(server)
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "9 9 9", "oom-score-adj", "relative") == "OK"
    assert score(server) == base + 9
    # `relative` is shown as `yes`, the first name of the value.
    assert c.call("CONFIG", "GET", "oom-score-adj") == [b"oom-score-adj", b"yes"]
    assert c.call("CONFIG", "SET", "oom-score-adj", "absolute") == "OK"
    assert score(server) == 9
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "2000 2000 2000") == "OK"
    assert score(server) == 1000


@pytest.mark.parametrize("values", ["-2001 -2001 -2001", "2001 2001 2001"])
def test_out_of_range_values(c, values):
    with pytest.raises(RespError) as e:
        c.call("CONFIG", "SET", "oom-score-adj-values", values)
    assert e.value.msg == (
        "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - "
        "Invalid oom-score-adj-values, elements must be between -2000 and 2000.")


def test_unordered_values_are_warned_about(server, c):
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "300 200 100") == "OK"
    wait_until(lambda: "The oom-score-adj-values configuration may not work for non-privileged "
               "processes! Please consult the documentation." in server.log(), 5)


@pytest.mark.skipif(can_lower_score(), reason="this machine may lower OOM scores")
def test_a_failure_at_start_up_is_logged_and_the_server_runs(server_factory):
    s = server_factory(args=["--oom-score-adj", "absolute", "--oom-score-adj-values", "-100 -100 -100"])
    c = s.client()
    assert c.call("PING") == "PONG"
    assert c.call("CONFIG", "GET", "oom-score-adj") == [b"oom-score-adj", b"absolute"]
    assert "Unable to write oom_score_adj: Permission denied" in s.log()
    assert score(s) != -100
