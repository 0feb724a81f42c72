"""Sentinel mode, end to end: ``<server> sentinel.conf --sentinel``.

Every process here (the master, its replicas and the Sentinels) is REDUST_SERVER. The
Sentinels get the tutorial config (``port``, ``bind``, ``dir``, ``logfile``,
``sentinel monitor mymaster 127.0.0.1 <port> 2``, ``down-after-milliseconds 1000``,
``failover-timeout 5000``, ``parallel-syncs 1``) and, after start,
``SENTINEL DEBUG info-period 1000 publish-period 500 ping-period 250`` so that discovery
and the conversion of a returning old master take seconds, not tens of seconds (and so
that the new master never looks down for a moment after the promotion's CLIENT KILL; see
sentinel_helpers.DEBUG_KNOBS). See docs/research/sentinel-7.0.md for the behaviour being
copied. Event streams are recorded by a PSUBSCRIBE * client on every Sentinel; a failing
wait prints the tail of every Sentinel's log file and event stream.

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH

Start-up: INFO server redis_mode:sentinel, config_file:<absolute path>; INFO has only the
  sections Server, Clients, Stats, CPU, Sentinel (in that order); INFO sentinel fields
  sentinel_masters, sentinel_tilt, sentinel_tilt_since_seconds (-1), sentinel_running_scripts,
  sentinel_scripts_queue_length, sentinel_simulate_failure_flags, then
  master0:name=mymaster,status=ok,address=127.0.0.1:<p>,slaves=2,sentinels=3.
  ROLE -> ["sentinel", [b"mymaster"]] (["sentinel", []] with nothing monitored).
  COMMAND COUNT -> 15. Data commands are unknown, the name echoed as sent:
  "ERR unknown command 'get', with args beginning with: 'x' " (also QUIT, SELECT, CONFIG).
  Log: every line "<pid>:X <dd Mon yyyy HH:MM:SS.mmm> <level char> <text>" (X from the
  very first line), "Running mode=sentinel, port=<p>.", "# Sentinel ID is <myid>",
  "# +monitor master mymaster 127.0.0.1 <p> quorum 2".
Records (RESP2 flat arrays of bulk strings, numbers too; RESP3 maps in the same order):
  master: name ip port runid flags link-pending-commands link-refcount last-ping-sent
    last-ok-ping-reply last-ping-reply down-after-milliseconds info-refresh role-reported
    role-reported-time config-epoch num-slaves num-other-sentinels quorum failover-timeout
    parallel-syncs
  replica: ... down-after-milliseconds info-refresh role-reported role-reported-time
    master-link-down-time master-link-status master-host master-port slave-priority
    slave-repl-offset replica-announced   (name "127.0.0.1:<port>", flags "slave")
  sentinel: ... down-after-milliseconds last-hello-message voted-leader voted-leader-epoch
    (name = runid = the peer's SENTINEL MYID, voted-leader "?" before any vote)
  GET-MASTER-ADDR-BY-NAME -> [b"127.0.0.1", b"<port>"] (port as bulk), nil if unknown.
  CKQUORUM -> "OK 3 usable Sentinels. Quorum and failover authorization can be reached";
    2 of 5 alive with quorum 3 -> "NOQUORUM 2 usable Sentinels. Not enough available
    Sentinels to reach the specified quorum for this master. Not enough available Sentinels
    to reach the majority and authorize a failover".
  Unknown master (MASTER, CKQUORUM, SET, REMOVE, FAILOVER): "ERR No such master with that
    name" (no final period; "...with specified name." is only the config-file error).
SENTINEL SET: several options in one call, each published as
  "+set master mymaster 127.0.0.1 <p> <opt> <value>"; errors
  "ERR Invalid argument '<v>' for SENTINEL SET '<opt>'",
  "ERR Unknown option or number of arguments for SENTINEL SET '<opt>'" (options before the
  bad one stay applied), scripts: "ERR Reconfiguration of scripts path is denied for
  security reasons. Check the deny-scripts-reconfig configuration directive in your
  Sentinel configuration".
SENTINEL CONFIG GET * -> resolve-hostnames no announce-hostnames no announce-ip ""
  announce-port 0 sentinel-user "" sentinel-pass "" (in that order); no match -> [];
  errors "ERR Invalid value '<v>' to SENTINEL CONFIG SET '<opt>'",
  "ERR Invalid argument '<opt>' to SENTINEL CONFIG SET",
  "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.".
INFO-CACHE mymaster -> [b"mymaster", [[age int, INFO text], ...]] master first; unknown
  names ignored ([] if nothing matched). IS-MASTER-DOWN-BY-ADDR <ip> <port> 0 * ->
  [0, b"*", 0]; with a runid it votes for it and keeps that vote for the epoch.
SIMULATE-FAILURE HELP -> [b"crash-after-election", b"crash-after-promotion"] and (quirk)
  clears the flags; INFO sentinel_simulate_failure_flags is 1 / 3; unknown word ->
  "ERR Unknown failure simulation specified". PENDING-SCRIPTS -> [].
  DEBUG -> INFO-PERIOD PING-PERIOD ASK-PERIOD PUBLISH-PERIOD DEFAULT-DOWN-AFTER
  DEFAULT-FAILOVER-TIMEOUT TILT-TRIGGER TILT-PERIOD SLAVE-RECONF-TIMEOUT
  MIN-LINK-RECONNECT-PERIOD ELECTION-TIMEOUT SCRIPT-MAX-RUNTIME SCRIPT-RETRY-DELAY (values
  as bulk strings); "ERR Unknown option or number of arguments for SENTINEL DEBUG '<p>'",
  "ERR Invalid argument '<v>' for SENTINEL DEBUG '<p>'".
MONITOR errors: "ERR Duplicate master name.", "ERR Quorum must be 1 or greater.",
  "ERR Invalid quorum", "ERR Invalid port", "ERR Invalid port number.",
  "ERR Invalid IP address or hostname specified" (localhost). REMOVE -> OK and
  "-monitor master ..."; MONITOR -> OK and "+monitor master ... quorum <q>" (defaults
  30000 / 180000 for the new record); RESET <glob> -> number of matching masters.
FLUSHCONFIG: comments stay in place, "# Generated by CONFIG REWRITE" before the appended
  lines, dir quoted in place, the default "parallel-syncs mymaster 1" line is dropped,
  sentinel myid / config-epoch / leader-epoch / current-epoch / known-replica (both) /
  known-sentinel (both, with runids) written; a restart from the file keeps the myid and
  knows the replicas and Sentinels at once.
Failover (kill -9 or SIGSTOP of the master): +sdown, +odown "#quorum n/2", +try-failover,
  exactly one +elected-leader, then on the leader +failover-state-select-slave,
  +selected-slave, +failover-state-send-slaveof-noone, +failover-state-wait-promotion,
  +promoted-slave, +failover-state-reconf-slaves, +slave-reconf-sent/-inprog/-done,
  +failover-end, +switch-master "mymaster 127.0.0.1 <old> 127.0.0.1 <new>" (also on a plain
  SUBSCRIBE +switch-master); observers get +config-update-from and +switch-master. The
  returning old master gets +convert-to-slave and replicates the new master.
SENTINEL FAILOVER: OK, a second one at once "INPROG Failover already in progress", no
  candidate "NOGOODSLAVE No suitable replica to promote"; log "Executing user requested
  FAILOVER of 'mymaster'"; no +sdown/+odown; the old master is converted later.
No majority (5 Sentinels, 3 dead): quorum 3 -> never +odown; quorum 2 -> +odown,
  +try-failover, then -failover-abort-not-elected, never +elected-leader.
Leader crash (SIMULATE-FAILURE crash-after-election): log "+elected-leader ..." then
  "Sentinel CRASH because of SENTINEL simulate-failure", exit code 99; the survivors wait
  2 x failover-timeout from their vote ("Next failover delay: I will not start a failover
  before ..."), then one of them fails over in a new epoch.
"""

