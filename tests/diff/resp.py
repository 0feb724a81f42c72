"""Raw RESP2/RESP3 connection for the differential tester.

Owns the wire level: encoding commands, reading one reply at a time with a
deadline, and keeping the *exact bytes* of every reply (``Reply.raw``) next to
a light parse tree (``Reply.kind`` / ``Reply.val``) that the comparator uses for
property checks (unordered compares, membership, tolerances).
"""

import select
import socket
import time


class Incomplete(Exception):
    """The buffer does not hold a whole reply yet."""


class ProtocolError(Exception):
    pass


class Timeout(Exception):
    pass


class Closed(Exception):
    pass


class Reply:
    """One RESP reply.

    kind: the type byte as a str ('+', '-', ':', '$', '*', '%', '~', '>', '_',
          ',', '#', '(', '=') or a tester pseudo-kind ('!' = no reply / timeout).
    raw:  the exact bytes on the wire.
    val:  bulk / verbatim -> bytes or None (nil); simple, error, double, bignum,
          boolean -> the line's bytes; integer -> int; aggregates -> list of
          child Replies (a map is flattened to k1, v1, k2, v2, ...).
    """

    __slots__ = ("kind", "raw", "val")

    def __init__(self, kind, raw, val):
        self.kind = kind
        self.raw = raw
        self.val = val

    def is_error(self):
        return self.kind == "-"

    def is_aggregate(self):
        return self.kind in "*%~>" and self.val is not None

    def is_nil(self):
        return self.kind == "_" or (self.kind in "$*" and self.val is None)

    def text(self):
        """Bytes of a scalar (bulk / simple / verbatim), for membership checks."""
        if isinstance(self.val, bytes):
            return self.val
        if isinstance(self.val, int):
            return str(self.val).encode()
        return self.raw

    def __repr__(self):
        return "Reply(%r)" % self.raw


NO_REPLY = Reply("!", b"<no reply>", None)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _line(buf, pos):
    i = buf.find(b"\r\n", pos)
    if i < 0:
        raise Incomplete()
    return bytes(buf[pos:i]), i + 2


def parse(buf, pos=0):
    """Parse one reply from ``buf`` at ``pos``; return (Reply, end)."""
    if pos >= len(buf):
        raise Incomplete()
    t = chr(buf[pos])
    line, p = _line(buf, pos + 1)
    if t in "+-,#(":
        return Reply(t, bytes(buf[pos:p]), line), p
    if t == ":":
        return Reply(t, bytes(buf[pos:p]), int(line)), p
    if t == "_":
        return Reply(t, bytes(buf[pos:p]), None), p
    if t in "$=":
        n = int(line)
        if n < 0:
            return Reply(t, bytes(buf[pos:p]), None), p
        if len(buf) < p + n + 2:
            raise Incomplete()
        data = bytes(buf[p:p + n])
        if buf[p + n:p + n + 2] != b"\r\n":
            raise ProtocolError("bulk not terminated by CRLF")
        return Reply(t, bytes(buf[pos:p + n + 2]), data), p + n + 2
    if t in "*~>%|":
        n = int(line)
        if n < 0:
            return Reply(t, bytes(buf[pos:p]), None), p
        count = 2 * n if t in "%|" else n
        items = []
        for _ in range(count):
            item, p = parse(buf, p)
            items.append(item)
        if t == "|":  # attribute: skip it, the reply follows
            rep, p2 = parse(buf, p)
            return Reply(rep.kind, bytes(buf[pos:p2]), rep.val), p2
        return Reply(t, bytes(buf[pos:p]), items), p
    raise ProtocolError("unknown RESP type byte %r at %d: %r" % (t, pos, bytes(buf[pos:pos + 40])))


class Conn:
    """A socket with a receive buffer; replies are read with a deadline."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, args):
        self.sock.sendall(encode(args))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        rem = deadline - time.monotonic()
        if rem <= 0:
            raise Timeout()
        self.sock.settimeout(rem)
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Timeout() from None
        except OSError as e:
            raise Closed(str(e)) from None
        if not chunk:
            raise Closed("connection closed by server")
        self.buf += chunk

    def read_reply(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                rep, end = parse(self.buf)
            except Incomplete:
                self._fill(deadline)
                continue
            del self.buf[:end]
            return rep

    def call(self, args, timeout=None):
        self.send(args)
        return self.read_reply(timeout)

    def has_data(self):
        """True if a reply (or part of one) is waiting."""
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill(deadline)

    def skip_newlines(self, timeout=None):
        """Skip the bare '\\n' keepalives a master sends before the RDB payload."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self.buf[:1] == b"\n":
                del self.buf[:1]
            if self.buf:
                return
            self._fill(deadline)

    def read_until_marker(self, marker, timeout=None):
        """Read bytes until ``marker`` (inclusive); return what came before it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                data = bytes(self.buf[:i])
                del self.buf[:i + len(marker)]
                return data
            self._fill(deadline)
