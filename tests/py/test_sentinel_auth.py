"""Sentinel with passwords, as the tutorials set it up: data nodes with `requirepass` and
`masterauth`, Sentinels that reach them with `sentinel auth-pass`, Sentinels protected by
their own `requirepass` and reaching each other with `sentinel sentinel-pass`. And the same
with ACL users instead of passwords of the default user: data nodes whose default user is
off (`masteruser`), Sentinels reaching them with `sentinel auth-user` and each other with
`sentinel sentinel-user`.

The group discovers every replica and Sentinel, refuses clients without AUTH, and fails
the master over when it is killed.
"""

import os
import signal

from helpers import HOST, REPL_ARGS, SERVER_BIN, Client, RespError, Server, parse_info, repl_info, wait_until
from sentinel_helpers import MASTER, SentinelServer, fields, sentinel_config

DATA_PW = "data-secret"
SENTINEL_PW = "sentinel-secret"


def acall(port, password, *args):
    """`password` is a password of the default user, or `(user, password)`."""
    c = Client(port, timeout=10)
    try:
        c.call("AUTH", *(password if isinstance(password, tuple) else (password,)))
        return c.call(*args)
    finally:
        c.close()


def test_password_protected_group_discovers_and_fails_over():
    extra = ("sentinel auth-pass %s %s\nrequirepass %s\nsentinel sentinel-pass %s\n"
             % (MASTER, DATA_PW, SENTINEL_PW, SENTINEL_PW))
    group_discovers_and_fails_over(["--requirepass", DATA_PW, "--masterauth", DATA_PW], None,
                                   extra, DATA_PW, SENTINEL_PW)


def test_acl_protected_group_discovers_and_fails_over():
    data_config = ("user default off\nuser mon on >%s ~* &* +@all\nmasteruser mon\nmasterauth %s\n"
                   % (DATA_PW, DATA_PW))
    extra = ("sentinel auth-user %s mon\nsentinel auth-pass %s %s\nuser default off\n"
             "user sent on >%s ~* &* +@all\nsentinel sentinel-user sent\nsentinel sentinel-pass %s\n"
             % (MASTER, MASTER, DATA_PW, SENTINEL_PW, SENTINEL_PW))
    group_discovers_and_fails_over([], data_config, extra, ("mon", DATA_PW), ("sent", SENTINEL_PW))


def group_discovers_and_fails_over(auth, data_config, extra, data_auth, sentinel_auth):
    procs = []
    DATA_PW, SENTINEL_PW = data_auth, sentinel_auth
    try:
        master = Server(args=[*REPL_ARGS, *auth], config=data_config, binary=SERVER_BIN)
        procs.append(master)
        master.start()
        replicas = []
        for _ in range(2):
            r = Server(args=[*REPL_ARGS, *auth, "--replicaof", HOST, str(master.port)], config=data_config,
                       binary=SERVER_BIN)
            procs.append(r)
            r.start()
            replicas.append(r)

        def online():
            info = parse_info(acall(master.port, DATA_PW, "INFO", "replication"))[1]
            return info.get("connected_slaves") == "2"

        wait_until(online, 20, msg="replicas online")

        sentinels = []
        for _ in range(3):
            s = SentinelServer(lambda port, d: sentinel_config(port, d, master.port, extra=extra),
                               binary=SERVER_BIN)
            procs.append(s)
            s.start()
            sentinels.append(s)

        # Without AUTH a Sentinel refuses, as a server with requirepass does.
        c = Client(sentinels[0].port)
        try:
            try:
                c.call("SENTINEL", "MASTERS")
                raise AssertionError("a Sentinel with requirepass answered without AUTH")
            except RespError as e:
                assert e.msg == "NOAUTH Authentication required."
        finally:
            c.close()

        want = "name=%s,status=ok,address=%s:%d,slaves=2,sentinels=3" % (MASTER, HOST, master.port)

        def discovered():
            return all(parse_info(acall(s.port, SENTINEL_PW, "INFO", "sentinel"))[1].get("master0") == want
                       for s in sentinels)

        wait_until(discovered, 30, msg="every Sentinel sees 2 replicas and 3 Sentinels")

        def linked():
            # Authenticated links to every replica and Sentinel (a wrong password shows as
            # a disconnected or down record).
            for s in sentinels:
                for r in acall(s.port, SENTINEL_PW, "SENTINEL", "REPLICAS", MASTER):
                    if fields(r)["flags"] != "slave" or fields(r)["runid"] == "":
                        return False
                for p in acall(s.port, SENTINEL_PW, "SENTINEL", "SENTINELS", MASTER):
                    if fields(p)["flags"] != "sentinel":
                        return False
            return True

        wait_until(linked, 30, msg="every link up and authenticated")

        old = master.port
        os.kill(master.proc.pid, signal.SIGKILL)

        def new_master():
            addrs = {tuple(acall(s.port, SENTINEL_PW, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER))
                     for s in sentinels}
            if len(addrs) == 1:
                (addr,) = addrs
                if int(addr[1]) != old:
                    return int(addr[1])
            return None

        new = wait_until(new_master, 40, msg="the Sentinels agree on a new master")
        promoted = next(r for r in replicas if r.port == new)
        other = next(r for r in replicas if r.port != new)

        def roles():
            login = DATA_PW if isinstance(DATA_PW, tuple) else (DATA_PW,)
            c = Client(promoted.port)
            c.call("AUTH", *login)
            p = repl_info(c)
            c.close()
            c = Client(other.port)
            c.call("AUTH", *login)
            o = repl_info(c)
            c.close()
            return (p["role"] == "master" and o["role"] == "slave" and o["master_port"] == str(new)
                    and o["master_link_status"] == "up")

        wait_until(roles, 30, msg="promoted replica is master, the other follows it")
    finally:
        for p in reversed(procs):
            p.cleanup()
