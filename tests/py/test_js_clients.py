"""Node.js clients against the server: ioredis's defineCommand (scripted
commands sent as EVALSHA, falling back to EVAL on NOSCRIPT), alone and in a
pipeline.  The packages come from ``tests/js`` (``npm ci``, run by
``scripts/setup-test-deps.sh``).  Passes with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import json
import os
import shutil
import subprocess

import pytest

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "js")

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "ioredis")),
    reason="node and tests/js/node_modules (scripts/setup-test-deps.sh) are needed",
)


@needs_node
def test_ioredis_define_command(server):
    out = subprocess.run(
        ["node", os.path.join(JS, "define_command.js"), str(server.port)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["first"] == 1
    assert got["second"] == 2
    assert got["third"] == 2
    assert got["echo"] == ["a", "b", "c", "d"]
    assert got["pipeline"] == [1, ["k1", "k2", "x", "y"]]
    assert got["error"] == "ERR Unknown Redis command called from script"