import os
import re
import signal
import time

import pytest

from helpers import HOST, SERVER_BIN, Client, RespError, parse_info, repl_info
from sentinel_helpers import (
    DEBUG_KNOBS,
    DOWN_AFTER,
    MASTER,
    Deployment,
    EventRecorder,
    fields,
    names,
    sentinel_config,
)

HEX40 = re.compile(r"^[0-9a-f]{40}$")

COMMON_HEAD = ["name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount",
               "last-ping-sent", "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds"]
MASTER_FIELDS = COMMON_HEAD + ["info-refresh", "role-reported", "role-reported-time", "config-epoch",
                               "num-slaves", "num-other-sentinels", "quorum", "failover-timeout",
                               "parallel-syncs"]
REPLICA_FIELDS = COMMON_HEAD + ["info-refresh", "role-reported", "role-reported-time",
                                "master-link-down-time", "master-link-status", "master-host",
                                "master-port", "slave-priority", "slave-repl-offset",
                                "replica-announced"]
SENTINEL_FIELDS = COMMON_HEAD + ["last-hello-message", "voted-leader", "voted-leader-epoch"]
DEBUG_NAMES = ["INFO-PERIOD", "PING-PERIOD", "ASK-PERIOD", "PUBLISH-PERIOD", "DEFAULT-DOWN-AFTER",
               "DEFAULT-FAILOVER-TIMEOUT", "TILT-TRIGGER", "TILT-PERIOD", "SLAVE-RECONF-TIMEOUT",
               "MIN-LINK-RECONNECT-PERIOD", "ELECTION-TIMEOUT", "SCRIPT-MAX-RUNTIME",
               "SCRIPT-RETRY-DELAY"]
NO_SUCH_MASTER = "ERR No such master with that name"


# ---------------------------------------------------------------------------
# fixtures / helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def deploy():
    """``deploy(replicas=2, sentinels=3, **sentinel_cfg)``: a master, its replicas and
    Sentinels that have discovered everything; all killed and removed afterwards."""
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    made = []

    def make(replicas=2, sentinels=3, discover=True, **cfg):
        d = Deployment()
        made.append(d)
        d.start_data(replicas)
        d.start_sentinels(sentinels, **cfg)
        if sentinels and discover:
            d.wait_discovery()
        return d

    yield make
    for d in made:
        d.cleanup()


def master_prefix(port):
    return "master %s %s %d" % (MASTER, HOST, port)


def replica_prefix(port, master_port):
    return "slave %s:%d %s %d @ %s %s %d" % (HOST, port, HOST, port, MASTER, HOST, master_port)


def role_of(node):
    c = Client(node.port, timeout=5)
    try:
        return repl_info(c)
    finally:
        c.close()


def run_id(node):
    c = Client(node.port, timeout=5)
    try:
        return parse_info(c.call("INFO", "server"))[1]["run_id"]
    finally:
        c.close()


def get(port, key):
    c = Client(port, timeout=5)
    try:
        return c.call("GET", key)
    finally:
        c.close()


def seq_in_order(channels, wanted):
    """True if ``wanted`` appears in ``channels`` as a subsequence."""
    it = iter(channels)
    return all(any(c == w for c in it) for w in wanted)


def write_and_replicate(d, key, value):
    c = Client(d.master.port)
    try:
        assert c.call("SET", key, value) == "OK"
        assert c.call("WAIT", str(len(d.replicas)), "5000") == len(d.replicas)
    finally:
        c.close()


def check_failover_done(d, old_port, new_port, others):
    """The promoted replica is a master; ``others`` replicate it; every live Sentinel
    gives the new address and the same, advanced config epoch."""
    new_node = d.node_by_port(new_port)
    d.check(new_port in [r.port for r in d.replicas], "the new master %d is not one of the replicas" % new_port)
    d.wait_role(new_node, "master")
    for o in others:
        d.wait_role(o, "slave", new_port)
    for i in d.alive_sentinels():
        assert d.master_addr(i) == (HOST, new_port)
    epochs = d.wait(lambda: (lambda e: e if len(set(e)) == 1 else None)(
        [fields(d.call(i, "SENTINEL", "MASTER", MASTER))["config-epoch"] for i in d.alive_sentinels()]),
        10, "all Sentinels on the same config epoch")
    assert int(epochs[0]) >= 1
    return int(epochs[0])


# ---------------------------------------------------------------------------
# 1. start-up
# ---------------------------------------------------------------------------


