"""Sentinel's user scripts, end to end: ``notification-script`` and
``client-reconfig-script`` as Redis 7.0 Sentinel runs them.

A master (with one replica for the failover test) and ONE Sentinel (quorum 1,
down-after 1000), all started from the REDUST_SERVER binary, so the same file runs
against redust and against a real Redis (``REDUST_SERVER=/usr/bin/redis-server``).
Both scripts are small shell scripts configured in the Sentinel's config file
(``deny-scripts-reconfig`` left at its default); each appends its arguments, one
tab-separated line per run, to a file of its own. The notification script also lists its
own descriptors (``/proc/$$/fd``) and, for ``+set`` events, exits with a code chosen by the
option set (1: retried; 3: ``-script-error``; or sleeps past ``script-max-runtime``).
"""

import os
import stat
import subprocess

import pytest

from helpers import HOST, REPL_ARGS, Server, parse_info, wait_until

MASTER = "mymaster"

NOTIFY = """#!/bin/sh
D=%(dir)s
line=$(printf '%%s\\t' "$@")
echo "$line" >> "$D/notify.log"
ls -l /proc/$$/fd > "$D/fds.$$" 2>/dev/null
mv "$D/fds.$$" "$D/fds-$1.txt"
if [ "$1" = "+set" ]; then
  case "$2" in
    *" quorum "*) exit 1 ;;
    *" failover-timeout "*) exit 3 ;;
    *" parallel-syncs "*) exec sleep 30 ;;
  esac
fi
exit 0
"""

