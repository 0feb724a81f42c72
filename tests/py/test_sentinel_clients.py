"""Clients that find the master through Sentinel: ioredis (npm, from tests/js) through
three Sentinels, across a failover (the master killed): it writes to the old master, then
to the new one, and reads back what it wrote before."""

import os
import shutil
import signal
import subprocess

import pytest

from helpers import read_json_line
from sentinel_helpers import Deployment

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "js")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "ioredis")),
    reason="node and tests/js/node_modules (scripts/setup-test-deps.sh) are needed",
)


def test_ioredis_follows_a_failover():
    d = Deployment()
    proc = None
    try:
        d.start_data(replicas=2).start_sentinels(3)
        d.wait_discovery()
        proc = subprocess.Popen(
            ["node", os.path.join(JS, "sentinel_failover.js"), *[str(s.port) for s in d.sentinels]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        ready = read_json_line(proc, 20)
        assert ready["port"] == d.master.port
        old = d.master.port
        os.kill(d.master.proc.pid, signal.SIGKILL)
        new = d.wait_new_master(old, timeout=30)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        done = read_json_line(proc, 60)
        assert done["port"] == new, (done, new)
        assert done["before"] == "1" and done["after"] == "2", done
        assert proc.wait(timeout=10) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        d.cleanup()
