"""Comparison rules of the differential tester.

Owns *how* two servers' observations are judged equal: the per-command reply
rule (``rule_for``), reply comparison with the tolerances Redis leaves free,
replication-stream parsing/normalisation, keyspace-notification filtering,
and the ``Divergence`` record with its dedup signature.  Every rule here is
listed, with the reason, in NONDETERMINISM.md.
"""

import fnmatch
import re
from dataclasses import dataclass, field

from resp import Incomplete, parse

# A relative TTL is set on each server a few ms apart (lockstep, one server after
# the other); the query is too.  PTTL/PEXPIRETIME and absolute ms instants in the
# replication stream may differ by that much; TTL/EXPIRETIME by one (rounding).
TOL_MS = 1000
TOL_S = 1
MARKER_DB = 15
MARKER_KEY = b"__diffmark__"

# ---------------------------------------------------------------------------
# divergences
# ---------------------------------------------------------------------------


@dataclass
class Divergence:
    kind: str  # reply | notify | bmsg | stream | digest | keys | encoding | property | handshake | crash | unimplemented
    step: int  # index in the sequence, -1 for end-of-sequence checks / handshake
    command: list  # the command's args (bytes), or []
    redis: object  # what Redis did (bytes / str / list)
    redust: object  # what redust did
    detail: str = ""
    known: str = ""  # the allowlist line that matched, if any
    sig: str = ""  # "CMD:shape|shape" part of the signature when it is not the command's (EXEC elements)
    seed: int = 0
    repro: list = field(default_factory=list)  # the shrunk transcript (filled in by the shrinker)

    def cmd_name(self):
        if not self.command:
            return "-"
        a = self.command[0]
        return (a if isinstance(a, bytes) else str(a).encode()).decode("latin-1").upper()

    def signature(self):
        """kind:COMMAND:shape, used to deduplicate and to match the allowlist."""
        if self.sig:
            return "%s:%s" % (self.kind, self.sig)
        if self.kind in ("reply", "property"):
            return "%s:%s:%s|%s" % (self.kind, self.cmd_name(), shape(self.redis), shape(self.redust))
        if self.kind in ("digest", "keys", "encoding"):
            return "%s:%s" % (self.kind, self.detail)
        return "%s:%s" % (self.kind, self.cmd_name())

    def state_neutral(self):
        """Divergences after which the two keyspaces are still alike (safe to go on)."""
        if self.kind in ("notify", "stream", "bmsg", "encoding"):
            return True
        if self.kind == "reply" and isinstance(self.redis, bytes) and isinstance(self.redust, bytes):
            return self.redis[:1] == b"-" and self.redust[:1] == b"-"
        return False


def shape(x):
    """The kind of a reply: type byte, and for errors the message with numbers blanked."""
    if not isinstance(x, (bytes, bytearray)):
        return str(x)[:40]
    if not x:
        return "<empty>"
    if x[:1] == b"-":
        msg = x[1:].split(b"\r\n")[0].decode("latin-1")
        msg = re.sub(r"'[^']*'", "'*'", msg)  # quoted command names / args
        msg = re.sub(r"\d+", "N", msg)
        return "-" + msg[:60]
    return x[:1].decode("latin-1")


def load_allowlist(path):
    """Lines ``<glob on the signature>  # reason``; blank lines and comment-only lines ignored."""
    pats = []
    if not path:
        return pats
    with open(path) as f:
        for line in f:
            body = line.split("#", 1)[0].strip()
            if body:
                pats.append((body, line.strip()))
    return pats


def match_allowlist(div, pats):
    sig = div.signature()
    for pat, line in pats:
        if fnmatch.fnmatchcase(sig, pat):
            return line
    return ""


# ---------------------------------------------------------------------------
# reply rules
# ---------------------------------------------------------------------------

