"""End-to-end test harness for redust (Redis 7.0 compatible server).

The server binary is taken from the ``REDUST_SERVER`` environment variable
(default: this checkout's target/release/redust-server).  Every test that needs a
server gets its own process, on its own free loopback port, in its own temp
directory, so the suite is safe under pytest-xdist.

Helpers exported to tests (import them with ``from helpers import ...`` or
use the fixtures):

* ``Server`` / ``server`` fixture / ``server_factory`` fixture
* ``Client``: a tiny RESP2/RESP3 client returning exact replies
  (simple strings -> ``str``, bulk strings -> ``bytes``, errors -> raise
  ``RespError`` whose ``.msg`` is the full error text without the ``-``)
* ``RawConn``: send exact bytes, read exact bytes
* ``wait_until(cond, timeout)``
* ``run_cli(port, *args)``: run redis-cli
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (  # noqa: E402
    SERVER_BIN,
    Server,
    ServerStartError,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "server(args=None, config=None, **kw): extra arguments / config file "
        "text for the per-test server fixture",
    )


def pytest_report_header(config):
    return "redust server binary: %s" % SERVER_BIN


@pytest.fixture
def server_factory():
    """Start any number of servers; all are killed and cleaned at the end."""
    started = []

    def factory(args=(), config=None, wait=True, **kw):
        s = Server(args=args, config=config, **kw)
        started.append(s)
        if wait:
            s.start()
        return s

    yield factory
    for s in reversed(started):
        s.cleanup()


@pytest.fixture
def server(request, server_factory):
    """A fresh server; customise with @pytest.mark.server(args=[...], config='...')."""
    marker = request.node.get_closest_marker("server")
    kwargs = {}
    if marker is not None:
        kwargs = dict(marker.kwargs)
        if marker.args:
            kwargs["args"] = marker.args[0]
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    try:
        return server_factory(**kwargs)
    except ServerStartError as e:  # pragma: no cover - diagnostic
        pytest.fail(str(e))


@pytest.fixture
def c(server):
    """A RESP client (exact replies) connected to the per-test server."""
    cl = server.client()
    yield cl
    cl.close()


@pytest.fixture
def r(server):
    """A redis-py client (decode_responses=True) connected to the per-test server."""
    cl = server.redis_py()
    yield cl
    cl.close()


@pytest.fixture
def make_cluster():
    """``make_cluster(**kw)`` -> a new empty ``Cluster`` (cluster_helpers); all its nodes
    are removed at the end."""
    from cluster_helpers import Cluster

    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    made = []

    def make(**kw):
        cl = Cluster(**kw)
        made.append(cl)
        return cl

    yield make
    for cl in made:
        cl.cleanup()
