"""Shared helpers for the redust end-to-end suite (see conftest.py)."""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import redis

# Default: this checkout's release build (the repository is two levels above this file).
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BIN = os.environ.get("REDUST_SERVER", os.path.join(_REPO, "target", "release", "redust-server"))
REDIS_CLI = os.environ.get("REDIS_CLI") or shutil.which("redis-cli") or "/usr/bin/redis-cli"
HOST = "127.0.0.1"
# The reference implementation used as the other end in interop tests (replication).
REDIS_PEER = os.environ.get("REDIS_PEER", "/usr/bin/redis-server")


# ---------------------------------------------------------------------------
# generic helpers
# ---------------------------------------------------------------------------


def wait_until(cond, timeout=5.0, interval=0.01, msg=None):
    """Poll ``cond()`` until it returns a truthy value; return that value.

    Raises AssertionError after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
            last_exc = None
        except Exception as e:  # noqa: BLE001 - keep polling on errors
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(
                "condition not met within %.1fs%s%s"
                % (timeout, (": " + msg) if msg else "", (" (last error: %r)" % last_exc) if last_exc else "")
            )
        time.sleep(interval)


def _die_with_parent():
    """In the child before exec: get SIGKILL if the test process dies (no leaked servers)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def pid_alive(pid):
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_cli(port, *args, input=None, timeout=10, extra=()):
    """Run redis-cli against ``port``; returns CompletedProcess (text mode)."""
    cmd = [REDIS_CLI, "-h", HOST, "-p", str(port), *extra, *[str(a) for a in args]]
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)


def parse_info(text):
    """Parse an INFO reply (bytes or str) into {section: {field: value}} and a flat dict."""
    if isinstance(text, bytes):
        text = text.decode()
    sections = {}
    flat = {}
    cur = None
    for line in text.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            cur = line[2:].strip().lower()
            sections.setdefault(cur, {})
            continue
        k, _, v = line.partition(":")
        flat[k] = v
        if cur is not None:
            sections[cur][k] = v
    return sections, flat


def info_field(client, field, section=None):
    raw = client.call("INFO", section) if section else client.call("INFO")
    return parse_info(raw)[1].get(field)


# ---------------------------------------------------------------------------
# RESP client
# ---------------------------------------------------------------------------