def test_startup_info_role_command_ping(deploy):
    d = deploy()
    s = d.sentinels[0]
    c = s.client()
    sections, flat = parse_info(c.call("INFO"))
    assert list(sections) == ["server", "clients", "stats", "cpu", "sentinel"]
    assert flat["redis_mode"] == "sentinel"
    assert flat["tcp_port"] == str(s.port)
    assert flat["config_file"] == s.config_path
    assert HEX40.match(flat["run_id"])
    assert list(parse_info(c.call("INFO", "all"))[0]) == ["server", "clients", "stats", "cpu", "sentinel"]
    assert c.call("INFO", "memory") == b""  # unsupported sections are dropped

    info = parse_info(c.call("INFO", "sentinel"))[0]["sentinel"]
    assert info == {
        "sentinel_masters": "1",
        "sentinel_tilt": "0",
        "sentinel_tilt_since_seconds": "-1",
        "sentinel_running_scripts": "0",
        "sentinel_scripts_queue_length": "0",
        "sentinel_simulate_failure_flags": "0",
        "master0": "name=mymaster,status=ok,address=127.0.0.1:%d,slaves=2,sentinels=3" % d.master.port,
    }
    assert list(info) == ["sentinel_masters", "sentinel_tilt", "sentinel_tilt_since_seconds",
                          "sentinel_running_scripts", "sentinel_scripts_queue_length",
                          "sentinel_simulate_failure_flags", "master0"]

    assert c.call("ROLE") == [b"sentinel", [b"mymaster"]]
    # ACL belongs to Sentinel's table; a server without ACL yet (redust, until its ACL
    # lands) has one command less, and says so in COMMAND INFO.
    has_acl = c.call("COMMAND", "INFO", "acl") != [None]
    assert c.call("COMMAND", "COUNT") == (15 if has_acl else 14)
    assert c.err("get", "x") == "ERR unknown command 'get', with args beginning with: 'x' "
    assert c.err("GET") == "ERR unknown command 'GET', with args beginning with: "
    assert c.err("SET", "k", "v") == "ERR unknown command 'SET', with args beginning with: 'k' 'v' "
    assert c.err("select", "0") == "ERR unknown command 'select', with args beginning with: '0' "
    assert c.err("config", "get", "port") == "ERR unknown command 'config', with args beginning with: 'get' 'port' "
    assert c.err("QUIT") == "ERR unknown command 'QUIT', with args beginning with: "
    assert c.call("PING") == "PONG"
    assert c.call("PING", "hello") == b"hello"
    assert c.err("SENTINEL") == "ERR wrong number of arguments for 'sentinel' command"
    assert c.err("SENTINEL", "MASTER") == "ERR wrong number of arguments for 'sentinel|master' command"
    assert c.err("SENTINEL", "FOO") == "ERR unknown subcommand 'FOO'. Try SENTINEL HELP."
    hello = c.call("HELLO", "3")
    assert list(hello) == [b"server", b"version", b"proto", b"id", b"mode", b"modules"]
    assert hello[b"mode"] == b"sentinel" and hello[b"proto"] == 3

    myid = c.call("SENTINEL", "MYID").decode()
    log = open(s.logfile).read()
    line_re = re.compile(r"^\d+:X \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] \S")
    bad = [l for l in log.splitlines() if not line_re.match(l)]
    assert not bad, bad
    assert "Running mode=sentinel, port=%d." % s.port in log
    assert "# Sentinel ID is %s" % myid in log
    assert "# +monitor master mymaster 127.0.0.1 %d quorum 2" % d.master.port in log


# ---------------------------------------------------------------------------
# 2. MASTERS / MASTER / REPLICAS / SLAVES / SENTINELS / MYID / addr / CKQUORUM
# ---------------------------------------------------------------------------


def test_master_replica_sentinel_records(deploy):
    d = deploy()
    mp = d.master.port
    ids = [d.call(i, "SENTINEL", "MYID").decode() for i in range(3)]
    assert all(HEX40.match(x) for x in ids) and len(set(ids)) == 3
    c = d.sentinels[0].client()
    assert ids[0] != parse_info(c.call("INFO", "server"))[1]["run_id"]

    rec = c.call("SENTINEL", "MASTER", MASTER)
    assert names(rec) == MASTER_FIELDS
    m = fields(rec)
    assert all(isinstance(v, bytes) for v in rec)  # numbers are bulk strings too
    assert m["name"] == "mymaster" and m["ip"] == HOST and m["port"] == str(mp)
    assert m["runid"] == run_id(d.master)
    assert m["flags"] == "master"
    assert m["link-refcount"] == "1"
    assert m["down-after-milliseconds"] == "1000"
    assert m["role-reported"] == "master"
    assert m["config-epoch"] == "0"
    assert m["num-slaves"] == "2" and m["num-other-sentinels"] == "2"
    assert m["quorum"] == "2" and m["failover-timeout"] == "5000" and m["parallel-syncs"] == "1"

    masters = c.call("SENTINEL", "MASTERS")
    assert len(masters) == 1 and names(masters[0]) == MASTER_FIELDS
    assert fields(masters[0])["name"] == "mymaster" and fields(masters[0])["port"] == str(mp)

    want_replicas = {"127.0.0.1:%d" % r.port: r for r in d.replicas}
    for sub in ("REPLICAS", "SLAVES"):
        reps = c.call("SENTINEL", sub, MASTER)
        assert len(reps) == 2
        got = {}
        for r in reps:
            assert names(r) == REPLICA_FIELDS
            f = fields(r)
            got[f["name"]] = f
        assert set(got) == set(want_replicas)
        for name, f in got.items():
            node = want_replicas[name]
            assert f["ip"] == HOST and f["port"] == str(node.port)
            assert f["flags"] == "slave"
            assert f["runid"] == run_id(node)
            assert f["role-reported"] == "slave"
            assert f["master-link-status"] == "ok"
            assert f["master-host"] == HOST and f["master-port"] == str(mp)
            assert f["slave-priority"] == "100"
            assert f["replica-announced"] == "1"

    sents = c.call("SENTINEL", "SENTINELS", MASTER)
    assert len(sents) == 2
    got = {}
    for r in sents:
        assert names(r) == SENTINEL_FIELDS
        f = fields(r)
        got[f["runid"]] = f
    assert set(got) == set(ids[1:])
    for i in (1, 2):
        f = got[ids[i]]
        assert f["name"] == ids[i] and f["ip"] == HOST and f["port"] == str(d.sentinels[i].port)
        assert f["flags"] == "sentinel"
        assert f["voted-leader"] == "?" and f["voted-leader-epoch"] == "0"

    assert c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == [HOST.encode(), str(mp).encode()]
    assert c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch") is None
    for i in range(3):
        assert d.call(i, "SENTINEL", "CKQUORUM", MASTER) == \
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
    for sub in ("MASTER", "CKQUORUM", "REPLICAS", "SLAVES", "SENTINELS", "FAILOVER", "REMOVE"):
        assert c.err("SENTINEL", sub, "nosuch") == NO_SUCH_MASTER, sub

    # RESP3: each record becomes a map (same order), an unknown address is a null.
    c3 = d.sentinels[1].client()
    c3.call("HELLO", "3")
    m3 = c3.call("SENTINEL", "MASTER", MASTER)
    assert isinstance(m3, dict) and [k.decode() for k in m3] == MASTER_FIELDS
    assert m3[b"port"] == str(mp).encode()
    assert c3.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch") is None


