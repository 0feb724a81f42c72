"""Sentinel under network faults, through the lost-writes checker (tests/lostwrites): a
fault proxy in front of every node and Sentinel, four writers on the master's side.

* The master partitioned away (its proxy resets and refuses every link) and its links hung
  (nothing forwarded): the Sentinels fail it over and, once healed, the old master rejoins
  as a replica of the new one (the group settles). As in Redis 7.0, writes the isolated
  master acknowledged are lost in the default mode.
* redust's safe mode (`safe-writes yes`) under the same faults and a pause: the failover
  still happens and no acknowledged write is lost.

Short faults (5 s) keep this within CI's budget; `python3 tests/lostwrites/lostwrites.py
--all ...` runs the full comparison.
"""

import json
import os
import subprocess
import sys

import pytest

from helpers import SERVER_BIN

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lostwrites", "lostwrites.py")
IS_REDIS = "redis-server" in os.path.basename(SERVER_BIN)


def run_tool(tmp_path, faults, mode_args=None, expect_zero=False):
    out = tmp_path / "results.json"
    server = "%s:under-test" % SERVER_BIN
    cmd = [sys.executable, TOOL, "--server", server]
    if mode_args:
        cmd += ["--mode-args", mode_args]
    for f in faults:
        cmd += ["--fault", f]
    cmd += ["--seconds", "5", "--json", str(out)]
    if expect_zero:
        cmd += ["--expect-zero", "under-test"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.exists(), "the checker ran no fault:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
    results = json.loads(out.read_text())["results"]
    return proc, results


@pytest.mark.parametrize("fault", ["partition", "link-hang"])
def test_a_cut_off_master_is_failed_over_and_rejoins(tmp_path, fault):
    proc, results = run_tool(tmp_path, [fault])
    (r,) = results
    assert not r["error"], r["error"]
    assert r["failover"], "no failover under %s:\n%s" % (fault, proc.stdout[-3000:])
    assert r["converged"], "the group did not settle after %s:\n%s" % (fault, proc.stdout[-3000:])


@pytest.mark.skipif(IS_REDIS, reason="safe-writes is redust's own mode")
@pytest.mark.parametrize("fault", ["partition", "pause", "link-hang"])
def test_safe_mode_loses_no_acknowledged_write(tmp_path, fault):
    proc, results = run_tool(tmp_path, [fault], mode_args="--safe-writes yes", expect_zero=True)
    (r,) = results
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert r["failover"], "no failover under %s:\n%s" % (fault, proc.stdout[-3000:])
    assert r["acknowledged"] > 0 and r["lost"] == 0, r