UNORDERED = {"SINTER", "SUNION", "SDIFF", "KEYS", "CONFIG"}
ENC_ORDERED = {"SMEMBERS", "HGETALL", "HKEYS", "HVALS"}  # exact on listpack/intset, unordered on hashtable
RANDOM = {"SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "RANDOMKEY"}
SCAN = {"SCAN", "SSCAN", "HSCAN", "ZSCAN"}


def upper(a):
    return (a if isinstance(a, bytes) else str(a).encode()).upper()


def rule_for(args):
    """The comparison rule for one command's reply (see NONDETERMINISM.md)."""
    if not args:
        return "exact"
    name = upper(args[0]).decode("latin-1")
    sub = upper(args[1]).decode("latin-1") if len(args) > 1 else ""
    if name in UNORDERED:
        return "unordered" if name != "CONFIG" or sub == "GET" else "exact"
    if name == "PUBSUB" and sub == "CHANNELS":
        return "unordered"
    if name in ENC_ORDERED:
        return "enc_ordered"
    if name in RANDOM:
        return "random"
    if name in SCAN:
        return "scan"
    if name == "SPOP":
        return "spop"
    if name in ("TTL", "EXPIRETIME"):
        return "tol_s"
    if name in ("PTTL", "PEXPIRETIME"):
        return "tol_ms"
    if name == "OBJECT" and sub in ("IDLETIME", "FREQ"):
        return "type_only"
    if name == "HELLO":
        return "hello"
    if name == "EXEC":
        return "exec"
    if name == "DUMP":
        return "dump"
    if name in ("SORT", "SORT_RO"):
        return sort_rule(args)
    return "exact"


def sort_rule(args):
    """SORT is free in order for BY nosort (set order) and for ties under BY+ALPHA."""
    words = [upper(a) for a in args[2:]]
    by = None
    for i, w in enumerate(words[:-1]):
        if w == b"BY":
            by = words[i + 1]
    alpha = b"ALPHA" in words
    if by is None or not (by == b"NOSORT" or alpha):
        return "exact"
    ngets = sum(1 for w in words if w == b"GET")
    return "sort_len" if b"LIMIT" in words else "sort_free_%d" % max(1, ngets)


def scalar_int(r):
    if r.kind in ":(" and isinstance(r.val, int):
        return r.val
    return None


def multiset(r, chunk=1):
    """Sorted element raws of an aggregate (map entries as pairs, or chunks of ``chunk``)."""
    items = [c.raw for c in r.val]
    n = 2 if r.kind == "%" else chunk
    groups = [b"".join(items[i:i + n]) for i in range(0, len(items), n)]
    return sorted(groups)


def compare_reply(rule, a, b, queued=None):
    """None if replies ``a`` (Redis) and ``b`` (redust) agree under ``rule``, else a reason."""
    if a.raw == b.raw:
        return None
    if a.is_error() or b.is_error() or a.kind != b.kind:
        return "differ"
    if rule in ("unordered", "enc_unordered") or rule.startswith("sort_free_"):
        if not (a.is_aggregate() and b.is_aggregate()):
            return "differ"
        chunk = int(rule.rsplit("_", 1)[1]) if rule.startswith("sort_free_") else 1
        if len(a.val) == len(b.val) and multiset(a, chunk) == multiset(b, chunk):
            return None
        return "differ (as unordered collections)"
    if rule == "sort_len":
        if a.is_aggregate() and b.is_aggregate() and len(a.val) == len(b.val):
            return None
        return "differ (length)"
    if rule in ("tol_s", "tol_ms"):
        x, y = scalar_int(a), scalar_int(b)
        tol = TOL_S if rule == "tol_s" else TOL_MS
        if x is not None and y is not None and x >= 0 and y >= 0 and abs(x - y) <= tol:
            return None
        return "differ (beyond tolerance %d)" % tol
    if rule == "dump":
        return compare_dump(a, b)
    if rule in ("type_only", "random", "scan", "spop"):
        # random/scan/spop: the runner's normalised value and property checks judge the content
        return None if a.kind == b.kind else "differ (type)"
    if rule == "hello":
        return None if hello_norm(a) == hello_norm(b) else "differ"
    if rule == "exec" and queued is not None and a.is_aggregate() and b.is_aggregate():
        if len(a.val) != len(b.val):
            return "differ (EXEC length)"
        for i, (x, y) in enumerate(zip(a.val, b.val)):
            r = rule_for(queued[i]) if i < len(queued) else "exact"
            r = {"enc_ordered": "unordered", "random": "exact", "scan": "exact", "spop": "exact"}.get(r, r)
            why = compare_reply(r, x, y)
            if why:
                return "EXEC element %d (%s) %s" % (i, b" ".join(upper(q) if j == 0 else q for j, q in enumerate(queued[i][:4])).decode("latin-1") if i < len(queued) else "?", why)
        return None
    return "differ"


RDB_TYPE_SET, RDB_TYPE_HASH = 2, 4


def compare_dump(a, b):
    """DUMP of a hash-table set or hash serialises in hash order: same type, length, version.
    Other payloads must be the same once every LZF-compressed string is expanded (Redis's
    liblzf reads a hash table it never clears, so whether a string compresses can depend on
    what the process compressed before)."""
    x, y = a.val, b.val
    if not (isinstance(x, bytes) and isinstance(y, bytes) and x and y):
        return "differ"
    if x[0] == y[0] and x[0] in (RDB_TYPE_SET, RDB_TYPE_HASH) and len(x) == len(y) and x[-10:-8] == y[-10:-8]:
        return None
    ex, ey = expand_dump(x), expand_dump(y)
    if ex is not None and ex == ey:
        return None
    return "differ"


def lzf_decompress(data, out_len):
    """liblzf's format: literal runs and back references."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        i += 1
        if c < 32:
            out += data[i:i + c + 1]
            i += c + 1
        else:
            n = c >> 5
            if n == 7:
                n += data[i]
                i += 1
            ref = len(out) - ((c & 0x1f) << 8) - data[i] - 1
            i += 1
            for _ in range(n + 2):
                out.append(out[ref])
                ref += 1
    return bytes(out) if len(out) == out_len else None


def rdb_len(p, i):
    """An RDB length at p[i:]: (value, next index, special encoding or None)."""
    t = p[i] >> 6
    if t == 0:
        return p[i] & 0x3f, i + 1, None
    if t == 1:
        return ((p[i] & 0x3f) << 8) | p[i + 1], i + 2, None
    if t == 3:
        return p[i] & 0x3f, i + 1, p[i] & 0x3f
    if p[i] == 0x80:
        return int.from_bytes(p[i + 1:i + 5], "big"), i + 5, None
    return int.from_bytes(p[i + 1:i + 9], "big"), i + 9, None


def rdb_string(p, i):
    """An RDB string at p[i:], expanded: (bytes, next index)."""
    n, i, enc = rdb_len(p, i)
    if enc is None:
        return p[i:i + n], i + n
    if enc in (0, 1, 2):
        size = 1 << enc
        return int.from_bytes(p[i:i + size], "little", signed=True), i + size
    clen, i, _ = rdb_len(p, i)
    ulen, i, _ = rdb_len(p, i)
    return lzf_decompress(p[i:i + clen], ulen), i + clen


def expand_dump(p):
    """The payload's type and its strings, expanded, for the one-string encodings (string,
    intset, listpacks) and quicklists; None for the rest."""
    try:
        t, i = p[0], 1
        if t in (0, 11, 16, 17):
            value, i = rdb_string(p, i)
            # What follows is the RDB version, then a CRC of the bytes as written.
            return (t, value, p[i:i + 2])
        if t == 18:
            n, i, _ = rdb_len(p, i)
            nodes = []
            for _ in range(n):
                container, i, _ = rdb_len(p, i)
                value, i = rdb_string(p, i)
                nodes.append((container, value))
            return (t, nodes, p[i:i + 2])
    except (IndexError, TypeError):
        return None
    return None


def nested_push(r):
    """True if a push message sits inside an aggregate reply (a Redis 7.0 bug with BZMPOP/BLMPOP)."""
    return r.is_aggregate() and any(c.kind == ">" or nested_push(c) for c in r.val)


def exec_signature(a, b, queued):
    """For a divergent EXEC: 'EXEC/<queued command>:shape|shape' of the first differing element."""
    if not (a.is_aggregate() and b.is_aggregate() and queued and len(a.val) == len(b.val)):
        return ""
    for i, (x, y) in enumerate(zip(a.val, b.val)):
        if i < len(queued) and x.raw != y.raw:
            name = upper(queued[i][0]).decode("latin-1")
            return "EXEC/%s:%s|%s" % (name, shape(x.raw), shape(y.raw))
    return ""


def hello_norm(r):
    """HELLO's map with the connection id blanked (ids are per-server counters)."""
    if not r.is_aggregate():
        return r.raw
    out = []
    vals = r.val
    for i in range(0, len(vals) - 1, 2):
        k, v = vals[i], vals[i + 1]
        out.append((k.raw, b"<id>" if k.val == b"id" else v.raw))
    return out