# ---------------------------------------------------------------------------
# 3. SET / CONFIG / INFO-CACHE / IS-MASTER-DOWN-BY-ADDR / SIMULATE-FAILURE / DEBUG
# ---------------------------------------------------------------------------


def test_set_config_infocache_and_other_subcommands(deploy):
    d = deploy(sentinels=1, quorum=1)
    mp = d.master.port
    c = d.sentinels[0].client()
    ev = d.recorders[0]

    def master():
        return fields(c.call("SENTINEL", "MASTER", MASTER))

    assert c.call("SENTINEL", "SET", MASTER, "quorum", "3") == "OK"
    assert master()["quorum"] == "3"
    assert c.call("SENTINEL", "SET", MASTER, "down-after-milliseconds", "1500", "failover-timeout", "6000",
                  "parallel-syncs", "2") == "OK"
    m = master()
    assert (m["down-after-milliseconds"], m["failover-timeout"], m["parallel-syncs"]) == ("1500", "6000", "2")
    want = ["quorum 3", "down-after-milliseconds 1500", "failover-timeout 6000", "parallel-syncs 2"]
    d.wait(lambda: [e[3] for e in ev.find("+set")] == ["%s %s" % (master_prefix(mp), w) for w in want],
           5, "+set events")
    # the per-master down-after is copied to its replicas
    assert {fields(r)["down-after-milliseconds"] for r in c.call("SENTINEL", "REPLICAS", MASTER)} == {"1500"}

    assert c.err("SENTINEL", "SET", MASTER, "quorum", "0") == "ERR Invalid argument '0' for SENTINEL SET 'quorum'"
    assert c.err("SENTINEL", "SET", MASTER, "quorum", "x") == "ERR Invalid argument 'x' for SENTINEL SET 'quorum'"
    assert c.err("SENTINEL", "SET", MASTER, "down-after-milliseconds", "-1") == \
        "ERR Invalid argument '-1' for SENTINEL SET 'down-after-milliseconds'"
    assert c.err("SENTINEL", "SET", MASTER, "failover-timeout", "0") == \
        "ERR Invalid argument '0' for SENTINEL SET 'failover-timeout'"
    # an unknown option stops processing, but the options before it stay applied
    assert c.err("SENTINEL", "SET", MASTER, "quorum", "1", "foo", "2") == \
        "ERR Unknown option or number of arguments for SENTINEL SET 'foo'"
    assert master()["quorum"] == "1"
    assert c.err("SENTINEL", "SET", MASTER, "quorum") == "ERR wrong number of arguments for 'sentinel|set' command"
    assert c.err("SENTINEL", "SET", "nosuch", "quorum", "2") == NO_SUCH_MASTER
    assert c.err("SENTINEL", "SET", MASTER, "notification-script", "/bin/true") == (
        "ERR Reconfiguration of scripts path is denied for security reasons. Check the "
        "deny-scripts-reconfig configuration directive in your Sentinel configuration")

    # SENTINEL CONFIG (global options)
    assert c.call("SENTINEL", "CONFIG", "GET", "*") == [
        b"resolve-hostnames", b"no", b"announce-hostnames", b"no", b"announce-ip", b"",
        b"announce-port", b"0", b"sentinel-user", b"", b"sentinel-pass", b""]
    assert c.call("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes") == "OK"
    assert c.call("SENTINEL", "CONFIG", "GET", "resolve-hostnames") == [b"resolve-hostnames", b"yes"]
    assert "\nsentinel resolve-hostnames yes\n" in d.sentinels[0].read_config()
    assert c.err("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe") == \
        "ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'"
    assert c.call("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no") == "OK"
    assert c.err("SENTINEL", "CONFIG", "SET", "announce-port", "70000") == \
        "ERR Invalid value '70000' to SENTINEL CONFIG SET 'announce-port'"
    assert c.call("SENTINEL", "CONFIG", "SET", "announce-port", "1234") == "OK"
    assert c.call("SENTINEL", "CONFIG", "GET", "announce-*") == [
        b"announce-hostnames", b"no", b"announce-ip", b"", b"announce-port", b"1234"]
    assert "sentinel announce-port 1234\n" in d.sentinels[0].read_config()  # flushed at once
    assert c.call("SENTINEL", "CONFIG", "SET", "announce-port", "0") == "OK"
    text = d.sentinels[0].read_config()
    assert "sentinel announce-port" not in text  # unset again: the line is dropped
    # ... but an existing resolve-hostnames line is rewritten in place, even at the default
    assert "\nsentinel resolve-hostnames no\n" in text and "resolve-hostnames yes" not in text
    assert c.call("SENTINEL", "CONFIG", "GET", "nomatch") == []
    assert c.err("SENTINEL", "CONFIG", "SET", "foo", "1") == "ERR Invalid argument 'foo' to SENTINEL CONFIG SET"
    only = "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported."
    assert c.err("SENTINEL", "CONFIG", "GET") == only
    assert c.err("SENTINEL", "CONFIG", "SET", "a", "b", "c") == only
    assert c.err("SENTINEL", "CONFIG", "FOO", "x") == only

    # INFO-CACHE: [name, [[age, INFO text] for the master, then each replica]]
    ic = c.call("SENTINEL", "INFO-CACHE", MASTER, "nosuch")
    assert len(ic) == 2 and ic[0] == b"mymaster" and len(ic[1]) == 3
    for age, text in ic[1]:
        assert isinstance(age, int) and age >= 0, ic
        assert isinstance(text, bytes) and text.startswith(b"# Server\r\n")
    roles = [parse_info(text)[1]["role"] for _age, text in ic[1]]
    assert roles == ["master", "slave", "slave"]
    assert parse_info(ic[1][0][1])[1]["tcp_port"] == str(mp)
    assert c.call("SENTINEL", "INFO-CACHE", "nosuch") == []

    # IS-MASTER-DOWN-BY-ADDR: [down, leader runid or "*", leader epoch]
    assert c.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, str(mp), "0", "*") == [0, b"*", 0]
    assert c.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, "1", "0", "*") == [0, b"*", 0]
    assert c.err("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, "x", "0", "*") == \
        "ERR value is not an integer or out of range"

    # SIMULATE-FAILURE
    help_ = [b"crash-after-election", b"crash-after-promotion"]
    assert c.call("SENTINEL", "SIMULATE-FAILURE", "HELP") == help_
    assert c.call("SENTINEL", "SIMULATE-FAILURE", "crash-after-election") == "OK"
    assert d.sentinel_info(0)["sentinel_simulate_failure_flags"] == "1"
    assert c.call("SENTINEL", "SIMULATE-FAILURE", "crash-after-election", "crash-after-promotion") == "OK"
    assert d.sentinel_info(0)["sentinel_simulate_failure_flags"] == "3"
    assert c.call("SENTINEL", "SIMULATE-FAILURE", "help") == help_
    assert d.sentinel_info(0)["sentinel_simulate_failure_flags"] == "0"  # HELP clears the flags
    assert c.err("SENTINEL", "SIMULATE-FAILURE", "bogus") == "ERR Unknown failure simulation specified"
    assert c.err("SENTINEL", "SIMULATE-FAILURE") == \
        "ERR wrong number of arguments for 'sentinel|simulate-failure' command"

    assert c.call("SENTINEL", "PENDING-SCRIPTS") == []

    # DEBUG: the knobs, their values as bulk strings (ours changed three of them)
    dbg = c.call("SENTINEL", "DEBUG")
    assert names(dbg) == DEBUG_NAMES
    vals = fields(dbg)
    assert vals == {
        "INFO-PERIOD": DEBUG_KNOBS[1], "PING-PERIOD": DEBUG_KNOBS[5], "ASK-PERIOD": "1000",
        "PUBLISH-PERIOD": DEBUG_KNOBS[3], "DEFAULT-DOWN-AFTER": "30000",
        "DEFAULT-FAILOVER-TIMEOUT": "180000", "TILT-TRIGGER": "2000", "TILT-PERIOD": "30000",
        "SLAVE-RECONF-TIMEOUT": "10000", "MIN-LINK-RECONNECT-PERIOD": "15000",
        "ELECTION-TIMEOUT": "10000", "SCRIPT-MAX-RUNTIME": "60000", "SCRIPT-RETRY-DELAY": "30000"}
    assert c.call("SENTINEL", "DEBUG", "ask-period", "900", "tilt-period", "20000") == "OK"
    dbg = fields(c.call("SENTINEL", "DEBUG"))
    assert dbg["ASK-PERIOD"] == "900" and dbg["TILT-PERIOD"] == "20000"
    assert c.err("SENTINEL", "DEBUG", "info-period") == \
        "ERR Unknown option or number of arguments for SENTINEL DEBUG 'info-period'"
    assert c.err("SENTINEL", "DEBUG", "bogus", "1") == \
        "ERR Unknown option or number of arguments for SENTINEL DEBUG 'bogus'"
    assert c.err("SENTINEL", "DEBUG", "info-period", "0") == "ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'"
    assert c.err("SENTINEL", "DEBUG", "info-period", "x") == "ERR Invalid argument 'x' for SENTINEL DEBUG 'info-period'"

    # Votes are granted to any runid asking with a newer epoch, and kept for that epoch.
    a, b = "a" * 40, "b" * 40
    assert c.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, str(mp), "1", a) == [0, a.encode(), 1]
    assert c.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, str(mp), "1", b) == [0, a.encode(), 1]
    assert d.wait_event(0, "+new-epoch", "1")[0][3] == "1"
    assert d.wait_event(0, "+vote-for-leader")[0][3] == "%s 1" % a


