#!/usr/bin/env python3
"""A TCP fault proxy: forwards a listening port to a target port, with injectable faults.

Modes (switchable at any time, from any thread):

* ``pass``  - forward bytes both ways (the normal state).
* ``reset`` - abort every open connection with a TCP RST (both the client side and the
  upstream side) and stop listening, so new connections are refused (ECONNREFUSED)
  until the mode changes again.
* ``hang``  - keep every connection open but stop forwarding in both directions; new
  connections are accepted and held silently (not connected upstream). Bytes already
  received stay buffered. Back in ``pass``, held connections are connected upstream
  and everything buffered is delivered, like a network path that was black-holing
  packets and heals before TCP gives up.

Every proxy runs in one asyncio event loop on a background thread
(:class:`ProxyLoop`); :class:`FaultProxy` methods are thread-safe.

Standalone use (a control port takes one command per line: pass / reset / hang / status)::

    python3 faultproxy.py --listen 7000 --target 6379 [--control 7001]
    exec 3<>/dev/tcp/127.0.0.1/7001; echo hang >&3; head -n1 <&3

Standard library only.
"""

import argparse
import asyncio
import socket
import struct
import threading
import time

MODES = ("pass", "reset", "hang")


def _rst(writer):
    """Close a stream's socket with an RST (SO_LINGER 0), without flushing."""
    if writer is None:
        return
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        writer.transport.abort()
    except Exception:
        pass


class ProxyLoop:
    """One asyncio event loop on a daemon thread, shared by several proxies."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="faultproxy-loop", daemon=True)
        self._thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro, timeout=10.0):
        """Run a coroutine on the loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        if self.loop.is_closed():
            return

        async def _shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(_shutdown(), timeout=5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


class _Conn:
    __slots__ = ("creader", "cwriter", "ureader", "uwriter", "task")

    def __init__(self, creader, cwriter):
        self.creader, self.cwriter = creader, cwriter
        self.ureader = self.uwriter = None
        self.task = None


class FaultProxy:
    """Listens on 127.0.0.1:listen_port (0 = pick a free one) and forwards to target."""

    def __init__(self, ploop, target_port, listen_port=0, name="", target_host="127.0.0.1",
                 host="127.0.0.1"):
        self.ploop = ploop
        self.host = host
        self.target = (target_host, target_port)
        self.name = name or "proxy->%d" % target_port
        self.mode = "pass"
        self.conns = set()
        self.server = None
        self.port = listen_port
        self.stats = {"accepted": 0, "refused_upstream": 0, "resets": 0, "bytes": 0}
        self._passing = None  # asyncio.Event, created on the loop
        self.ploop.call(self._start())

    # ----- public, thread-safe -----

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError("unknown proxy mode %r" % mode)
        self.ploop.call(self._set_mode(mode))

    def close(self):
        try:
            self.ploop.call(self._close())
        except Exception:
            pass

    # ----- loop side -----

    async def _start(self):
        self._passing = asyncio.Event()
        self._passing.set()
        await self._listen()

    async def _listen(self):
        deadline = time.monotonic() + 5
        while True:
            try:
                self.server = await asyncio.start_server(
                    self._handle, self.host, self.port, reuse_address=True, backlog=512)
                break
            except OSError:
                # re-binding after a reset: the port is ours, but retry briefly
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _set_mode(self, mode):
        old, self.mode = self.mode, mode
        if mode == "pass":
            if self.server is None:
                await self._listen()
            self._passing.set()
        elif mode == "hang":
            self._passing.clear()
            if self.server is None:
                await self._listen()
        elif mode == "reset":
            self._passing.clear()
            if self.server is not None:
                self.server.close()
                self.server = None
            self.stats["resets"] += 1
            for c in list(self.conns):
                self._abort(c)
        return old

    def _abort(self, c):
        _rst(c.cwriter)
        _rst(c.uwriter)
        if c.task is not None:
            c.task.cancel()
        self.conns.discard(c)

    async def _close(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for c in list(self.conns):
            self._abort(c)

    async def _handle(self, creader, cwriter):
        if self.mode == "reset":  # raced with a reset
            _rst(cwriter)
            return
        c = _Conn(creader, cwriter)
        c.task = asyncio.current_task()
        self.conns.add(c)
        self.stats["accepted"] += 1
        try:
            await self._passing.wait()  # hang: hold the new connection silently
            try:
                c.ureader, c.uwriter = await asyncio.wait_for(
                    asyncio.open_connection(*self.target), 5)
            except (OSError, asyncio.TimeoutError):
                self.stats["refused_upstream"] += 1
                _rst(cwriter)
                return
            up = asyncio.ensure_future(self._pump(c.creader, c.uwriter))
            down = asyncio.ensure_future(self._pump(c.ureader, c.cwriter))
            try:
                await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            finally:
                up.cancel()
                down.cancel()
        except asyncio.CancelledError:
            pass
        finally:
            self.conns.discard(c)
            for w in (c.cwriter, c.uwriter):
                if w is not None:
                    try:
                        w.close()
                    except Exception:
                        pass

    async def _pump(self, reader, writer):
        try:
            while True:
                await self._passing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await self._passing.wait()  # hung while this chunk was in flight: hold it
                writer.write(data)
                self.stats["bytes"] += len(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--control", type=int, default=0,
                    help="control port (one command per line: pass, reset, hang, status)")
    args = ap.parse_args()
    ploop = ProxyLoop()
    proxy = FaultProxy(ploop, args.target, args.listen, target_host=args.target_host)
    print("proxy 127.0.0.1:%d -> %s:%d" % (proxy.port, args.target_host, args.target), flush=True)
    if args.control:
        srv = socket.create_server(("127.0.0.1", args.control), reuse_port=False)
        print("control on 127.0.0.1:%d" % args.control, flush=True)
    try:
        while True:
            if not args.control:
                time.sleep(3600)
                continue
            conn, _ = srv.accept()
            with conn, conn.makefile("rw") as f:
                for line in f:
                    cmd = line.strip().lower()
                    if cmd in MODES:
                        proxy.set_mode(cmd)
                        f.write("OK %s\n" % cmd)
                    elif cmd == "status":
                        f.write("%s conns=%d %r\n" % (proxy.mode, len(proxy.conns), proxy.stats))
                    elif cmd:
                        f.write("ERR unknown command\n")
                    f.flush()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.close()
        ploop.close()


if __name__ == "__main__":
    main()
