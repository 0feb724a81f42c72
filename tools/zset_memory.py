#!/usr/bin/env python3
"""Memory of sorted sets: used_memory growth for N keys of small sorted sets
and for one large sorted set, on a running server.

Usage: zset_memory.py PORT [small|large|all] [KEYS]

Start the servers with `--save '' --appendonly no`.
"""
import socket
import sys


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def read(self):
        line = self.f.readline()
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(line[1:]))]
        if t == b"-":
            raise RuntimeError(line)
        return line[1:-2]

    def call(self, *args):
        self.s.sendall(cmd(*args))
        return self.read()

    def pipeline(self, cmds):
        for i in range(0, len(cmds), 1000):
            chunk = cmds[i:i + 1000]
            self.s.sendall(b"".join(cmd(*c) for c in chunk))
            for _ in chunk:
                self.read()

    def used(self):
        info = self.call("INFO", "memory").decode()
        return int(info.split("used_memory:")[1].split("\r\n")[0])


def main():
    port = int(sys.argv[1])
    what = sys.argv[2] if len(sys.argv) > 2 else "all"
    nkeys = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    c = Conn(port)
    if what in ("small", "all"):
        for label, member, score in [
            ("5 members 'member:N', integer scores", lambda j: "member:%d" % j, lambda i, j: j + 1),
            ("5 members 'member:N', float scores", lambda j: "member:%d" % j, lambda i, j: i * 0.37 + j),
        ]:
            c.call("FLUSHALL")
            base = c.used()
            cmds = []
            for i in range(nkeys):
                args = []
                for j in range(5):
                    args += [repr(score(i, j)) if isinstance(score(i, j), float) else score(i, j), member(j)]
                cmds.append(("ZADD", "key:%d" % i, *args))
            c.pipeline(cmds)
            grown = c.used() - base
            enc = c.call("OBJECT", "ENCODING", "key:1").decode()
            print("%d keys x %s (%s): %d bytes, %.1f bytes/key" % (nkeys, label, enc, grown, grown / nkeys))
    if what in ("large", "all"):
        c.call("FLUSHALL")
        base = c.used()
        n = 1_000_000
        for start in range(0, n, 100_000):
            cmds = []
            for i in range(start, start + 100_000, 100):
                args = []
                for k in range(i, i + 100):
                    args += [k * 7919 % n, "member:%d" % k]
                cmds.append(("ZADD", "big", *args))
            c.pipeline(cmds)
        grown = c.used() - base
        enc = c.call("OBJECT", "ENCODING", "big").decode()
        print("1 key x 1M members 'member:N' (%s): %d bytes, %.1f bytes/member" % (enc, grown, grown / n))
    c.call("FLUSHALL")


if __name__ == "__main__":
    main()