# ---------------------------------------------------------------------------
# 4. MONITOR / REMOVE / RESET
# ---------------------------------------------------------------------------


def test_monitor_remove_reset(deploy):
    d = deploy()
    mp = d.master.port
    c = d.sentinels[0].client()
    ev = d.recorders[0]

    assert c.err("SENTINEL", "MONITOR", MASTER, HOST, str(mp), "2") == "ERR Duplicate master name."
    assert c.err("SENTINEL", "MONITOR", "other", HOST, str(mp), "0") == "ERR Quorum must be 1 or greater."
    assert c.err("SENTINEL", "MONITOR", "other", HOST, str(mp), "x") == "ERR Invalid quorum"
    assert c.err("SENTINEL", "MONITOR", "other", HOST, "x", "2") == "ERR Invalid port"
    assert c.err("SENTINEL", "MONITOR", "other", HOST, "70000", "2") == "ERR Invalid port number."
    assert c.err("SENTINEL", "MONITOR", "other", "localhost", str(mp), "2") == \
        "ERR Invalid IP address or hostname specified"
    assert c.err("SENTINEL", "MONITOR", "other", HOST, str(mp)) == \
        "ERR wrong number of arguments for 'sentinel|monitor' command"

    # RESET: the count of matching masters; the master forgets and rediscovers.
    assert c.call("SENTINEL", "RESET", "nomatch*") == 0
    assert c.call("SENTINEL", "RESET", "my*") == 1
    d.wait_event(0, "+reset-master", master_prefix(mp))
    d.wait(lambda: (lambda f: f["num-slaves"] == "2" and f["num-other-sentinels"] == "2")(
        fields(c.call("SENTINEL", "MASTER", MASTER))), 15, "rediscovery after RESET")

    # REMOVE, then MONITOR again.
    assert c.call("SENTINEL", "REMOVE", MASTER) == "OK"
    d.wait_event(0, "-monitor", master_prefix(mp))
    assert c.call("SENTINEL", "MASTERS") == []
    assert c.call("ROLE") == [b"sentinel", []]
    assert d.sentinel_info(0)["sentinel_masters"] == "0"
    assert "master0" not in d.sentinel_info(0)
    assert c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) is None
    assert c.err("SENTINEL", "REMOVE", MASTER) == NO_SUCH_MASTER
    assert "sentinel monitor mymaster" not in d.sentinels[0].read_config()

    t = time.monotonic()
    assert c.call("SENTINEL", "MONITOR", MASTER, HOST, str(mp), "2") == "OK"
    d.wait_event(0, "+monitor", "%s quorum 2" % master_prefix(mp), after=t)
    assert "sentinel monitor mymaster 127.0.0.1 %d 2\n" % mp in d.sentinels[0].read_config()
    m = fields(c.call("SENTINEL", "MASTER", MASTER))
    assert m["quorum"] == "2" and m["down-after-milliseconds"] == "30000" and m["failover-timeout"] == "180000"
    for r in d.replicas:
        d.wait_event(0, "+slave", replica_prefix(r.port, mp), after=t)
    d.wait(lambda: fields(c.call("SENTINEL", "MASTER", MASTER))["num-other-sentinels"] == "2", 15,
           "Sentinels found again after MONITOR")

    # a second master: RESET * counts both
    lone = d.data_node()
    assert c.call("SENTINEL", "MONITOR", "other", HOST, str(lone.port), "1") == "OK"
    assert sorted(c.call("ROLE")[1]) == [b"mymaster", b"other"]
    assert d.sentinel_info(0)["sentinel_masters"] == "2"
    assert c.call("SENTINEL", "RESET", "o*") == 1
    assert c.call("SENTINEL", "RESET", "*") == 2