class RespError(Exception):
    """An error reply. ``msg`` is the full text, e.g. 'ERR syntax error'."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg

    def __eq__(self, other):
        return isinstance(other, RespError) and other.msg == self.msg

    def __hash__(self):
        return hash(self.msg)

    def __repr__(self):
        return "RespError(%r)" % self.msg


class Push(list):
    """A RESP3 push message (>)."""

    def __repr__(self):
        return "Push(%s)" % list.__repr__(self)


class Verbatim(bytes):
    """A RESP3 verbatim string; ``.format`` is e.g. 'txt'."""

    format = None


class ConnectionClosed(ConnectionError):
    pass


def _hashable(x):
    if isinstance(x, list):
        return tuple(_hashable(i) for i in x)
    if isinstance(x, dict):
        return tuple((k, _hashable(v)) for k, v in x.items())
    if isinstance(x, set):
        return frozenset(x)
    return x


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, float):
            b = repr(a).encode()
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Client:
    """Minimal RESP2/RESP3 client with exact reply types.

    * simple string  -> str
    * bulk string    -> bytes (None for nil)
    * integer        -> int
    * array          -> list (None for nil array)
    * error          -> raises RespError (or returned by ``pipeline`` / ``read_reply(raise_errors=False)``)
    * RESP3: map -> dict, set -> set (list if unhashable), null -> None,
      double -> float, boolean -> bool, big number -> int,
      verbatim -> Verbatim, push -> Push
    """

    def __init__(self, port, host=HOST, timeout=10.0, source=None):
        self.port = port
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.timeout = timeout

    # -- io ---------------------------------------------------------------
    def settimeout(self, t):
        self.timeout = t
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.sock.sendall(encode_command(*args))

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError as e:
            raise ConnectionClosed("connection reset") from e
        if not chunk:
            raise ConnectionClosed("connection closed by server")
        self.buf += chunk

    def _readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _readexact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    # -- parsing ----------------------------------------------------------
    def read_reply(self, raise_errors=True):
        line = self._readline()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "surrogateescape")
        if t == b"-":
            e = RespError(rest.decode("utf-8", "surrogateescape"))
            if raise_errors:
                raise e
            return e
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._readexact(n + 2)
            assert data[-2:] == b"\r\n", "bulk string not terminated by CRLF"
            return data[:-2]
        if t in (b"*", b">", b"~"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read_reply(raise_errors=False) for _ in range(n)]
            if t == b">":
                return Push(items)
            if t == b"~":
                try:
                    return set(items)
                except TypeError:
                    return items
            return items
        if t == b"%":
            n = int(rest)
            d = {}
            for _ in range(n):
                k = self.read_reply(raise_errors=False)
                v = self.read_reply(raise_errors=False)
                d[_hashable(k)] = v
            return d
        if t == b"|":
            n = int(rest)
            for _ in range(2 * n):
                self.read_reply(raise_errors=False)
            return self.read_reply(raise_errors=raise_errors)
        if t == b"_":
            return None
        if t == b",":
            s = rest.decode()
            return float(s)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t == b"=":
            n = int(rest)
            data = self._readexact(n + 2)[:-2]
            v = Verbatim(data[4:])
            v.format = data[:3].decode()
            return v
        raise AssertionError("unknown RESP type byte in line %r" % line)

    # -- commands ---------------------------------------------------------
    def call(self, *args):
        self.send(*args)
        return self.read_reply()

    def err(self, *args):
        """Send a command that must fail; return the full error text."""
        self.send(*args)
        rep = self.read_reply(raise_errors=False)
        if not isinstance(rep, RespError):
            raise AssertionError("expected an error reply for %r, got %r" % (args, rep))
        return rep.msg

    def pipeline(self, commands):
        """Send all commands in one write, return all replies (errors as RespError)."""
        self.sock.sendall(b"".join(encode_command(*cmd) for cmd in commands))
        return [self.read_reply(raise_errors=False) for _ in commands]

    def is_closed(self, timeout=5.0):
        """True if the server closes the connection within ``timeout`` (pending data is discarded)."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return False
                except (ConnectionResetError, BrokenPipeError):
                    return True
                if not chunk:
                    return True
                self.buf += chunk
            return False
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass


class RawConn:
    """Raw socket helper: send exact bytes, read exact bytes."""

    def __init__(self, port, host=HOST, timeout=10.0, source=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        out = bytearray()
        while len(out) < n:
            rem = deadline - time.monotonic()
            if rem <= 0:
                raise AssertionError("timed out reading %d bytes, got %r" % (n, bytes(out)))
            self.sock.settimeout(rem)
            try:
                chunk = self.sock.recv(n - len(out))
            except socket.timeout:
                raise AssertionError("timed out reading %d bytes, got %r" % (n, bytes(out)))
            if not chunk:
                raise ConnectionClosed("closed after %r" % bytes(out))
            out += chunk
        return bytes(out)

    def expect(self, expected, timeout=None):
        got = self.recv_exact(len(expected), timeout)
        assert got == expected, "expected %r, got %r" % (expected, got)
        return got

    def read_until_close(self, timeout=5.0, limit=1 << 24):
        """Read everything until EOF; AssertionError if not closed within ``timeout``."""
        deadline = time.monotonic() + timeout
        out = bytearray()
        while True:
            rem = deadline - time.monotonic()
            if rem <= 0:
                raise AssertionError("connection not closed within %.1fs; got %r" % (timeout, bytes(out[:200])))
            self.sock.settimeout(rem)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return bytes(out)
            if not chunk:
                return bytes(out)
            out += chunk
            if len(out) > limit:
                raise AssertionError("too much data")

    def read_available(self, wait=0.2):
        """Read whatever arrives within ``wait`` seconds (no assertion)."""
        deadline = time.monotonic() + wait
        out = bytearray()
        while True:
            rem = deadline - time.monotonic()
            if rem <= 0:
                return bytes(out)
            self.sock.settimeout(rem)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return bytes(out)
            except (ConnectionResetError, BrokenPipeError):
                return bytes(out)
            if not chunk:
                return bytes(out)
            out += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# server process management
# ---------------------------------------------------------------------------


class ServerStartError(Exception):
    pass


class Server:
    """One server process on a free loopback port in a fresh temp dir."""

    def __init__(self, args=(), config=None, binary=None, base_args=True, start_timeout=15.0):
        self.binary = binary or SERVER_BIN
        self.extra_args = [str(a) for a in args]
        self.config_text = config
        self.base_args = base_args
        self.start_timeout = start_timeout
        self.dir = tempfile.mkdtemp(prefix="redust-test-")
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, "redis.conf")
            with open(self.config_path, "w") as f:
                f.write(config)
        self.proc = None
        self.port = None
        self.extra_pids = []  # e.g. daemonized children
        self.pidfiles = []  # pid files whose process must be killed at cleanup
        self._clients = []
        self.log_path = os.path.join(self.dir, "stdout.log")
        self._log = None

    # -- lifecycle ----------------------------------------------------------
    def command_line(self, port):
        cmd = [self.binary]
        if self.config_path:
            cmd.append(self.config_path)
        if self.base_args:
            cmd += ["--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", self.dir]
        cmd += self.extra_args
        return cmd

    def spawn(self, port=None):
        """Start the process without waiting for it to become ready."""
        self.port = port or free_port()
        if self._log:
            self._log.close()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command_line(self.port),
            cwd=self.dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return self.proc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ping_once(self, timeout=0.5):
        """True if the server answers a PING on our port (NOAUTH counts, LOADING does not)."""
        try:
            s = socket.create_connection((HOST, self.port), timeout=timeout)
        except OSError:
            return False
        try:
            s.settimeout(timeout)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = s.recv(1024)
            # Any answer counts (NOAUTH too), except LOADING: the data is not there yet.
            return bool(data) and data[:1] in (b"+", b"-") and not data.startswith(b"-LOADING")
        except OSError:
            return False
        finally:
            s.close()

    def start(self, port=None, retries=3):
        last = None
        for _attempt in range(retries):
            self.spawn(port)
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self.ping_once():
                    return self
                time.sleep(0.01)
            if self.proc.poll() is None:
                self.kill()
                raise ServerStartError("server did not answer PING within %.1fs\n%s" % (self.start_timeout, self.log()))
            last = "server exited with code %s\n%s" % (self.proc.returncode, self.log())
            # port clash with a parallel worker: retry on a new port
            if port is not None or "already in use" not in self.log().lower():
                break
        raise ServerStartError(last)

    def restart(self):
        """Kill and start again on the same port, same dir and same args/config."""
        self.kill()
        self.start(port=self.port)

    def is_alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=10.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("server did not exit within %.1fs" % timeout)

    def kill(self):
        for cl in self._clients:
            try:
                cl.close()
            except Exception:  # noqa: BLE001
                pass
        self._clients = []
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                try:
                    self.proc.kill()
                except OSError:
                    pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for pf in self.pidfiles:
            try:
                with open(pf) as f:
                    pid = int(f.read().strip())
                if pid not in self.extra_pids:
                    self.extra_pids.append(pid)
            except (OSError, ValueError):
                pass
        for pid in self.extra_pids:
            if not self._is_our_binary(pid):
                continue  # never kill an unrelated process that reused the pid
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for pid in self.extra_pids:
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.01)
        self.extra_pids = []

    def _is_our_binary(self, pid):
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return False
        return os.path.realpath(exe.replace(" (deleted)", "")) == os.path.realpath(self.binary)

    def cleanup(self):
        self.kill()
        if self._log:
            self._log.close()
            self._log = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients ------------------------------------------------------------
    def client(self, timeout=10.0, source=None):
        cl = Client(self.port, timeout=timeout, source=source)
        self._clients.append(cl)
        return cl

    def raw(self, timeout=10.0, source=None):
        cl = RawConn(self.port, timeout=timeout, source=source)
        self._clients.append(cl)
        return cl

    def redis_py(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kw)

    def cli(self, *args, **kw):
        return run_cli(self.port, *args, **kw)


def run_server_expect_exit(args=(), config=None, timeout=10.0, base_args=True):
    """Run a server that is expected to exit by itself; returns (returncode, output)."""
    s = Server(args=args, config=config, base_args=base_args)
    try:
        s.spawn()
        try:
            rc = s.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("server did not exit within %.1fs; log:\n%s" % (timeout, s.log()))
        return rc, s.log()
    finally:
        s.cleanup()


