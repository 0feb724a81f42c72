"""Helpers shared by the bench scripts: free ports, RESP encoding, redis-cli calls."""

import socket
import subprocess


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def resp(args):
    """One command in RESP, for redis-cli --pipe."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def cli(port, *args, stdin=None):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=stdin is None,
                          stdin=stdin).stdout