RECONFIG = """#!/bin/sh
line=$(printf '%%s\\t' "$@")
echo "$line" >> "%(dir)s/reconfig.log"
exit 0
"""


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def read_runs(path):
    """Every run's argv (after the path), in order."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [line.rstrip("\t").split("\t") for line in lines if line]


class ScriptSentinel(Server):
    """A Sentinel (``<binary> sentinel.conf --sentinel``) monitoring ``master_port`` with
    quorum 1, down-after 1000 and both scripts, which live in its own dir."""

    def __init__(self, master_port):
        super().__init__(base_args=False)
        self.master_port = master_port
        self.conf = os.path.join(self.dir, "sentinel.conf")
        self.logfile = os.path.join(self.dir, "sentinel.log")
        self.notify = os.path.join(self.dir, "notify.sh")
        self.reconfig = os.path.join(self.dir, "reconfig.sh")
        write_script(self.notify, NOTIFY % {"dir": self.dir})
        write_script(self.reconfig, RECONFIG % {"dir": self.dir})

    def command_line(self, port):
        with open(self.conf, "w") as f:
            f.write(
                "port %d\nbind %s\ndaemonize no\ndir %s\nlogfile %s\n"
                "sentinel monitor %s %s %d 1\n"
                "sentinel down-after-milliseconds %s 1000\n"
                "sentinel failover-timeout %s 10000\n"
                "sentinel notification-script %s %s\n"
                "sentinel client-reconfig-script %s %s\n"
                % (port, HOST, self.dir, self.logfile, MASTER, HOST, self.master_port,
                   MASTER, MASTER, MASTER, self.notify, MASTER, self.reconfig)
            )
        return [self.binary, self.conf, "--sentinel"]

    def notifications(self):
        return [r for r in read_runs(os.path.join(self.dir, "notify.log")) if r[0] != "baseline"]

    def reconfigurations(self):
        return read_runs(os.path.join(self.dir, "reconfig.log"))

    def fds(self, event):
        """The notification script's own descriptors when it ran for ``event``: {fd: target}."""
        with open(os.path.join(self.dir, "fds-%s.txt" % event)) as f:
            out = {}
            for line in f.read().splitlines():
                if " -> " not in line:
                    continue
                left, target = line.split(" -> ", 1)
                out[int(left.split()[-1])] = target
            return out

    def log_tail(self, n=60):
        try:
            with open(self.logfile, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return "(no log)"


@pytest.fixture
def cleanup():
    started = []
    yield started.append
    for s in reversed(started):
        s.cleanup()


def start_data_node(cleanup, *args):
    s = Server(args=[*REPL_ARGS, *[str(a) for a in args]])
    cleanup(s)
    return s.start()


def start_sentinel(cleanup, master_port):
    s = ScriptSentinel(master_port)
    cleanup(s)
    return s.start()


def pending(client):
    """SENTINEL PENDING-SCRIPTS (RESP2) as a list of (field names, dict)."""
    out = []
    for record in client.call("SENTINEL", "PENDING-SCRIPTS"):
        keys = [record[i].decode() for i in range(0, len(record), 2)]
        values = dict(zip(keys, record[1::2]))
        values["argv"] = [a.decode() for a in values["argv"]]
        for k in ("flags", "pid", "run-time", "run-delay", "retry-num"):
            if k in values:
                values[k] = values[k].decode()
        out.append((keys, values))
    return out


def sentinel_info(client):
    return parse_info(client.call("INFO", "sentinel"))[1]


def test_failover_runs_notification_and_leader_reconfig_scripts(cleanup):
    master = start_data_node(cleanup)
    replica = start_data_node(cleanup, "--replicaof", HOST, master.port)
    mc = master.client()
    wait_until(lambda: parse_info(mc.call("INFO", "replication"))[1].get("slave0", "").find("online") >= 0,
               timeout=20, msg="replica online")
    sentinel = start_sentinel(cleanup, master.port)
    sc = sentinel.client()
    # The replica is known (from the master's INFO) before the master dies.
    wait_until(lambda: len(sc.call("SENTINEL", "REPLICAS", MASTER)) == 1, timeout=20,
               msg="replica discovered\n" + sentinel.log_tail())
    # +monitor at start-up runs the notification script too.
    wait_until(lambda: ["+monitor", "master %s %s %d quorum 1" % (MASTER, HOST, master.port)]
               in sentinel.notifications(), timeout=10, msg="+monitor notified")

    old_port = master.port
    master.kill()
    wait_until(lambda: any(r[0] == "+switch-master" for r in sentinel.notifications()), timeout=40,
               msg="failover\n" + sentinel.log_tail())
    wait_until(lambda: sentinel.reconfigurations(), timeout=10, msg="reconfig script ran")

    runs = sentinel.notifications()
    assert ["+sdown", "master %s %s %d" % (MASTER, HOST, old_port)] in runs, runs
    assert ["+odown", "master %s %s %d #quorum 1/1" % (MASTER, HOST, old_port)] in runs, runs
    # Events whose text names no instance still run the master's script.
    assert ["+new-epoch", "1"] in runs, runs
    myid = sc.call("SENTINEL", "MYID").decode()
    assert ["+vote-for-leader", "%s 1" % myid] in runs, runs
    assert ["+promoted-slave",
            "slave %s:%d %s %d @ %s %s %d" % (HOST, replica.port, HOST, replica.port, MASTER, HOST, old_port)
            ] in runs, runs
    assert ["+switch-master", "%s %s %d %s %d" % (MASTER, HOST, old_port, HOST, replica.port)] in runs, runs
    # Only WARNING events: +slave (NOTICE) and the failover's NOTICE states run nothing.
    types = {r[0] for r in runs}
    assert not types & {"+slave", "+failover-state-send-slaveof-noone", "+slave-reconf-sent"}, runs

    assert sentinel.reconfigurations() == [
        [MASTER, "leader", "start", HOST, str(old_port), HOST, str(replica.port)]
    ]

    # No descriptor of the Sentinel reaches the script: the same script started
    # directly (only stdin, stdout and stderr open) has the same descriptors.
    with open(os.devnull) as null, open(os.path.join(sentinel.dir, "baseline.out"), "wb") as out:
        subprocess.run([sentinel.notify, "baseline", "x"], stdin=null, stdout=out, stderr=subprocess.STDOUT,
                       close_fds=True, check=True, timeout=10)
    baseline = sentinel.fds("baseline")
    seen = sentinel.fds("+sdown")
    assert {0, 1, 2} <= set(seen), seen
    assert set(seen) == set(baseline), (seen, baseline)
    assert not [t for t in seen.values() if t.startswith(("socket:", "pipe:", "anon_inode:"))], seen


def test_retries_errors_timeouts_and_pending_scripts(cleanup):
    master = start_data_node(cleanup)
    sentinel = start_sentinel(cleanup, master.port)
    sc = sentinel.client()
    events = sentinel.client()
    assert events.call("SUBSCRIBE", "-script-error") == [b"subscribe", b"-script-error", 1]
    wait_until(lambda: any(r[0] == "+monitor" for r in sentinel.notifications()), timeout=10,
               msg="+monitor notified")
    wait_until(lambda: pending(sc) == [], timeout=10, msg="the +monitor run ended")
    assert sc.call("SENTINEL", "PENDING-SCRIPTS") == []

    # Exit 1: scheduled again 30 s later (script-retry-delay), one attempt made.
    assert sc.call("SENTINEL", "SET", MASTER, "quorum", "1") == "OK"
    detail = "master %s %s %d quorum 1" % (MASTER, HOST, master.port)

    def retried():
        p = pending(sc)
        return p if p and p[0][1]["flags"] == "scheduled" and p[0][1]["retry-num"] == "1" else None

    keys, p = wait_until(retried, timeout=10, msg="exit 1 rescheduled")[0]
    assert keys == ["argv", "flags", "pid", "run-delay", "retry-num"]
    assert p["argv"] == [sentinel.notify, "+set", detail]
    assert p["pid"] == "0"
    assert 20_000 < int(p["run-delay"]) <= 30_000, p
    info = sentinel_info(sc)
    assert (info["sentinel_running_scripts"], info["sentinel_scripts_queue_length"]) == ("0", "1"), info

    # RESP3: the same records as maps.
    r3 = sentinel.client()
    r3.call("HELLO", "3")
    record = r3.call("SENTINEL", "PENDING-SCRIPTS")[0]
    assert isinstance(record, dict) and list(record) == [b"argv", b"flags", b"pid", b"run-delay", b"retry-num"]

    # Any other exit code: -script-error <path> 0 <code>, not retried.
    assert sc.call("SENTINEL", "SET", MASTER, "failover-timeout", "10000") == "OK"
    events.settimeout(10)
    message = events.read_reply()
    assert message == [b"message", b"-script-error", ("%s 0 3" % sentinel.notify).encode()], message
    wait_until(lambda: len(pending(sc)) == 1, timeout=10, msg="the failed run left the queue")

    # Past script-max-runtime: -script-timeout <path> <pid>, SIGKILL, then retried.
    assert sc.call("SENTINEL", "DEBUG", "script-max-runtime", "1000") == "OK"
    assert events.call("SUBSCRIBE", "-script-timeout") == [b"subscribe", b"-script-timeout", 2]
    assert sc.call("SENTINEL", "SET", MASTER, "parallel-syncs", "1") == "OK"

    def running():
        p = [v for _, v in pending(sc) if v["argv"][2].endswith(" parallel-syncs 1")]
        return p[0] if p and p[0]["flags"] == "running" else None

    run = wait_until(running, timeout=10, msg="the slow script runs")
    pid = int(run["pid"])
    assert pid > 0 and int(run["run-time"]) >= 0 and run["retry-num"] == "1", run
    info = sentinel_info(sc)
    assert (info["sentinel_running_scripts"], info["sentinel_scripts_queue_length"]) == ("1", "2"), info
    message = events.read_reply()
    assert message == [b"message", b"-script-timeout", ("%s %d" % (sentinel.notify, pid)).encode()], message

    def killed_and_rescheduled():
        p = [v for _, v in pending(sc) if v["argv"][2].endswith(" parallel-syncs 1")]
        return p and p[0]["flags"] == "scheduled" and p[0]["retry-num"] == "1" and p[0]["pid"] == "0"

    wait_until(killed_and_rescheduled, timeout=10, msg="killed, then scheduled again")
    wait_until(lambda: not os.path.exists("/proc/%d" % pid), timeout=5, msg="the script process is gone")
    info = sentinel_info(sc)
    assert (info["sentinel_running_scripts"], info["sentinel_scripts_queue_length"]) == ("0", "2"), info