# ---------------------------------------------------------------------------
# 5. FLUSHCONFIG / config rewrite
# ---------------------------------------------------------------------------


def test_flushconfig_rewrites_the_file(deploy):
    d = deploy(sentinels=2)
    mp = d.master.port

    def cfg(port, dir_):
        base = sentinel_config(port, dir_, mp, header="# my user comment at top\n")
        return base.replace("sentinel monitor", "# comment before monitor\nsentinel monitor") + "# trailing comment\n"

    s = d.add_sentinel(config_fn=cfg)
    d.wait_discovery()
    c = s.client()
    myid = c.call("SENTINEL", "MYID").decode()
    peers = {d.call(i, "SENTINEL", "MYID").decode(): d.sentinels[i].port for i in (0, 1)}
    assert c.call("SENTINEL", "FLUSHCONFIG") == "OK"
    text = s.read_config()
    lines = text.split("\n")
    assert lines[0] == "# my user comment at top"
    assert lines[1] == "port %d" % s.port
    assert 'dir "%s"' % s.dir in lines
    i = lines.index("# comment before monitor")
    assert lines[i + 1] == "sentinel monitor mymaster 127.0.0.1 %d 2" % mp
    assert lines[i + 2] == "sentinel down-after-milliseconds mymaster 1000"
    assert lines[i + 3] == "sentinel failover-timeout mymaster 5000"
    assert "sentinel parallel-syncs mymaster 1" not in lines  # a default: dropped
    assert "# trailing comment" in lines
    assert lines.count("# Generated by CONFIG REWRITE") == 1
    assert lines.index("# Generated by CONFIG REWRITE") > lines.index("# trailing comment")
    for want in ["sentinel myid %s" % myid, "sentinel config-epoch mymaster 0",
                 "sentinel leader-epoch mymaster 0", "sentinel current-epoch 0"]:
        assert want in lines, (want, text)
    for r in d.replicas:
        assert "sentinel known-replica mymaster 127.0.0.1 %d" % r.port in lines, text
    for rid, port in peers.items():
        assert "sentinel known-sentinel mymaster 127.0.0.1 %d %s" % (port, rid) in lines, text
    assert len([x for x in lines if x.startswith("sentinel known-")]) == 4
    assert text.endswith("\n")

    # SENTINEL SET flushes at once; the line is rewritten in place.
    assert c.call("SENTINEL", "SET", MASTER, "down-after-milliseconds", "1200") == "OK"
    lines2 = s.read_config().split("\n")
    assert lines2[lines2.index("# comment before monitor") + 2] == "sentinel down-after-milliseconds mymaster 1200"

    # A restart from the rewritten file: same ID, replicas and Sentinels known at once.
    s.restart()
    c = s.client()
    assert c.call("SENTINEL", "MYID").decode() == myid
    m = fields(c.call("SENTINEL", "MASTER", MASTER))
    assert m["num-slaves"] == "2" and m["num-other-sentinels"] == "2"
    assert m["down-after-milliseconds"] == "1200"
    assert {fields(r)["runid"] for r in c.call("SENTINEL", "SENTINELS", MASTER)} == set(peers)
    assert {fields(r)["port"] for r in c.call("SENTINEL", "REPLICAS", MASTER)} == {str(r.port) for r in d.replicas}


# ---------------------------------------------------------------------------
# 6. failover after kill -9 of the master; the old master comes back as a replica
# ---------------------------------------------------------------------------


def test_failover_on_master_kill(deploy):
    d = deploy()
    old = d.master.port
    write_and_replicate(d, "before", "failover")
    subs = [EventRecorder(s.port, channels=["+switch-master"]) for s in d.sentinels]
    assert subs[0].confirm == [b"subscribe", b"+switch-master", 1]
    try:
        d.master.kill()
        new = d.wait_new_master(old, timeout=40)
        switch = "mymaster 127.0.0.1 %d 127.0.0.1 %d" % (old, new)
        for i, sub in enumerate(subs):
            d.wait(lambda: [(e[1], e[3]) for e in sub.find("+switch-master")] == [("message", switch)], 10,
                   "SUBSCRIBE +switch-master on sentinel %d" % i)
        for i in range(3):
            d.wait_event(i, "+switch-master", switch)
    finally:
        for sub in subs:
            sub.stop()
    others = [r for r in d.replicas if r.port != new]
    assert len(others) == 1
    epoch = check_failover_done(d, old, new, others)
    c = Client(new)
    assert c.call("GET", "before") == b"failover"
    assert c.call("SET", "after", "1") == "OK"
    c.close()

    evs = [r.snapshot() for r in d.recorders]
    chans = [[e[2] for e in x] for x in evs]
    for i in range(3):
        d.check(any(e[2] == "+sdown" and e[3] == master_prefix(old) for e in evs[i]), "+sdown on %d" % i)
    odown = [e[3] for x in evs for e in x if e[2] == "+odown"]
    d.check(odown and all(re.fullmatch(re.escape(master_prefix(old)) + r" #quorum [23]/2", o) for o in odown),
            "+odown messages %r" % odown)
    d.check(any("+try-failover" in ch for ch in chans), "+try-failover somewhere")
    leaders = [i for i in range(3) if "+elected-leader" in chans[i]]
    d.check(len(leaders) == 1, "exactly one leader, got %r" % leaders)
    (L,) = leaders
    lead = [e for e in evs[L] if e[2] != "+role-change" and e[2] != "-role-change"]
    lch = [e[2] for e in lead]
    d.check(seq_in_order(lch, ["+sdown", "+odown", "+try-failover", "+elected-leader",
                               "+failover-state-select-slave", "+selected-slave",
                               "+failover-state-send-slaveof-noone", "+failover-state-wait-promotion",
                               "+promoted-slave", "+failover-state-reconf-slaves", "+slave-reconf-sent",
                               "+slave-reconf-inprog", "+slave-reconf-done", "+failover-end",
                               "+switch-master"]), "leader event order: %r" % lch)

    def msg(ch):
        return [e[3] for e in lead if e[2] == ch]

    assert msg("+elected-leader") == [master_prefix(old)]
    assert msg("+selected-slave") == [replica_prefix(new, old)]
    assert msg("+promoted-slave") == [replica_prefix(new, old)]
    assert msg("+slave-reconf-done") == [replica_prefix(others[0].port, old)]
    assert msg("+failover-end") == [master_prefix(old)]
    ids = [d.call(i, "SENTINEL", "MYID").decode() for i in range(3)]
    leader_id = ids[L]
    votes = [e[3] for x in evs for e in x if e[2] == "+vote-for-leader"]
    assert "%s %d" % (leader_id, epoch) in votes, votes
    for i in range(3):
        if i != L:
            d.check("+config-update-from" in chans[i] and "+elected-leader" not in chans[i],
                    "observer %d" % i)
            # from the leader's hello, or from another observer that switched first
            upd = [e[3] for e in evs[i] if e[2] == "+config-update-from"][0]
            assert upd in ["sentinel %s 127.0.0.1 %d @ mymaster 127.0.0.1 %d" % (ids[j], d.sentinels[j].port, old)
                           for j in range(3) if j != i], upd

    # The old master comes back (same port, as a master): converted, then follows the new one.
    t = time.monotonic()
    d.master.start(port=old)
    assert role_of(d.master)["role"] == "master"
    d.wait_role(d.master, "slave", new, timeout=30)
    d.wait(lambda: any(r.find("+convert-to-slave", replica_prefix(old, new), after=t) for r in d.recorders),
           10, "+convert-to-slave")
    d.wait(lambda: (lambda reps: sorted(int(fields(r)["port"]) for r in reps) == sorted([old, others[0].port]))(
        d.call(0, "SENTINEL", "REPLICAS", MASTER)), 10, "replicas of the new master")
    d.wait(lambda: get(old, "after") == b"1", 10, "old master got the new data")