# ---------------------------------------------------------------------------
# element helpers for property checks
# ---------------------------------------------------------------------------


def flat_elements(r):
    """Aggregate -> list of element raws, with RESP3 nested pairs flattened."""
    out = []
    for c in r.val or []:
        if c.is_aggregate():
            out.extend(x.raw for x in c.val)
        else:
            out.append(c.raw)
    return out


def pairs(r):
    """Map / flat pair array / array of pairs -> list of (raw, raw)."""
    if r.kind == "%":
        v = r.val
        return [(v[i].raw, v[i + 1].raw) for i in range(0, len(v), 2)]
    els = flat_elements(r)
    return [(els[i], els[i + 1]) for i in range(0, len(els) - 1, 2)]


# ---------------------------------------------------------------------------
# replication stream
# ---------------------------------------------------------------------------

DB_FREE = {b"MULTI", b"EXEC", b"FLUSHALL", b"SWAPDB", b"PUBLISH"}


def parse_stream(data):
    """The command stream bytes -> list of arg tuples (multibulk commands)."""
    cmds = []
    pos = 0
    while pos < len(data):
        if data[pos:pos + 1] == b"\n":  # keepalive newline
            pos += 1
            continue
        try:
            rep, pos = parse(data, pos)
        except Incomplete:
            cmds.append((b"<truncated>", bytes(data[pos:pos + 80])))
            break
        if rep.kind == "*" and rep.val is not None:
            cmds.append(tuple(c.val if isinstance(c.val, bytes) else c.raw for c in rep.val))
        else:
            cmds.append((b"<non-command>", rep.raw))
    return cmds


