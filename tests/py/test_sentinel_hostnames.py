"""Sentinel with host names (`resolve-hostnames`, `announce-hostnames`), as Redis 7.0 has
them: a master monitored as `localhost` and replicas that announce `localhost`.

Without `resolve-hostnames` a name is refused; with it the Sentinel resolves it but reports
addresses as IPs; with `announce-hostnames` too it reports (and announces, and fails over
to) names.
"""

import os
import signal

from helpers import HOST, REPL_ARGS, SERVER_BIN, Client, Server, repl_info, wait_until
from sentinel_helpers import DEBUG_KNOBS, MASTER, SentinelServer, fields, sentinel_config


def hostname_config(master_port, announce):
    def config(port, dir_):
        text = sentinel_config(port, dir_, master_port, quorum=1,
                               extra="sentinel resolve-hostnames yes\n"
                                     "sentinel announce-hostnames %s\n" % ("yes" if announce else "no"))
        # Monitor the master by name rather than by address.
        return text.replace("sentinel monitor %s %s %d" % (MASTER, HOST, master_port),
                            "sentinel monitor %s localhost %d" % (MASTER, master_port))
    return config


def scall(port, *args):
    c = Client(port, timeout=10)
    try:
        return c.call(*args)
    finally:
        c.close()


def start_pair(procs):
    master = Server(args=[*REPL_ARGS, "--replica-announce-ip", "localhost"], binary=SERVER_BIN)
    procs.append(master)
    master.start()
    replica = Server(args=[*REPL_ARGS, "--replica-announce-ip", "localhost", "--replicaof", HOST,
                           str(master.port)], binary=SERVER_BIN)
    procs.append(replica)
    replica.start()
    wait_until(lambda: repl_info(Client(master.port)).get("connected_slaves") == "1", 20,
               msg="replica online")
    return master, replica


def start_sentinel(procs, master, announce):
    s = SentinelServer(hostname_config(master.port, announce), binary=SERVER_BIN)
    procs.append(s)
    s.start()
    scall(s.port, "SENTINEL", "DEBUG", *DEBUG_KNOBS)
    return s


def test_a_hostname_needs_resolve_hostnames(server_factory):
    s = SentinelServer(lambda port, d: sentinel_config(port, d, 6379).replace(
        "sentinel monitor %s %s 6379" % (MASTER, HOST), "sentinel monitor %s localhost 6379" % MASTER),
        binary=SERVER_BIN, start_timeout=5)
    try:
        s.spawn()
        assert s.proc.wait(10) != 0
        log = s.log()
        assert "Can't resolve instance hostname." in log, log
    finally:
        s.cleanup()


def test_resolved_but_not_announced_names_show_as_ips():
    procs = []
    try:
        master, replica = start_pair(procs)
        s = start_sentinel(procs, master, announce=False)
        assert scall(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == [
            b"127.0.0.1", str(master.port).encode()]
        wait_until(lambda: len(scall(s.port, "SENTINEL", "REPLICAS", MASTER)) == 1, 20,
                   msg="replica discovered")
        r = fields(scall(s.port, "SENTINEL", "REPLICAS", MASTER)[0])
        assert (r["ip"], r["port"]) == ("127.0.0.1", str(replica.port))
    finally:
        for p in reversed(procs):
            p.cleanup()


def test_announced_hostnames_through_a_failover():
    procs = []
    try:
        master, replica = start_pair(procs)
        s = start_sentinel(procs, master, announce=True)
        assert scall(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == [
            b"localhost", str(master.port).encode()]
        assert fields(scall(s.port, "SENTINEL", "MASTER", MASTER))["ip"] == "localhost"

        def replica_listed():
            records = scall(s.port, "SENTINEL", "REPLICAS", MASTER)
            return len(records) == 1 and fields(records[0])["master-link-status"] == "ok" and fields(records[0])

        r = wait_until(replica_listed, 20, msg="replica discovered, link up")
        assert (r["ip"], r["port"]) == ("localhost", str(replica.port))
        # The config file keeps the names.
        with open(s.config_path) as f:
            conf = f.read()
        assert "sentinel monitor %s localhost %d 1" % (MASTER, master.port) in conf, conf
        assert "sentinel known-replica %s localhost %d" % (MASTER, replica.port) in conf, conf

        os.kill(master.proc.pid, signal.SIGKILL)
        wait_until(lambda: scall(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == [
            b"localhost", str(replica.port).encode()], 30, msg="failed over to localhost:<replica>")
        wait_until(lambda: repl_info(Client(replica.port))["role"] == "master", 20, msg="replica promoted")
    finally:
        for p in reversed(procs):
            p.cleanup()