# ---------------------------------------------------------------------------
# 7. the master paused (SIGSTOP) past down-after, then resumed
# ---------------------------------------------------------------------------


def test_failover_on_master_pause(deploy):
    d = deploy()
    old = d.master.port
    pid = d.master.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        new = d.wait_new_master(old, timeout=40)
        for i in range(3):
            d.wait_event(i, "+switch-master", "mymaster 127.0.0.1 %d 127.0.0.1 %d" % (old, new))
    finally:
        os.kill(pid, signal.SIGCONT)
    t = time.monotonic()
    others = [r for r in d.replicas if r.port != new]
    check_failover_done(d, old, new, others)
    # The resumed old master still believes it is a master, until a Sentinel converts it.
    d.wait_role(d.master, "slave", new, timeout=30)
    d.wait(lambda: any(r.find("+convert-to-slave", replica_prefix(old, new), after=t) for r in d.recorders),
           10, "+convert-to-slave")
    c = Client(new)
    assert c.call("SET", "k", "v") == "OK"
    c.close()
    d.wait(lambda: get(old, "k") == b"v", 10, "old master replicates the new one")


# ---------------------------------------------------------------------------
# 8. SENTINEL FAILOVER (forced)
# ---------------------------------------------------------------------------


def test_forced_failover(deploy):
    d = deploy()
    old = d.master.port
    c = d.sentinels[0].client()
    myid = c.call("SENTINEL", "MYID").decode()
    assert c.err("SENTINEL", "FAILOVER", "nosuch") == NO_SUCH_MASTER
    a, b = d.replicas

    def set_priority(node, prio):
        cl = Client(node.port)
        assert cl.call("CONFIG", "SET", "replica-priority", str(prio)) == "OK"
        cl.close()

    def seen_priorities(want):
        def ok():
            got = {int(fields(r)["port"]): fields(r)["slave-priority"] for r in c.call("SENTINEL", "REPLICAS", MASTER)}
            return got == want
        d.wait(ok, 10, "Sentinel 0 sees replica priorities %r" % want)

    # replica-priority 0 is never promoted
    set_priority(a, 0)
    set_priority(b, 0)
    seen_priorities({a.port: "0", b.port: "0"})
    assert c.err("SENTINEL", "FAILOVER", MASTER) == "NOGOODSLAVE No suitable replica to promote"
    assert "+try-failover" not in d.recorders[0].channels()
    set_priority(b, 50)
    seen_priorities({a.port: "0", b.port: "50"})

    replies = c.pipeline([("SENTINEL", "FAILOVER", MASTER), ("SENTINEL", "FAILOVER", MASTER)])
    assert replies == ["OK", RespError("INPROG Failover already in progress")]
    new = d.wait_new_master(old, timeout=30)
    assert new == b.port  # the only replica with a non-zero priority
    for i in range(3):
        d.wait_event(i, "+switch-master", "mymaster 127.0.0.1 %d 127.0.0.1 %d" % (old, new))
    ch = d.recorders[0].channels()
    d.check(seq_in_order(ch, ["+new-epoch", "+try-failover", "+vote-for-leader", "+elected-leader",
                              "+selected-slave", "+promoted-slave", "+failover-end", "+switch-master"]),
            "leader events %r" % ch)
    assert "+sdown" not in ch and "+odown" not in ch
    assert d.recorders[0].find("+vote-for-leader")[0][3] == "%s 1" % myid
    ids = [myid] + [d.call(i, "SENTINEL", "MYID").decode() for i in (1, 2)]
    for i in (1, 2):
        # the new configuration comes from the leader's hello, or from the other observer's
        upd = d.wait_event(i, "+config-update-from")[0][3]
        assert upd in ["sentinel %s 127.0.0.1 %d @ mymaster 127.0.0.1 %d" % (ids[j], d.sentinels[j].port, old)
                       for j in range(3) if j != i], upd
        assert "+try-failover" not in d.recorders[i].channels()
    assert "# Executing user requested FAILOVER of 'mymaster'" in open(d.sentinels[0].logfile).read()
    others = [r for r in d.replicas if r.port != new]
    check_failover_done(d, old, new, others)
    # The old master was never down: it is converted to a replica of the new one later.
    d.wait_role(d.master, "slave", new, timeout=30)

    # A master without any replica: no candidate.
    lone = d.data_node()
    assert c.call("SENTINEL", "MONITOR", "lonely", HOST, str(lone.port), "1") == "OK"
    assert c.err("SENTINEL", "FAILOVER", "lonely") == "NOGOODSLAVE No suitable replica to promote"


# ---------------------------------------------------------------------------
# 9. redis-py's Sentinel client
# ---------------------------------------------------------------------------


def test_redis_py_sentinel_client(deploy):
    from redis.sentinel import Sentinel

    d = deploy()
    old = d.master.port
    sn = Sentinel([(HOST, s.port) for s in d.sentinels], socket_timeout=2)
    assert sn.discover_master(MASTER) == (HOST, old)
    assert sorted(sn.discover_slaves(MASTER)) == sorted((HOST, r.port) for r in d.replicas)
    m = sn.master_for(MASTER, socket_timeout=2, decode_responses=True)
    assert m.set("k", "v1") is True and m.get("k") == "v1"
    ro = sn.slave_for(MASTER, socket_timeout=2, decode_responses=True)
    d.wait(lambda: ro.get("k") == "v1", 10, "read from a replica")

    d.master.kill()
    new = d.wait_new_master(old, timeout=40)
    d.wait(lambda: sn.discover_master(MASTER) == (HOST, new), 10, "redis-py discovers the new master")

    def write():
        try:
            return m.set("k", "v2") is True
        except Exception:  # noqa: BLE001 - connection errors until the pool rediscovers
            return False

    d.wait(write, 20, "write through master_for after the failover")
    assert m.get("k") == "v2"
    assert m.connection_pool.get_master_address() == (HOST, new)
    c = Client(new)
    assert c.call("GET", "k") == b"v2"
    c.close()