class StreamState:
    """Tracks the stream's SELECTed DB so commands become (db, args)."""

    def __init__(self):
        self.db = 0

    def normalise(self, cmds):
        out = []
        for c in cmds:
            name = c[0].upper()
            if name == b"SELECT" and len(c) == 2:
                try:
                    self.db = int(c[1])
                except ValueError:
                    pass
                continue
            if name == b"PING" or name == b"REPLCONF":
                continue
            if self.db == MARKER_DB and name == b"SET" and len(c) > 1 and c[1] == MARKER_KEY:
                continue
            if name == b"PUBLISH" and len(c) > 1 and c[1] == MARKER_KEY:
                continue
            out.append((None if name in DB_FREE else self.db, c))
        return out


def _is_instant(x):
    try:
        v = int(x)
    except ValueError:
        return None
    return v if v >= 10 ** 9 else None


def stream_cmd_equal(a, b):
    (dba, ca), (dbb, cb) = a, b
    if dba != dbb or len(ca) != len(cb):
        return False
    for x, y in zip(ca, cb):
        if x == y:
            continue
        vx, vy = _is_instant(x), _is_instant(y)
        if vx is None or vy is None:
            return False
        tol = TOL_MS if vx >= 10 ** 12 else TOL_S + 1
        if abs(vx - vy) > tol:
            return False
    return True


def _sort_key(entry):
    db, c = entry
    return (-1 if db is None else db, tuple(b"<T>" if _is_instant(x) else x for x in c))


def compare_stream(a, b, ordered=True, names_only=False):
    """None if the normalised streams agree, else (reason, "NAME|NAME" of the first differing commands)."""
    if not ordered:
        a, b = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
    if names_only:
        def same(x, y):
            return (x[0], x[1][0].upper(), x[1][1:2], len(x[1])) == (y[0], y[1][0].upper(), y[1][1:2], len(y[1]))
        why = "differ (command names)"
    else:
        same, why = stream_cmd_equal, "differ"
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x is None or y is None or not same(x, y):
            def name(e):
                return "<none>" if e is None else e[1][0].upper().decode("latin-1")
            return why, "%s|%s" % (name(x), name(y))
    return None


def render_stream(entries):
    from gen import quote
    out = []
    for db, c in entries:
        out.append(("[db%s] " % db if db is not None else "") + " ".join(quote(x) for x in c))
    return out


# ---------------------------------------------------------------------------
# notifications
# ---------------------------------------------------------------------------


def message_channel(r):
    """The channel of a pub/sub message reply, or None for other replies."""
    if not r.is_aggregate() or len(r.val) < 3:
        return None
    kind = r.val[0].val
    if kind == b"message" and len(r.val) == 3:
        return r.val[1].val
    if kind == b"pmessage" and len(r.val) == 4:
        return r.val[2].val
    return None


def is_marker_message(r):
    ch = message_channel(r)
    return ch is not None and (b"@%d__" % MARKER_DB) in ch


def normalise_messages(replies):
    """Raw messages, with each run of deliveries of one publication sorted.

    Redis delivers a message to the matching patterns in its pattern dict's
    hash order, so the pmessages of one publication (same channel and payload,
    consecutive) may come in any order.
    """
    out = []
    run, run_key = [], None
    for r in replies:
        ch = message_channel(r)
        key = (ch, r.val[-1].raw) if ch is not None else None
        if key is None or key != run_key:
            out.extend(sorted(run))
            run = []
        run.append(r.raw)
        run_key = key
    out.extend(sorted(run))
    return out


def event_name(raw):
    """The event of a keyspace message ('set' from __keyspace@0__:k or __keyevent@0__:set), else the channel."""
    try:
        r, _ = parse(raw)
    except Exception:  # noqa: BLE001 - not a message
        return "?"
    ch = message_channel(r)
    if ch is None:
        return r.raw[:1].decode("latin-1")
    if ch.startswith(b"__keyspace@"):
        return r.val[-1].val.decode("latin-1")
    if ch.startswith(b"__keyevent@"):
        return ch.split(b":", 1)[1].decode("latin-1")
    return "message"


def compare_messages(a, b, ordered=True):
    """None if the message lists agree, else (reason, "EVENT|EVENT" of the first differing messages)."""
    if not ordered:
        a, b = sorted(a), sorted(b)
    if a == b:
        return None
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            return "differ", "%s|%s" % ("<none>" if x is None else event_name(x), "<none>" if y is None else event_name(y))
    return "differ", "?|?"
