"""A master stuck in a script: once Sentinel calls it down (-BUSY is not a valid PING
reply), Sentinel sends SCRIPT KILL, the script dies, and the master comes back (-sdown)
without a failover."""

import threading

from helpers import Client, RespError
from sentinel_helpers import MASTER, Deployment


def test_a_busy_master_gets_script_kill_and_recovers():
    d = Deployment()
    done = {}
    try:
        d.start_data(replicas=1)
        # quorum 2 with one Sentinel: it can call the master down but never fail it over
        d.add_sentinel(quorum=2)
        d.wait_discovery()
        mc = d.master.client()
        mc.call("CONFIG", "SET", "busy-reply-threshold", "100")

        def run_script():
            c = Client(d.master.port, timeout=60)
            try:
                c.call("EVAL", "while true do end", 0)
            except RespError as e:
                done["error"] = e.msg
            finally:
                c.close()

        t = threading.Thread(target=run_script, daemon=True)
        t.start()
        d.wait_event(0, "+sdown", "master %s" % MASTER, timeout=20)
        t.join(20)
        d.check(not t.is_alive(), "the script ended (master log:\n%s)" % d.master.log()[-3000:])
        assert done.get("error", "").startswith("ERR Script killed by user with SCRIPT KILL"), done
        d.wait_event(0, "-sdown", "master %s" % MASTER, timeout=20)
        assert mc.call("PING") == "PONG"
        assert not d.recorders[0].find("+try-failover")
    finally:
        d.cleanup()