# ---------------------------------------------------------------------------
# 10. no majority: five Sentinels, three of them dead
# ---------------------------------------------------------------------------


def test_no_failover_without_majority(deploy):
    d = deploy(sentinels=5, quorum=3, failover_timeout=3000)
    old = d.master.port
    for i in (2, 3, 4):
        d.sentinels[i].kill()
    alive = (0, 1)

    def peers_down(i):
        flags = [fields(r)["flags"] for r in d.call(i, "SENTINEL", "SENTINELS", MASTER)]
        return sorted(flags) == ["s_down,sentinel,disconnected"] * 3 + ["sentinel"]

    for i in alive:
        d.wait(lambda: peers_down(i), 10, "three dead Sentinels seen down by %d" % i)
        assert d.err(i, "SENTINEL", "CKQUORUM", MASTER) == (
            "NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the specified quorum "
            "for this master. Not enough available Sentinels to reach the majority and authorize a failover")

    d.master.kill()
    for i in alive:
        d.wait_event(i, "+sdown", master_prefix(old), timeout=10)
    # quorum 3 with two Sentinels alive: never objectively down (a bounded wait for a
    # non-event: three times down-after, while both ask each other every second)
    time.sleep(3 * DOWN_AFTER / 1000.0)
    for i in alive:
        ch = d.recorders[i].channels()
        d.check("+odown" not in ch and "+try-failover" not in ch, "sentinel %d: no +odown with quorum 3" % i)
        assert d.sentinel_info(i)["master0"] == \
            "name=mymaster,status=sdown,address=127.0.0.1:%d,slaves=2,sentinels=5" % old
        assert fields(d.call(i, "SENTINEL", "MASTER", MASTER))["flags"] == "s_down,master,disconnected"

    # quorum 2: objectively down, a failover is tried, but 2 votes of 5 are no majority.
    for i in alive:
        assert d.call(i, "SENTINEL", "SET", MASTER, "quorum", "2") == "OK"
    for i in alive:
        d.wait_event(i, "+odown", master_prefix(old) + " #quorum 2/2", timeout=10)
    d.wait(lambda: any(d.recorders[i].find("-failover-abort-not-elected", master_prefix(old)) for i in alive),
           15, "-failover-abort-not-elected")
    for i in alive:
        ch = d.recorders[i].channels()
        d.check("+elected-leader" not in ch and "+switch-master" not in ch and "+selected-slave" not in ch,
                "sentinel %d must not fail over" % i)
        assert d.master_addr(i) == (HOST, old)
        assert d.sentinel_info(i)["master0"] == \
            "name=mymaster,status=odown,address=127.0.0.1:%d,slaves=2,sentinels=5" % old
    assert any("+try-failover" in d.recorders[i].channels() for i in alive)
    for r in d.replicas:
        assert role_of(r)["role"] == "slave"


# ---------------------------------------------------------------------------
# 11. the leader crashes right after its election; another Sentinel finishes the job
# ---------------------------------------------------------------------------


def test_leader_crash_after_election(deploy):
    ft = 3000
    d = deploy(sentinels=0)
    # Sentinel 0 (quorum 2) is the only one that can reach ODOWN and start a failover;
    # the others (quorum 4 of 3) only vote. Sentinel 0 crashes once elected.
    d.add_sentinel(failover_timeout=ft)
    d.add_sentinel(failover_timeout=ft, quorum=4)
    d.add_sentinel(failover_timeout=ft, quorum=4)
    d.wait_discovery()
    old = d.master.port
    s0 = d.sentinels[0]
    assert d.call(0, "SENTINEL", "SIMULATE-FAILURE", "crash-after-election") == "OK"
    assert d.sentinel_info(0)["sentinel_simulate_failure_flags"] == "1"

    d.master.kill()
    d.wait(lambda: not s0.is_alive(), 20, "the elected Sentinel crashes")
    crashed = time.monotonic()
    assert s0.proc.returncode == 99
    log = open(s0.logfile).read()
    assert "# +elected-leader master mymaster 127.0.0.1 %d" % old in log
    assert "# Sentinel CRASH because of SENTINEL simulate-failure" in log
    # crashed before choosing a replica: nothing was promoted
    for r in d.replicas:
        assert role_of(r)["role"] == "slave"
    s0_id = [l for l in log.splitlines() if "Sentinel ID is" in l][0].split()[-1]
    for i in (1, 2):
        d.wait_event(i, "+vote-for-leader", "%s 1" % s0_id, timeout=5)

    # Now the survivors may reach ODOWN; they must wait 2 x failover-timeout after their vote.
    for i in (1, 2):
        assert d.call(i, "SENTINEL", "SET", MASTER, "quorum", "2") == "OK"
    new = d.wait_new_master(old, timeout=40)
    tries = [e for i in (1, 2) for e in d.recorders[i].find("+try-failover", master_prefix(old))]
    d.check(tries and min(e[0] for e in tries) - crashed >= 2 * ft / 1000.0 - 1.0,
            "a survivor retried too early: %r" % [(e[0] - crashed) for e in tries])
    d.check(any("Next failover delay: I will not start a failover before" in open(d.sentinels[i].logfile).read()
                for i in (1, 2)), "Next failover delay logged")
    leaders = [i for i in (1, 2) if d.recorders[i].find("+elected-leader")]
    d.check(len(leaders) == 1, "one survivor led the failover: %r" % leaders)
    for i in (1, 2):
        d.wait_event(i, "+switch-master", "mymaster 127.0.0.1 %d 127.0.0.1 %d" % (old, new))
    others = [r for r in d.replicas if r.port != new]
    epoch = check_failover_done(d, old, new, others)
    assert epoch >= 2

    # The crashed Sentinel restarts from its file (still naming the old master) and learns
    # the new configuration from the others' hellos.
    s0.start(port=s0.port)
    d.debug_knobs(s0)
    d.wait(lambda: d.master_addr(0) == (HOST, new), 15, "restarted Sentinel follows the new master")
    assert "+config-update-from sentinel" in open(s0.logfile).read()