# ---------------------------------------------------------------------------
# replication helpers (test_replication*.py)
# ---------------------------------------------------------------------------

# Every server in the replication tests gets these: full syncs start at once
# (Redis 7.0 defaults to repl-diskless-sync yes with a 5 s delay), DEBUG DIGEST works.
REPL_ARGS = ["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]


def repl_info(client):
    """INFO replication as a dict (insertion order = the order the server printed)."""
    return parse_info(client.call("INFO", "replication"))[1]


def stat(client, field):
    return int(parse_info(client.call("INFO", "stats"))[1][field])


def parse_slave_line(value):
    """'ip=127.0.0.1,port=1,state=online,offset=5,lag=0' -> ordered dict."""
    out = {}
    for part in value.split(","):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def wait_link_up(replica, timeout=20):
    wait_until(lambda: repl_info(replica)["master_link_status"] == "up", timeout,
               msg="replica link to master not up")


def wait_online(master, n, timeout=20):
    """Wait until the master lists ``n`` replicas, all in state=online."""

    def ok():
        info = repl_info(master)
        if int(info["connected_slaves"]) != n:
            return False
        return all(parse_slave_line(info["slave%d" % i])["state"] == "online" for i in range(n))

    wait_until(ok, timeout, msg="master does not have %d online replicas" % n)


def start(factory, *args, config=None, binary=None):
    """A server for the replication tests (REPL_ARGS, then ``args``)."""
    return factory(args=[*REPL_ARGS, *[str(a) for a in args]], config=config, binary=binary)


def start_replica(factory, master, *args, binary=None):
    return start(factory, "--replicaof", HOST, master.port, *args, binary=binary)


def pair(factory, *replica_args, master_args=()):
    """A master and one synced replica; returns (m, r, mc, rc)."""
    m = start(factory, *master_args)
    r = start_replica(factory, m, *replica_args)
    mc, rc = m.client(), r.client()
    wait_link_up(rc)
    wait_online(mc, 1)
    return m, r, mc, rc


def wait_in_sync(master, replicas, timeout=20):
    """Wait until every replica has processed the master's whole stream.

    Compares the master's master_repl_offset with each replica's slave_repl_offset
    (both read fresh on each poll: the master's PINGs move its offset too).
    """

    def ok():
        want = int(repl_info(master)["master_repl_offset"])
        for r in replicas:
            info = repl_info(r)
            if info.get("master_link_status") != "up" or int(info["slave_repl_offset"]) != want:
                return False
        return int(repl_info(master)["master_repl_offset"]) == want

    wait_until(ok, timeout, interval=0.02, msg="replicas did not catch up with the master offset")


# -- busy scripts ----------------------------------------------------------


def start_in_thread(port, *args):
    """Sends one command (a long EVAL or FCALL) on its own connection from a
    thread; returns (thread, result): result["reply"] is the reply, the
    RespError, or the exception when the connection closed (SHUTDOWN NOSAVE)."""
    import threading

    result = {}
    conn = Client(port, timeout=30)

    def run():
        try:
            result["reply"] = conn.call(*args)
        except Exception as e:  # RespError, or the connection closed
            result["reply"] = e
        finally:
            conn.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def call_or_error(c, *args):
    """The reply, or an error reply as '-' + its text."""
    try:
        return c.call(*args)
    except RespError as e:
        return "-" + e.msg


def wait_busy(port, text, what="the script"):
    """Waits until a new connection's PING gets the BUSY `text`."""
    def busy():
        cl = Client(port)
        try:
            return call_or_error(cl, "PING") == "-" + text
        finally:
            cl.close()

    wait_until(busy, timeout=10, msg="%s never became busy" % what)


def read_json_line(proc, timeout):
    """The next JSON line a child process prints on stdout, within ``timeout`` seconds
    (the process is killed, and its stderr shown, if none comes)."""
    import json
    import threading

    result = {}

    def read():
        for line in proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                result["value"] = json.loads(line)
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    if "value" not in result:
        proc.kill()
        raise AssertionError("no JSON line from the process within %ss: %s" % (timeout, proc.stderr.read()))
    return result["value"]
