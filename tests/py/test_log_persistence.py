"""Log lines of persistence events, compared with Redis 7.0 text and level.

Each test triggers one event (loading an RDB or an AOF, a corrupt file, a
background save or rewrite, ...) and checks the exact log lines: text and
level mark ('#' warning, '*' notice, '-' verbose). Lines written by a fork
child (role 'C', Redis only) are left out.
"""

import os
import re
import struct

import pytest

from helpers import RespError, Server, wait_until

LINE = re.compile(r"^(\d+):([XCSM]) (\d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) ([.\-*#]) (.*)$")
AOF = ["--appendonly", "yes"]
INCR = "appendonly.aof.1.incr.aof"


def crc64(data):
    """Redis's CRC-64 (Jones polynomial, reflected)."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
    return crc


def records(text):
    """(mark, message) of every log line not written by a child."""
    out = []
    for raw in text.splitlines():
        m = LINE.match(raw)
        if m and m.group(2) != "C":
            out.append((m.group(4), m.group(5)))
    return out


def log_since(server, offset):
    return records(server.log()[offset:])


def find_seq(recs, expected):
    """Index in `recs` where the `expected` (mark, regex) entries appear as
    consecutive lines; fails with the log otherwise."""
    pats = [(mark, re.compile(rx + r"\Z")) for mark, rx in expected]
    for i in range(len(recs) - len(pats) + 1):
        if all(recs[i + j][0] == mark and pat.match(recs[i + j][1]) for j, (mark, pat) in enumerate(pats)):
            return i
    raise AssertionError("lines %r not found in order in:\n%s" % (expected, "\n".join("%s %s" % r for r in recs)))


def rdb_header_lines():
    return [
        ("*", r"Loading RDB produced by version [0-9.]+"),
        ("*", r"RDB age \d+ seconds"),
        ("*", r"RDB memory usage when created \d+\.\d\d Mb"),
    ]


def make_rdb(server_factory, args=(), setup=None):
    """An RDB file (bytes) saved by a server holding a few keys."""
    s = server_factory(args=list(args))
    c = s.client()
    if setup:
        setup(c)
    else:
        c.call("SET", "a", "1")
        c.call("SET", "b", "2")
    assert c.call("SAVE") == "OK"
    with open(os.path.join(s.dir, "dump.rdb"), "rb") as f:
        data = f.read()
    s.kill()
    return data


def run_with_rdb(data, args=(), expect_exit=True):
    """Starts a server on a dir holding `data` as dump.rdb; returns (server, records)."""
    s = Server(args=list(args))
    with open(os.path.join(s.dir, "dump.rdb"), "wb") as f:
        f.write(data)
    if expect_exit:
        s.spawn()
        rc = s.proc.wait(timeout=15)
        assert rc != 0
    else:
        s.start()
    return s, records(s.log())


@pytest.fixture
def cleanup():
    servers = []
    yield servers.append
    for s in servers:
        s.cleanup()


# -- §2: loading an RDB ------------------------------------------------------


def test_rdb_load_lines_at_startup(server_factory, cleanup):
    data = make_rdb(server_factory)
    s, recs = run_with_rdb(data, expect_exit=False)
    cleanup(s)
    find_seq(
        recs,
        rdb_header_lines()
        + [
            ("*", r"Done loading RDB, keys loaded: 2, keys expired: 0\."),
            ("*", r"DB loaded from disk: \d+\.\d{3} seconds"),
        ],
    )


def test_debug_reload_lines(server_factory):
    s = server_factory(args=["--enable-debug-command", "yes"])
    c = s.client()
    c.call("SET", "a", "1")
    start = len(s.log())
    assert c.call("DEBUG", "RELOAD") == "OK"
    find_seq(
        log_since(s, start),
        [("*", r"DB saved on disk")]
        + rdb_header_lines()
        + [
            ("*", r"Done loading RDB, keys loaded: 1, keys expired: 0\."),
            ("#", r"DB reloaded by DEBUG RELOAD"),
        ],
    )


# -- §3: corrupt RDB files ---------------------------------------------------


def test_rdb_checksum_mismatch(server_factory, cleanup):
    data = make_rdb(server_factory)
    stored = struct.unpack("<Q", data[-8:])[0]
    bad = stored ^ 0x1234
    s, recs = run_with_rdb(data[:-8] + struct.pack("<Q", bad))
    cleanup(s)
    find_seq(
        recs,
        [
            ("#", r"Wrong RDB checksum expected: \(%x\) but got \(%x\)\. Aborting now\." % (stored, bad)),
            ("#", r"Internal error in RDB reading offset 0, function at rdb\.c:\d+ -> RDB CRC error"),
        ],
    )
    assert not any("Fatal error loading the DB" in m for _, m in recs)


def test_rdb_truncated(server_factory, cleanup):
    data = make_rdb(server_factory)
    s, recs = run_with_rdb(data[:-12])
    cleanup(s)
    find_seq(
        recs,
        [
            ("#", r"Short read or OOM loading DB\. Unrecoverable error, aborting now\."),
            ("#", r"Internal error in RDB reading offset 0, function at rdb\.c:\d+ -> Unexpected EOF reading RDB file"),
        ],
    )
    find_seq(recs, rdb_header_lines())


def test_rdb_wrong_signature(cleanup):
    s, recs = run_with_rdb(b"XEDIS0010" + b"\xff" + b"\0" * 8)
    cleanup(s)
    find_seq(
        recs,
        [
            ("#", r"Wrong signature trying to load DB from file"),
            ("#", r"Fatal error loading the DB: Invalid argument\. Exiting\."),
        ],
    )


def test_rdb_unsupported_version(cleanup):
    s, recs = run_with_rdb(b"REDIS0011" + b"\xff" + b"\0" * 8)
    cleanup(s)
    find_seq(
        recs,
        [
            ("#", r"Can't handle RDB format version 11"),
            ("#", r"Fatal error loading the DB: Invalid argument\. Exiting\."),
        ],
    )


def test_rdb_checksum_disabled(server_factory, cleanup):
    data = make_rdb(server_factory, args=["--rdbchecksum", "no"])
    assert data[-8:] == b"\0" * 8
    s, recs = run_with_rdb(data, expect_exit=False)
    cleanup(s)
    find_seq(
        recs,
        [
            ("#", r"RDB file was saved with checksum disabled: no check performed\."),
            ("*", r"Done loading RDB, keys loaded: 2, keys expired: 0\."),
        ],
    )


def test_rdb_too_many_databases(server_factory, cleanup):
    def setup(c):
        c.call("SELECT", "5")
        c.call("SET", "k", "v")

    data = make_rdb(server_factory, setup=setup)
    s, recs = run_with_rdb(data, args=["--databases", "2"])
    cleanup(s)
    msg = "FATAL: Data file was created with a Redis server configured to handle more than 2 databases. Exiting"
    assert ("#", msg) in recs
    # The format ends with a newline of its own: an empty line follows.
    raw = s.log().splitlines()
    at = next(i for i, line in enumerate(raw) if line.endswith(msg))
    assert raw[at + 1] == ""


def test_restore_corrupt_payload_logs_at_verbose(server_factory):
    s = server_factory(args=["--loglevel", "verbose"])
    c = s.client()
    body = b"\x00\xc7" + b"\x0a\x00"  # a string with string encoding 7, RDB version 10
    payload = body + struct.pack("<Q", crc64(body))
    start = len(s.log())
    with pytest.raises(RespError) as e:
        c.call("RESTORE", "k", "0", payload)
    assert e.value.msg == "ERR Bad data format"
    find_seq(
        log_since(s, start),
        [("-", r"Internal error in RDB reading offset 0, function at rdb\.c:\d+ -> Unknown RDB string encoding type 7")],
    )


# -- §4: loading an AOF ------------------------------------------------------


def aof_server(server_factory, extra=(), setup=None):
    """A server with an AOF (base + incr); killed, ready to be restarted."""
    s = server_factory(args=AOF + list(extra))
    if setup:
        setup(s.client())
    s.kill()
    return s


def append_incr(s, data):
    with open(os.path.join(s.dir, "appendonlydir", INCR), "ab") as f:
        f.write(data)


def restart_expect_exit(s):
    start = len(s.log())
    s.spawn(port=s.port)
    rc = s.proc.wait(timeout=15)
    assert rc != 0
    return log_since(s, start)


def test_aof_load_lines(server_factory):
    s = aof_server(server_factory, setup=lambda c: c.call("SET", "a", "1"))
    start = len(s.log())
    s.start(port=s.port)
    recs = log_since(s, start)
    find_seq(
        recs,
        [("*", r"Reading RDB base file on AOF loading\.\.\.")]
        + rdb_header_lines()
        + [
            ("*", r"RDB is base AOF"),
            ("*", r"Done loading RDB, keys loaded: 0, keys expired: 0\."),
            ("*", r"DB loaded from base file appendonly\.aof\.1\.base\.rdb: \d+\.\d{3} seconds"),
            ("*", r"DB loaded from incr file appendonly\.aof\.1\.incr\.aof: \d+\.\d{3} seconds"),
        ],
    )
    find_seq(
        recs,
        [
            ("*", r"DB loaded from append only file: \d+\.\d{3} seconds"),
            ("*", r"Opening AOF incr file appendonly\.aof\.1\.incr\.aof on server start"),
        ],
    )
    assert s.client().call("GET", "a") == b"1"


def test_aof_truncated_rdb_base(server_factory):
    s = aof_server(server_factory)
    base = os.path.join(s.dir, "appendonlydir", "appendonly.aof.1.base.rdb")
    with open(base, "rb") as f:
        data = f.read()
    with open(base, "wb") as f:
        f.write(data[:-9])  # no EOF opcode, no checksum
    recs = restart_expect_exit(s)
    find_seq(
        recs,
        [("*", r"Reading RDB base file on AOF loading\.\.\.")]
        + rdb_header_lines()
        + [
            ("*", r"RDB is base AOF"),
            ("#", r"Short read or OOM loading DB\. Unrecoverable error, aborting now\."),
            ("#", r"Internal error in RDB reading offset 0, function at rdb\.c:\d+ -> Unexpected EOF reading RDB file"),
        ],
    )


def test_aof_bad_manifest(server_factory):
    s = aof_server(server_factory)
    manifest = os.path.join(s.dir, "appendonlydir", "appendonly.aof.manifest")
    with open(manifest, "a") as f:
        f.write("file appendonly.aof.1.incr.aof seq 1 type x\n")
    start = len(s.log())
    restart_expect_exit(s)
    # Four warning records whose formats end with a newline (the first one
    # starts with one too): each is followed by an empty line.
    p = r"\d+:M \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} # "
    expected = (
        p + r"\n\*\*\* FATAL AOF MANIFEST FILE ERROR \*\*\*\n\n"
        + p + r"Reading the manifest file, at line 3\n\n"
        + p + r">>> 'file appendonly\.aof\.1\.incr\.aof seq 1 type x'\n\n"
        + p + r"Unknown AOF file type\n\n"
    )
    assert re.search(expected, s.log()[start:]), s.log()[start:]


def test_aof_truncated_loaded_anyway(server_factory):
    s = aof_server(server_factory, setup=lambda c: c.call("SET", "a", "1"))
    path = os.path.join(s.dir, "appendonlydir", INCR)
    good = os.path.getsize(path)
    append_incr(s, b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$3\r\nxy")
    start = len(s.log())
    s.start(port=s.port)
    find_seq(
        log_since(s, start),
        [
            ("#", r"!!! Warning: short read while loading the AOF file %s!!!" % re.escape(INCR)),
            ("#", r"!!! Truncating the AOF %s at offset %d !!!" % (re.escape(INCR), good)),
            ("#", r"AOF %s loaded anyway because aof-load-truncated is enabled" % re.escape(INCR)),
            ("*", r"DB loaded from incr file %s: \d+\.\d{3} seconds" % re.escape(INCR)),
        ],
    )
    assert os.path.getsize(path) == good


def test_aof_truncated_fatal(server_factory):
    s = aof_server(server_factory, extra=["--aof-load-truncated", "no"])
    append_incr(s, b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$3\r\nxy")
    recs = restart_expect_exit(s)
    find_seq(
        recs,
        [
            (
                "#",
                re.escape(
                    "Unexpected end of file reading the append only file %s. You can: "
                    "1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. "
                    "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server." % INCR
                ),
            )
        ],
    )


def test_aof_bad_format(server_factory):
    s = aof_server(server_factory)
    append_incr(s, b"garbage\r\n")
    recs = restart_expect_exit(s)
    find_seq(
        recs,
        [
            (
                "#",
                re.escape(
                    "Bad file format reading the append only file %s: make a backup of your AOF file, "
                    "then use ./redis-check-aof --fix <filename.manifest>" % INCR
                ),
            )
        ],
    )


def test_aof_unknown_command(server_factory):
    s = aof_server(server_factory)
    append_incr(s, b"*1\r\n$7\r\nFOOBARX\r\n")
    recs = restart_expect_exit(s)
    find_seq(recs, [("#", re.escape("Unknown command 'FOOBARX' reading the append only file %s" % INCR))])


def test_aof_command_error_is_not_fatal(server_factory):
    s = aof_server(server_factory)
    append_incr(
        s,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabc\r\n"
        b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
        b"*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$1\r\nx\r\n"
        b"*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n",
    )
    start = len(s.log())
    s.start(port=s.port)
    find_seq(
        log_since(s, start),
        [
            (
                "#",
                re.escape(
                    "== CRITICAL == This server is sending an error to its AOF-loading-client: "
                    "'value is not an integer or out of range' after processing the command 'incr'"
                ),
            ),
            (
                "#",
                re.escape(
                    "== CRITICAL == This server is sending an error to its AOF-loading-client: "
                    "'-WRONGTYPE Operation against a key holding the wrong kind of value' "
                    "after processing the command 'lpush'"
                ),
            ),
            ("*", r"DB loaded from incr file %s: \d+\.\d{3} seconds" % re.escape(INCR)),
        ],
    )
    assert s.client().call("GET", "k2") == b"v"


# -- §9: BGSAVE, BGREWRITEAOF, AOF on/off ------------------------------------


def test_bgsave_lines(server):
    c = server.client()
    c.call("SET", "a", "1")
    start = len(server.log())
    assert c.call("BGSAVE") == "Background saving started"
    wait_until(lambda: "Background saving terminated" in server.log()[start:], msg="bgsave end")
    recs = log_since(server, start)
    find_seq(recs, [("*", r"Background saving started by pid \d+")])
    find_seq(recs, [("*", r"Background saving terminated with success")])


def test_bgrewriteaof_lines(server_factory):
    s = server_factory(args=AOF)
    c = s.client()
    c.call("SET", "a", "1")
    start = len(s.log())
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_until(lambda: "Background AOF rewrite finished" in s.log()[start:], msg="rewrite end")
    recs = log_since(s, start)
    find_seq(
        recs,
        [
            ("*", r"Creating AOF incr file appendonly\.aof\.2\.incr\.aof on background rewrite"),
            ("*", r"Background append only file rewriting started by pid \d+"),
        ],
    )
    find_seq(
        recs,
        [
            ("*", r"Background AOF rewrite terminated with success"),
            (
                "*",
                r"Successfully renamed the temporary AOF base file temp-rewriteaof-bg-\d+\.aof "
                r"into appendonly\.aof\.2\.base\.rdb",
            ),
            ("*", r"Removing the history file appendonly\.aof\.1\.incr\.aof in the background"),
            ("*", r"Removing the history file appendonly\.aof\.1\.base\.rdb in the background"),
            ("*", r"Background AOF rewrite finished successfully"),
        ],
    )


def test_config_set_appendonly_lines(server):
    c = server.client()
    c.call("SET", "a", "1")
    start = len(server.log())
    assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    wait_until(lambda: "Background AOF rewrite finished" in server.log()[start:], msg="rewrite end")
    recs = log_since(server, start)
    find_seq(
        recs,
        [
            ("*", r"Creating AOF incr file temp-appendonly\.aof\.incr on background rewrite"),
            ("*", r"Background append only file rewriting started by pid \d+"),
        ],
    )
    find_seq(
        recs,
        [
            ("*", r"Background AOF rewrite terminated with success"),
            (
                "*",
                r"Successfully renamed the temporary AOF base file temp-rewriteaof-bg-\d+\.aof "
                r"into appendonly\.aof\.1\.base\.rdb",
            ),
            (
                "*",
                r"Successfully renamed the temporary AOF incr file temp-appendonly\.aof\.incr "
                r"into appendonly\.aof\.1\.incr\.aof",
            ),
            ("*", r"Background AOF rewrite finished successfully"),
        ],
    )
    # Turning it off logs nothing.
    start = len(server.log())
    assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
    assert c.call("PING") == "PONG"
    assert log_since(server, start) == []
