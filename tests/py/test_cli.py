"""redis-cli against the server: the common ways people drive it."""

import os

import pytest

from helpers import REDIS_CLI

pytestmark = pytest.mark.skipif(
    not os.path.exists(REDIS_CLI), reason="redis-cli not installed (apt-get install redis-tools)"
)


def out(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_cli_basic(server):
    assert out(server.cli("PING")) == "PONG\n"
    assert out(server.cli("SET", "a", "hello world")) == "OK\n"
    assert out(server.cli("GET", "a")) == "hello world\n"
    assert out(server.cli("GET", "nokey")) == "\n"
    assert out(server.cli("--no-raw", "GET", "nokey")) == "(nil)\n"
    assert out(server.cli("--no-raw", "GET", "a")) == '"hello world"\n'
    assert out(server.cli("--no-raw", "INCR", "n")) == "(integer) 1\n"
    assert out(server.cli("--no-raw", "MGET", "a", "nokey")) == '1) "hello world"\n2) (nil)\n'
    assert out(server.cli("-r", "3", "INCR", "n")) == "2\n3\n4\n"
    assert out(server.cli("--no-raw", "GET")) == "(error) ERR wrong number of arguments for 'get' command\n"


def test_cli_db_and_stdin(server):
    assert out(server.cli("-n", "2", "SET", "dbkey", "1")) == "OK\n"
    assert out(server.cli("-n", "2", "DBSIZE")) == "1\n"
    assert out(server.cli("DBSIZE")) == "0\n"
    assert out(server.cli("-x", "SET", "fromstdin", input="stdin value\n")) == "OK\n"
    assert server.client().call("GET", "fromstdin") == b"stdin value\n"
    assert out(server.cli(input="SET x 1\nGET x\n")) == "OK\n1\n"


def test_cli_pipe_mode(server):
    data = "".join("SET key:%d %d\r\n" % (i, i) for i in range(1000))
    res = server.cli("--pipe", input=data)
    assert res.returncode == 0, res.stderr
    assert "errors: 0, replies: 1000" in res.stdout
    assert server.client().call("DBSIZE") == 1000


def test_cli_scan_and_bigkeys(server):
    c = server.client()
    c.call("MSET", "p1", "v", "p2", "vv", "q1", "x" * 100)
    assert sorted(out(server.cli("--scan", "--pattern", "p*")).split()) == ["p1", "p2"]
    big = out(server.cli("--bigkeys"))
    assert "3 strings with 103 bytes" in big
    assert "Biggest string found '\"q1\"' has 100 bytes" in big


def test_cli_resp3_and_info(server):
    res = out(server.cli("-3", "--no-raw", "HELLO", "3"))
    assert '"proto" => (integer) 3' in res
    info = out(server.cli("INFO", "server"))
    assert "tcp_port:%d" % server.port in info


@pytest.mark.server(args=["--requirepass", "clipw"])
def test_cli_auth(server):
    assert "NOAUTH Authentication required." in out(server.cli("PING"))
    assert out(server.cli("PING", extra=["-a", "clipw", "--no-auth-warning"])) == "PONG\n"
    res = server.cli("PING", extra=["-a", "wrong", "--no-auth-warning"])
    assert "WRONGPASS" in res.stdout + res.stderr
