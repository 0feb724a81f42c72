"""Random command sequences for the differential tester.

Owns *what* is sent: the step model (``Step``, ``Sequence``), the value pools
(edge numbers, binary strings, small key pool so types collide), and one
generator function per command, grouped by family.  Generation depends only
on the seed and the options (never on server replies), so a seed replays the
same sequence.

Structural rules the generator keeps so that Redis itself is deterministic
(the comparator relies on them; see NONDETERMINISM.md):

* TTLs are either far (>= 1000 s / 10^6 ms), in the past / <= 0 (delete at
  once), or tiny (5-8 ms) and then *always* followed by a ``sleep`` step that
  waits and sweeps every pool key in every DB, so a key's death never races
  with a command.  Tiny TTLs are never queued in MULTI.
* Blocking commands run only on connection B as a ``block`` step, followed by
  0-3 steps on A and a ``collect`` step that reads B's reply.
* Commands whose reply the comparator checks by running extra commands
  (random picks, SCAN, SPOP) are never queued in MULTI.
* DBs used are 0..2; DB 15 belongs to the tester's replication marker.
"""

import hashlib
import random
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# step model
# ---------------------------------------------------------------------------


@dataclass
class Var:
    """A placeholder resolved at send time to a bulk reply saved earlier (per server)."""

    name: str
    mutate: str = ""  # "" | "flip" (corrupt the last byte) | "trunc"


@dataclass
class Now:
    """A placeholder resolved at send time to now + offset (same value for both servers)."""

    offset: int
    unit: str = "ms"  # "ms" | "s"


@dataclass
class Step:
    args: list
    conn: str = "A"  # "A" (main) or "B" (second client: WATCH breaker, pub/sub, blocking)
    kind: str = "cmd"  # cmd | block | collect | sleep
    group: int = 0  # steps of a group are kept or dropped together when shrinking
    merge: bool = False  # compare this step's notifications/stream with the next step's, unordered
    save: str = ""  # save the (bulk) reply under this name for Var()
    timeout: float = 0.0  # block: the command's timeout in seconds (0 = forever)
    ms: int = 0  # sleep: milliseconds

    def name(self):
        if self.kind == "sleep":
            return "SLEEP"
        if not self.args:
            return ""
        a = self.args[0]
        return (a if isinstance(a, bytes) else str(a).encode()).decode("latin-1").upper()

    def render(self):
        if self.kind == "sleep":
            return "<sleep %d ms, then EXISTS every pool key in DBs 0-2>" % self.ms
        if self.kind == "collect":
            return "<B: read the reply of the blocked command>"
        parts = []
        for a in self.args:
            if isinstance(a, Var):
                parts.append("<DUMP payload %s%s>" % (a.name, (" " + a.mutate) if a.mutate else ""))
            elif isinstance(a, Now):
                parts.append("<now%+d%s>" % (a.offset, a.unit))
            else:
                b = a if isinstance(a, bytes) else str(a).encode()
                parts.append(quote(b))
        prefix = {"A": "", "B": "B: "}[self.conn]
        if self.kind == "block":
            prefix = "B (blocking): "
        return prefix + " ".join(parts)


def quote(b):
    """redis-cli style quoting: plain if printable and non-empty, else a quoted escape."""
    if b and all(33 <= c < 127 and c not in b'"\'\\' for c in b):
        return b.decode()
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x22:
            out.append('\\"')
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x0A:
            out.append("\\n")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


@dataclass
class Sequence:
    seed: int
    resp: int
    notify: str  # notify-keyspace-events for the run ("" = off)
    sub_patterns: list  # what the keyspace subscriber PSUBSCRIBEs to
    steps: list = field(default_factory=list)


# ---------------------------------------------------------------------------
# value pools
# ---------------------------------------------------------------------------

KEYS = [b"k1", b"k2", b"k3", b"k4", b"k5", b"k6", b"k7"]
RARE_KEYS = [b"", b"k\x00\r\n", b"{k1}x"]
ALL_KEYS = KEYS + RARE_KEYS
DBS = [b"0", b"1", b"2"]
BAD_DBS = [b"16", b"-1", b"x", b"", b"9223372036854775808", b"1.0"]

BIG_INTS = [
    b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
    b"-9223372036854775809", b"18446744073709551615", b"4611686018427387904",
]
BAD_INTS = [b"abc", b"", b"1.5", b" 1", b"1 ", b"+1", b"0x10", b"1e3", b"--1", b"\x00"]
SMALL_INTS = [b"0", b"1", b"2", b"3", b"-1", b"-2", b"5", b"10", b"-10", b"100", b"007", b"-0"]

FLOATS = [
    b"0", b"1", b"1.5", b"-1.5", b"0.1", b"-0.0", b"2.5e3", b"1e-10", b"3.0000000000000004",
    b"10.50", b"1.7976931348623157e308", b"5e-324", b".5", b"5.", b"1e300", b"123456789012345678",
]
BAD_FLOATS = [b"inf", b"-inf", b"+inf", b"nan", b"1e400", b"-1e400", b"abc", b"", b"1,5", b" 1", b"0x1p3"]

MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"1", b"2", b"3", b"-7", b"10", b"100"]
RARE_MEMBERS = [
    b"", b"x" * 70, b"\x00\xff", b"a\r\nb", b"9223372036854775807", b"-9223372036854775808",
    b"1.5", b"-0", b"01", b"4294967296", b"99999999999", b" 2", b"y" * 20,
]
STRINGS = [
    b"v", b"hello", b"world", b"", b"0", b"1", b"-1", b"10", b"3.5", b"1e3", b"abc\x00def",
    b"\r\n", b"x" * 44, b"x" * 45, b"z" * 100, b"  12", b"12  ", b"inf", b"nan", b"-0",
    b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"\xff\xfe",
]
SCORES = [b"0", b"1", b"2", b"3", b"-1", b"1.5", b"-2.5", b"10", b"0.1", b"1e3", b"-0", b"100"]
RARE_SCORES = [
    b"inf", b"-inf", b"+inf", b"nan", b"1e400", b"abc", b"", b"1e-310", b"9007199254740993",
    b"1.7976931348623157e308", b"(1", b"0x10", b" 1", b"3.0000000000000004",
]
SCORE_RANGES = [b"-inf", b"+inf", b"inf", b"0", b"1", b"2", b"(1", b"(2", b"1.5", b"(-inf", b"-1", b"3", b"10"]
BAD_SCORE_RANGES = [b"abc", b"(", b"nan", b"((1", b"", b"[1"]
LEX_RANGES = [b"-", b"+", b"[a", b"(a", b"[c", b"(c", b"[1", b"(3", b"[b", b"[e", b"(z", b"[\x00"]
BAD_LEX_RANGES = [b"a", b"", b"1", b"-x"]
CHANNELS = [b"ch1", b"ch2", b"news.a", b"news.b", b"__keyevent@0__:set"]
PATTERNS = [b"ch*", b"news.*", b"*", b"__key*__:*", b"h?llo", b"[a-c]h1", b"ch\\*"]
GLOBS = [b"*", b"k*", b"k[1-3]", b"k?", b"*1*", b"\\*", b"[^k]*", b"k[", b"", b"{k1}*"]

# CONFIG parameters a sequence may change (reset to defaults after each sequence).
VARIED_CONFIG = {
    b"list-max-listpack-size": [b"-2", b"4", b"2", b"-1", b"1"],
    b"list-compress-depth": [b"0", b"1"],
    b"hash-max-listpack-entries": [b"128", b"4", b"2", b"0"],
    b"hash-max-listpack-value": [b"64", b"8", b"1"],
    b"set-max-intset-entries": [b"512", b"4", b"2", b"0"],
    b"zset-max-listpack-entries": [b"128", b"4", b"2", b"0"],
    b"zset-max-listpack-value": [b"64", b"8", b"1"],
    b"lazyfree-lazy-expire": [b"no", b"yes"],
    b"lazyfree-lazy-server-del": [b"no", b"yes"],
    b"lazyfree-lazy-user-del": [b"no", b"yes"],
    b"lazyfree-lazy-user-flush": [b"no", b"yes"],
}
NOTIFY_FLAGS = [
    b"KEA", b"KEA", b"KEA", b"AKE", b"KEAm", b"KEAn", b"Kg$lshzxe", b"E", b"K", b"Ex", b"Kl",
    b"Eg", b"El", b"Es", b"Eh", b"Ez", b"Ee", b"Et", b"Ed", b"KEAmn", b"", b"xyz",
]
SUB_PATTERNS = [
    [b"__keyevent@*__:*", b"__keyspace@*__:*"],
    [b"__keyevent@*__:*"],
    [b"__keyspace@*__:*"],
    [b"__key*__:*"],
    [b"*"],
]

FAMILIES = ["strings", "bits", "hll", "keys", "expiry", "lists", "hashes", "sets", "zsets",
            "pubsub", "transactions", "server", "scripting", "functions"]

# Scripts the scripting family runs: each runs commands taken from ARGV, so
# every family's commands (and their errors, and every reply type) go
# through redis.call / redis.pcall and both conversions.
SCRIPTS = [
    b"return redis.call(unpack(ARGV))",
    b"return redis.pcall(unpack(ARGV))",
    b"return {redis.pcall(unpack(ARGV))}",
    b"redis.setresp(3) return redis.pcall(unpack(ARGV))",
    b"local r = redis.pcall(unpack(ARGV)) return type(r)",
    b"local ok, e = pcall(redis.call, unpack(ARGV)) if ok then return e end return {err = e}",
    b"#!lua flags=no-writes\nreturn redis.pcall(unpack(ARGV))",
]

# The library the functions family calls: the SCRIPTS' shapes as functions
# (the command comes in the function's args).
LIBRARY = (
    b"#!lua name=difflib\n"
    b"redis.register_function('call', function(keys, args) return redis.call(unpack(args)) end)\n"
    b"redis.register_function('pcall', function(keys, args) return redis.pcall(unpack(args)) end)\n"
    b"redis.register_function('ptable', function(keys, args) return {redis.pcall(unpack(args))} end)\n"
    b"redis.register_function('resp3', function(keys, args) redis.setresp(3) return redis.pcall(unpack(args)) end)\n"
    b"redis.register_function{function_name='ro', flags={'no-writes'},\n"
    b"  callback=function(keys, args) return redis.pcall(unpack(args)) end}\n"
)
LIBRARY_FUNCTIONS = [b"call", b"pcall", b"ptable", b"resp3", b"ro"]

# Two commands in one script (their effects go out in MULTI/EXEC): ARGV[1]
# is how many arguments the first has.
TWO_COMMANDS = (
    b"local n = tonumber(ARGV[1]) local a, b = {}, {} "
    b"for i = 2, n + 1 do a[#a + 1] = ARGV[i] end "
    b"for i = n + 2, #ARGV do b[#b + 1] = ARGV[i] end "
    b"redis.pcall(unpack(a)) return redis.pcall(unpack(b))"
)

# Commands whose reply Redis leaves to chance: compared by property at the
# top level, so not wrapped in scripts.
UNSCRIPTED = {"spop", "srandmember", "hrandfield", "zrandmember", "randomkey", "scan", "sscan",
              "hscan", "zscan", "keys", "object", "debug", "sort", "sort_ro", "restore", "flushdb", "swapdb",
              "select", "move", "publish", "pubsub", "ping", "dump",
              # replies in an order Redis leaves free, or with a time in them
              "smembers", "sinter", "sunion", "sdiff", "hgetall", "hkeys", "hvals",
              "ttl", "pttl", "expiretime", "pexpiretime"}

# ---------------------------------------------------------------------------
# generator
# ---------------------------------------------------------------------------


class Gen:
    """One sequence's generator: ``Gen(seed, ...).sequence(n)``."""

    def __init__(self, seed, resp=None, families=None, implemented=None):
        self.r = random.Random(seed)
        self.seed = seed
        self.resp = resp if resp in (2, 3) else self.r.choice([2, 3])
        self.implemented = implemented  # set of lowercase command names both servers have, or None
        fams = [f for f in (families or FAMILIES)]
        # A sequence focuses on a few families (more same-type collisions), sometimes on all.
        if families is None and self.r.random() < 0.7:
            fams = self.r.sample(FAMILIES, self.r.randint(1, 4))
        self.families = fams
        # Each family prefers 3 keys of the pool; the others still collide now and then.
        self.fam_keys = {f: self.r.sample(KEYS, 3) for f in FAMILIES}
        self.group = 0
        self.var_count = 0
        self.steps = []
        self.cur_family = "keys"
        self.int_sets = self.r.random() < 0.4  # favour integer members (intsets)
        self.past_abs = False  # the last generated command has an absolute time in the past
        self.relative_ttls_ms = []  # far relative TTLs given out so far (see far_ttl_s)

    # -- small helpers -------------------------------------------------------
    def p(self, x):
        return self.r.random() < x

    def choice(self, seq):
        return self.r.choice(seq)

    def key(self, fam=None):
        fam = fam or self.cur_family
        x = self.r.random()
        if x < 0.85:
            return self.choice(self.fam_keys.get(fam, KEYS))
        if x < 0.97:
            return self.choice(KEYS)
        return self.choice(RARE_KEYS)

    def keys(self, lo=1, hi=3, fam=None):
        return [self.key(fam) for _ in range(self.r.randint(lo, hi))]

    def member(self):
        if self.int_sets and self.p(0.7):
            return self.choice([b"1", b"2", b"3", b"-7", b"10", b"100", b"0", b"5"])
        return self.choice(RARE_MEMBERS) if self.p(0.08) else self.choice(MEMBERS)

    def members(self, lo=1, hi=4):
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    def string(self):
        return self.choice(STRINGS)

    def int_(self):
        x = self.r.random()
        if x < 0.75:
            return self.choice(SMALL_INTS)
        if x < 0.9:
            return self.choice(BIG_INTS)
        return self.choice(BAD_INTS)

    def index(self):
        x = self.r.random()
        if x < 0.85:
            return str(self.r.randint(-6, 8)).encode()
        if x < 0.95:
            return self.choice(BIG_INTS)
        return self.choice(BAD_INTS)

    def count(self):
        """A count argument: mostly small positives; edges and junk sometimes."""
        x = self.r.random()
        if x < 0.8:
            return str(self.r.randint(0, 6)).encode()
        return self.choice([b"-1", b"-5", b"9223372036854775807", b"-9223372036854775808", b"abc", b"", b"1.5"])

    def rand_count(self):
        """A SRANDMEMBER-style count: negative means repeats; never hugely negative (Redis would build a huge reply)."""
        x = self.r.random()
        if x < 0.85:
            return str(self.r.randint(-8, 8)).encode()
        return self.choice([b"9223372036854775807", b"-9223372036854775808", b"abc", b"", b"100"])

    def float_(self):
        return self.choice(BAD_FLOATS) if self.p(0.12) else self.choice(FLOATS)

    def score(self):
        return self.choice(RARE_SCORES) if self.p(0.08) else self.choice(SCORES)

    def score_range(self):
        return self.choice(BAD_SCORE_RANGES) if self.p(0.05) else self.choice(SCORE_RANGES)

    def lex_range(self):
        return self.choice(BAD_LEX_RANGES) if self.p(0.05) else self.choice(LEX_RANGES)

    def timeout(self):
        """Blocking timeout (seconds as text) and its value."""
        x = self.r.random()
        if x < 0.9:
            t = self.choice([b"0.5", b"1", b"0.3"])
            return t, float(t)
        t = self.choice([b"-1", b"abc", b"1e400", b"", b"0x1"])
        return t, 0.0

    def case(self, word):
        """Option/command words in random letter case now and then."""
        if self.p(0.1):
            return bytes(c ^ 0x20 if 97 <= c <= 122 and self.p(0.5) else c for c in word)
        return word

    # Every far relative TTL of a sequence is at least TTL_SPACING_MS away from
    # the others (and from the far `Now` offsets): with two equal TTLs set a few
    # ms apart, `EXPIRE k 3600 GT` after `SET k v EX 3600` answers 1 or 0
    # depending on whether the two commands fell in the same millisecond, on
    # Redis as on redust.
    TTL_SPACING_MS = 5000

    def _spaced_ttl_ms(self, ms, step_ms):
        while any(abs(ms - used) < self.TTL_SPACING_MS for used in self.relative_ttls_ms):
            ms += step_ms
        self.relative_ttls_ms.append(ms)
        return ms

    def far_ttl_s(self):
        s = int(self.choice([b"1000", b"3600", b"86400", b"100000", b"2000000"]))
        return b"%d" % (self._spaced_ttl_ms(s * 1000, 7000) // 1000)

    def far_ttl_ms(self):
        # the half second keeps these off every whole-second TTL
        ms = int(self.choice([b"1000000", b"3600000", b"100000000", b"86400000"])) + 500
        return b"%d" % self._spaced_ttl_ms(ms, 7000)

    def dead_ttl(self):
        return self.choice([b"0", b"-1", b"-100", b"-9223372036854775808"])

    def bad_ttl(self):
        return self.choice([b"abc", b"", b"1.5", b"9223372036854775807", b"9223372036854775",
                            b"-9223372036854775809", b"9223372036854775808", b" 1"])

    def ttl_s(self):
        x = self.r.random()
        if x < 0.7:
            return self.far_ttl_s()
        if x < 0.85:
            return self.dead_ttl()
        return self.bad_ttl()

    def ttl_ms(self):
        x = self.r.random()
        if x < 0.7:
            return self.far_ttl_ms()
        if x < 0.85:
            return self.dead_ttl()
        return self.bad_ttl()

    def abs_s(self):
        x = self.r.random()
        if x < 0.4:
            return Now(self._spaced_ttl_ms(100000 * 1000, 7000) // 1000, "s")
        if x < 0.6:
            return self.choice([b"4102444800", b"2000000000"])
        if x < 0.85:
            # in the past: SET keeps such a key until something touches it, so the
            # command must be followed by a sweep (see m_single)
            self.past_abs = True
            return self.choice([b"1", b"1000000000", b"0", Now(-100, "s")])
        return self.bad_ttl()

    def abs_ms(self):
        x = self.r.random()
        if x < 0.4:
            return Now(self._spaced_ttl_ms(100000000, 7000), "ms")
        if x < 0.6:
            return self.choice([b"4102444800000", b"2000000000000"])
        if x < 0.85:
            self.past_abs = True
            return self.choice([b"1", b"1000000000000", b"0", Now(-100000, "ms")])
        return self.bad_ttl()

    def shuffled(self, opts):
        """A random subset of option groups, in random order, flattened."""
        chosen = [o for o in opts if self.p(0.35)]
        self.r.shuffle(chosen)
        out = []
        for o in chosen:
            out.extend(o() if callable(o) else o)
        return out

    def mutate_arity(self, args):
        """Wrong arity now and then: drop the last argument(s) or add junk."""
        x = self.r.random()
        if x < 0.015 and len(args) > 1:
            return args[: self.r.randint(1, len(args) - 1)]
        if x < 0.025:
            return args + [self.choice([b"x", b"1", b"EX", b"", b"NX"])]
        return args

    # -- step emitters -------------------------------------------------------
    def new_group(self):
        self.group += 1
        return self.group

    def emit(self, args, **kw):
        kw.setdefault("group", self.new_group())
        st = Step(list(args), **kw)
        self.steps.append(st)
        return st

    def has(self, name):
        return self.implemented is None or name.lower() in self.implemented

    # -- families --------------------------------------------------------------
    # Each generator returns a list of args (one command). They read
    # self.cur_family for key preference.

    # strings
    def g_set(self):
        k, v = self.key(), self.string()

        def ttl():
            return self.choice([
                lambda: [b"EX", self.ttl_s()], lambda: [b"PX", self.ttl_ms()],
                lambda: [b"EXAT", self.abs_s()], lambda: [b"PXAT", self.abs_ms()],
                lambda: [b"KEEPTTL"],
            ])()
        opts = [lambda: [self.case(self.choice([b"NX", b"XX"]))], lambda: [self.case(b"GET")], ttl]
        if self.p(0.05):
            opts.append(ttl)  # two TTL options: a syntax error
        if self.p(0.05):
            opts.append(lambda: [b"NX", b"XX"])
        return [self.case(b"SET"), k, v] + self.shuffled(opts)

    def g_get(self):
        return [b"GET", self.key()]

    def g_getex(self):
        opt = self.choice([
            [], [b"EX", self.ttl_s()], [b"PX", self.ttl_ms()], [b"EXAT", self.abs_s()],
            [b"PXAT", self.abs_ms()], [b"PERSIST"], [b"PERSIST", b"EX", b"1000"], [b"KEEPTTL"],
        ])
        return [b"GETEX", self.key()] + opt

    def g_getdel(self):
        return [b"GETDEL", self.key()]

    def g_getset(self):
        return [b"GETSET", self.key(), self.string()]

    def g_append(self):
        return [b"APPEND", self.key(), self.string()]

    def g_incr(self):
        c = self.choice([b"INCR", b"DECR", b"INCRBY", b"DECRBY", b"INCRBYFLOAT"])
        if c in (b"INCR", b"DECR"):
            return [c, self.key()]
        if c == b"INCRBYFLOAT":
            return [c, self.key(), self.float_()]
        return [c, self.key(), self.int_()]

    def g_setrange(self):
        off = self.choice([b"0", b"1", b"3", b"10", b"50", b"-1", b"536870911", b"536870912", b"abc", b"9223372036854775807"])
        v = self.string()
        if off == b"536870911" and v:
            v = b""  # a 512 MB string would be allocated otherwise
        return [b"SETRANGE", self.key(), off, v]

    def g_getrange(self):
        return [self.choice([b"GETRANGE", b"SUBSTR"]), self.key(), self.index(), self.index()]

    def g_strlen(self):
        return [b"STRLEN", self.key()]

    def g_mset(self):
        c = self.choice([b"MSET", b"MSETNX"])
        args = [c]
        for _ in range(self.r.randint(1, 3)):
            args += [self.key(), self.string()]
        return args

    def g_mget(self):
        return [b"MGET"] + self.keys(1, 4)

    def g_setnx(self):
        c = self.choice([b"SETNX", b"SETEX", b"PSETEX"])
        if c == b"SETNX":
            return [c, self.key(), self.string()]
        ttl = self.ttl_s() if c == b"SETEX" else self.ttl_ms()
        return [c, self.key(), ttl, self.string()]

    def g_lcs(self):
        return [b"LCS", self.key(), self.key()] + self.shuffled([
            [b"LEN"], [b"IDX"], lambda: [b"MINMATCHLEN", self.choice([b"0", b"1", b"2", b"-1", b"abc"])], [b"WITHMATCHLEN"]])

    # bits (only if implemented)
    def g_setbit(self):
        return [b"SETBIT", self.key(), self.choice([b"0", b"1", b"7", b"15", b"100", b"-1", b"4294967296", b"abc"]),
                self.choice([b"0", b"1", b"1", b"2"])]

    def g_getbit(self):
        return [b"GETBIT", self.key(), self.choice([b"0", b"1", b"7", b"100", b"-1"])]

    def g_bitcount(self):
        return [b"BITCOUNT", self.key()] + self.choice([[], [self.index(), self.index()],
                                                        [self.index(), self.index(), self.choice([b"BIT", b"BYTE", b"X"])]])

    def g_bitpos(self):
        return [b"BITPOS", self.key(), self.choice([b"0", b"1", b"2"])] + self.choice(
            [[], [self.index()], [self.index(), self.index()], [self.index(), self.index(), self.choice([b"BIT", b"BYTE"])]])

    def g_bitop(self):
        op = self.choice([b"AND", b"OR", b"XOR", b"NOT", b"bad"])
        srcs = self.keys(1, 1 if op == b"NOT" and self.p(0.8) else 3)
        return [b"BITOP", op, self.key()] + srcs

    def g_bitfield(self):
        c = self.choice([b"BITFIELD", b"BITFIELD_RO"])
        args = [c, self.key()]
        for _ in range(self.r.randint(1, 3)):
            t = self.choice([b"i8", b"u8", b"i16", b"u4", b"i64", b"u63", b"u64", b"i65"])
            off = self.choice([b"0", b"1", b"#1", b"8", b"-1"])
            op = self.choice([b"GET", b"SET", b"INCRBY", b"OVERFLOW"])
            if op == b"GET":
                args += [b"GET", t, off]
            elif op == b"OVERFLOW":
                args += [b"OVERFLOW", self.choice([b"WRAP", b"SAT", b"FAIL", b"X"])]
            else:
                args += [op, t, off, self.int_()]
        return args

    # hll
    def g_pfadd(self):
        return [b"PFADD", self.key()] + self.members(0, 4)

    def g_pfcount(self):
        return [b"PFCOUNT"] + self.keys(1, 2)

    def g_pfmerge(self):
        return [b"PFMERGE", self.key()] + self.keys(0, 2)

    # keys
    def g_del(self):
        return [self.choice([b"DEL", b"UNLINK"])] + self.keys(1, 3)

    def g_exists(self):
        return [self.choice([b"EXISTS", b"TOUCH"])] + self.keys(1, 3)

    def g_type(self):
        return [b"TYPE", self.key()]

    def g_rename(self):
        return [self.choice([b"RENAME", b"RENAMENX"]), self.key(), self.key()]

    def g_ttlq(self):
        return [self.choice([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"]), self.key()]

    def g_persist(self):
        return [b"PERSIST", self.key()]

    def g_expire(self):
        c = self.choice([b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"])
        t = {b"EXPIRE": self.ttl_s, b"PEXPIRE": self.ttl_ms, b"EXPIREAT": self.abs_s, b"PEXPIREAT": self.abs_ms}[c]()
        flags = []
        if self.p(0.5):
            flags = [self.case(self.choice([b"NX", b"XX", b"GT", b"LT"]))]
            if self.p(0.1):
                flags.append(self.choice([b"NX", b"XX", b"GT", b"LT", b"YY"]))
        return [c, self.key(), t] + flags

    def g_copy(self):
        return [b"COPY", self.key(), self.key()] + self.shuffled([
            lambda: [b"DB", self.choice(DBS) if self.p(0.9) else self.choice(BAD_DBS)], [b"REPLACE"]])

    def g_move(self):
        return [b"MOVE", self.key(), self.choice(DBS) if self.p(0.85) else self.choice(BAD_DBS)]

    def g_select(self):
        return [b"SELECT", self.choice(DBS) if self.p(0.9) else self.choice(BAD_DBS)]

    def g_swapdb(self):
        pick = lambda: self.choice(DBS) if self.p(0.9) else self.choice(BAD_DBS)  # noqa: E731
        return [b"SWAPDB", pick(), pick()]

    def g_dbsize(self):
        return [b"DBSIZE"]

    def g_keys(self):
        return [b"KEYS", self.choice(GLOBS)]

    def g_object(self):
        sub = self.choice([b"ENCODING", b"ENCODING", b"ENCODING", b"REFCOUNT", b"IDLETIME", b"FREQ", b"BAD"])
        return [b"OBJECT", self.case(sub), self.key()]

    def g_digest_value(self):
        return [b"DEBUG", b"DIGEST-VALUE"] + self.keys(1, 2)

    def g_sort(self):
        c = self.choice([b"SORT", b"SORT", b"SORT_RO"])
        args = [c, self.key()]
        has_by = by_nosort = False
        opts = []
        if self.p(0.3):
            by = self.choice([b"nosort", b"w_*", b"k*", b"h_*->f", b"nokey_*"])
            has_by, by_nosort = True, by == b"nosort"
            opts.append([b"BY", by])
        if self.p(0.3):
            opts.append([b"LIMIT", self.index(), self.index()])
        for _ in range(self.r.randint(0, 2)):
            opts.append([b"GET", self.choice([b"#", b"w_*", b"h_*->f", b"k*"])])
        if self.p(0.3):
            opts.append([self.choice([b"ASC", b"DESC"])])
        alpha = self.p(0.4)
        if alpha:
            opts.append([b"ALPHA"])
        # no STORE where Redis leaves the order free (nosort: set order; BY+ALPHA: ties)
        if c == b"SORT" and self.p(0.25) and not by_nosort and not (has_by and alpha):
            opts.append([b"STORE", self.key()])
        self.r.shuffle(opts)
        for o in opts:
            args += o
        return args

    def g_sort_weights(self):
        """Keys SORT BY/GET patterns read: w_<member> strings and h_<member> hashes."""
        m = self.member()
        if self.p(0.5):
            return [b"SET", b"w_" + m, self.choice([b"1", b"2", b"-1", b"0.5", b"x", b"10"])]
        return [b"HSET", b"h_" + m, b"f", self.choice([b"1", b"2", b"b", b"a"])]

    def g_randomkey(self):
        return [b"RANDOMKEY"]

    def g_scan(self):
        args = [b"SCAN", b"0"]
        args += self.shuffled([lambda: [b"MATCH", self.choice(GLOBS)], lambda: [b"COUNT", self.choice([b"1", b"2", b"10", b"100"])],
                               lambda: [b"TYPE", self.choice([b"string", b"list", b"set", b"zset", b"hash", b"none", b"STRING"])]])
        return args

    def g_flushdb(self):
        return [self.choice([b"FLUSHDB", b"FLUSHDB", b"FLUSHALL"])] + self.choice([[], [b"ASYNC"], [b"SYNC"], [b"BAD"]])

    def g_bad_restore(self):
        return [b"RESTORE", self.key(), b"0", self.choice([b"", b"junk", b"\x00\x01\x02", b"\x0e\x01"])] + \
            self.shuffled([[b"REPLACE"], [b"ABSTTL"]])

    # lists
    def g_push(self):
        c = self.choice([b"LPUSH", b"RPUSH", b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"])
        return [c, self.key()] + self.members(1, 5)

    def g_pop(self):
        c = self.choice([b"LPOP", b"RPOP"])
        return [c, self.key()] + ([self.count()] if self.p(0.4) else [])

    def g_lrange(self):
        return [b"LRANGE", self.key(), self.index(), self.index()]

    def g_lindex(self):
        return [b"LINDEX", self.key(), self.index()]

    def g_lset(self):
        return [b"LSET", self.key(), self.index(), self.member()]

    def g_linsert(self):
        return [b"LINSERT", self.key(), self.case(self.choice([b"BEFORE", b"AFTER", b"MIDDLE"])), self.member(), self.member()]

    def g_lrem(self):
        return [b"LREM", self.key(), self.choice([b"0", b"1", b"-1", b"2", b"-2", b"abc"]), self.member()]

    def g_ltrim(self):
        return [b"LTRIM", self.key(), self.index(), self.index()]

    def g_llen(self):
        return [b"LLEN", self.key()]

    def g_lpos(self):
        return [b"LPOS", self.key(), self.member()] + self.shuffled([
            lambda: [b"RANK", self.choice([b"1", b"2", b"-1", b"-2", b"0", b"-9223372036854775808", b"abc"])],
            lambda: [b"COUNT", self.choice([b"0", b"1", b"2", b"-1"])],
            lambda: [b"MAXLEN", self.choice([b"0", b"1", b"3", b"-1"])]])

    def g_lmove(self):
        if self.p(0.3):
            return [b"RPOPLPUSH", self.key(), self.key()]
        return [b"LMOVE", self.key(), self.key(), self.choice([b"LEFT", b"RIGHT", b"left", b"UP"]), self.choice([b"LEFT", b"RIGHT"])]

    def g_lmpop(self):
        ks = self.keys(1, 3)
        n = str(len(ks)).encode() if self.p(0.9) else self.choice([b"0", b"-1", b"5", b"abc"])
        return [b"LMPOP", n] + ks + [self.choice([b"LEFT", b"RIGHT", b"MIDDLE"])] + (
            [b"COUNT", self.choice([b"1", b"2", b"5", b"0", b"-1"])] if self.p(0.5) else [])

    def blocking_list(self):
        c = self.choice([b"BLPOP", b"BRPOP", b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP"])
        t, tv = self.timeout()
        if c in (b"BLPOP", b"BRPOP"):
            ks = self.keys(1, 3)
            return [c] + ks + [t], tv, ks
        if c == b"BLMOVE":
            s, d = self.key(), self.key()
            return [c, s, d, self.choice([b"LEFT", b"RIGHT"]), self.choice([b"LEFT", b"RIGHT"]), t], tv, [s]
        if c == b"BRPOPLPUSH":
            s, d = self.key(), self.key()
            return [c, s, d, t], tv, [s]
        ks = self.keys(1, 2)
        return [c, t, str(len(ks)).encode()] + ks + [self.choice([b"LEFT", b"RIGHT"])] + (
            [b"COUNT", self.choice([b"1", b"2", b"3"])] if self.p(0.5) else []), tv, ks

    # hashes
    def field(self):
        return self.choice([b"f1", b"f2", b"f3", b"f4", b"a", b"1", b""] if self.p(0.95) else [b"x" * 70, b"\x00"])

    def hval(self):
        return self.choice([b"1", b"2", b"-3", b"v", b"1.5", b"", b"x" * 70, b"9223372036854775807", b"abc"])

    def g_hset(self):
        c = self.choice([b"HSET", b"HSET", b"HMSET"])
        args = [c, self.key()]
        for _ in range(self.r.randint(1, 3)):
            args += [self.field(), self.hval()]
        return args

    def g_hget(self):
        c = self.choice([b"HGET", b"HMGET", b"HEXISTS", b"HSTRLEN", b"HDEL"])
        if c in (b"HMGET", b"HDEL"):
            return [c, self.key()] + [self.field() for _ in range(self.r.randint(1, 3))]
        return [c, self.key(), self.field()]

    def g_hlen(self):
        return [self.choice([b"HLEN", b"HGETALL", b"HKEYS", b"HVALS"]), self.key()]

    def g_hincr(self):
        if self.p(0.5):
            return [b"HINCRBY", self.key(), self.field(), self.int_()]
        return [b"HINCRBYFLOAT", self.key(), self.field(), self.float_()]

    def g_hsetnx(self):
        return [b"HSETNX", self.key(), self.field(), self.hval()]

    def g_hrandfield(self):
        args = [b"HRANDFIELD", self.key()]
        if self.p(0.7):
            args.append(self.rand_count())
            if self.p(0.5):
                args.append(b"WITHVALUES")
        return args

    def g_hscan(self):
        return [b"HSCAN", self.key(), b"0"] + self.shuffled([
            lambda: [b"MATCH", self.choice([b"f*", b"*", b"a", b"[f]1"])], lambda: [b"COUNT", self.choice([b"1", b"10"])]])

    # sets
    def g_sadd(self):
        return [self.choice([b"SADD", b"SADD", b"SREM"]), self.key()] + self.members(1, 5)

    def g_scard(self):
        c = self.choice([b"SCARD", b"SISMEMBER", b"SMISMEMBER", b"SMEMBERS"])
        if c == b"SISMEMBER":
            return [c, self.key(), self.member()]
        if c == b"SMISMEMBER":
            return [c, self.key()] + self.members(1, 3)
        return [c, self.key()]

    def g_setop(self):
        c = self.choice([b"SINTER", b"SUNION", b"SDIFF", b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"])
        if c.endswith(b"STORE"):
            return [c, self.key()] + self.keys(1, 3)
        return [c] + self.keys(1, 3)

    def g_sintercard(self):
        ks = self.keys(1, 3)
        n = str(len(ks)).encode() if self.p(0.9) else self.choice([b"0", b"-1", b"9", b"abc"])
        return [b"SINTERCARD", n] + ks + ([b"LIMIT", self.choice([b"0", b"1", b"2", b"-1"])] if self.p(0.4) else [])

    def g_smove(self):
        return [b"SMOVE", self.key(), self.key(), self.member()]

    def g_spop(self):
        return [b"SPOP", self.key()] + ([self.choice([b"0", b"1", b"2", b"3", b"10", b"-1", b"abc"])] if self.p(0.5) else [])

    def g_srandmember(self):
        return [b"SRANDMEMBER", self.key()] + ([self.rand_count()] if self.p(0.7) else [])

    def g_sscan(self):
        return [b"SSCAN", self.key(), b"0"] + self.shuffled([
            lambda: [b"MATCH", self.choice([b"*", b"1*", b"a", b"[ab]"])], lambda: [b"COUNT", self.choice([b"1", b"10"])]])

    # sorted sets
    def zmember(self):
        return self.choice(RARE_MEMBERS) if self.p(0.06) else self.choice([b"a", b"b", b"c", b"d", b"e", b"f", b"1", b"2"])

    def g_zadd(self):
        args = [b"ZADD", self.key()]
        flags = self.shuffled([lambda: [self.choice([b"NX", b"XX"])], lambda: [self.choice([b"GT", b"LT"])], [b"CH"], [b"INCR"]])
        args += [self.case(f) for f in flags]
        n = 1 if b"INCR" in flags and self.p(0.8) else self.r.randint(1, 4)
        for _ in range(n):
            args += [self.score(), self.zmember()]
        return args

    def g_zincrby(self):
        return [b"ZINCRBY", self.key(), self.score(), self.zmember()]

    def g_zscore(self):
        c = self.choice([b"ZSCORE", b"ZMSCORE", b"ZRANK", b"ZREVRANK", b"ZCARD"])
        if c == b"ZMSCORE":
            return [c, self.key()] + [self.zmember() for _ in range(self.r.randint(1, 3))]
        if c == b"ZCARD":
            return [c, self.key()]
        return [c, self.key(), self.zmember()]

    def g_zrange(self):
        mode = self.choice([b"", b"BYSCORE", b"BYLEX"])
        rev = self.p(0.3)
        if mode == b"BYSCORE":
            lo, hi = self.score_range(), self.score_range()
        elif mode == b"BYLEX":
            lo, hi = self.lex_range(), self.lex_range()
        else:
            lo, hi = self.index(), self.index()
        args = [b"ZRANGE", self.key(), lo, hi]
        opts = []
        if mode:
            opts.append([mode])
        if rev:
            opts.append([b"REV"])
        if self.p(0.3):
            opts.append([b"LIMIT", self.choice([b"0", b"1", b"-1", b"2"]), self.choice([b"1", b"2", b"-1", b"0", b"100"])])
        if self.p(0.4):
            opts.append([b"WITHSCORES"])
        self.r.shuffle(opts)
        for o in opts:
            args += o
        return args

    def g_zrange_old(self):
        c = self.choice([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE", b"ZRANGEBYLEX", b"ZREVRANGEBYLEX", b"ZREVRANGE"])
        if c == b"ZREVRANGE":
            return [c, self.key(), self.index(), self.index()] + ([b"WITHSCORES"] if self.p(0.4) else [])
        lex = b"LEX" in c
        lo, hi = (self.lex_range(), self.lex_range()) if lex else (self.score_range(), self.score_range())
        opts = []
        if not lex and self.p(0.4):
            opts.append([b"WITHSCORES"])
        if self.p(0.3):
            opts.append([b"LIMIT", self.choice([b"0", b"1", b"-1"]), self.choice([b"1", b"2", b"-1", b"0"])])
        self.r.shuffle(opts)
        args = [c, self.key(), lo, hi]
        for o in opts:
            args += o
        return args

    def g_zrem(self):
        c = self.choice([b"ZREM", b"ZREMRANGEBYRANK", b"ZREMRANGEBYSCORE", b"ZREMRANGEBYLEX"])
        if c == b"ZREM":
            return [c, self.key()] + [self.zmember() for _ in range(self.r.randint(1, 3))]
        if c == b"ZREMRANGEBYRANK":
            return [c, self.key(), self.index(), self.index()]
        if c == b"ZREMRANGEBYSCORE":
            return [c, self.key(), self.score_range(), self.score_range()]
        return [c, self.key(), self.lex_range(), self.lex_range()]

    def g_zcount(self):
        if self.p(0.5):
            return [b"ZCOUNT", self.key(), self.score_range(), self.score_range()]
        return [b"ZLEXCOUNT", self.key(), self.lex_range(), self.lex_range()]

    def g_zpop(self):
        return [self.choice([b"ZPOPMIN", b"ZPOPMAX"]), self.key()] + ([self.count()] if self.p(0.5) else [])

    def numkeys(self, ks):
        return str(len(ks)).encode() if self.p(0.92) else self.choice([b"0", b"-1", b"9", b"abc"])

    def g_zsetop(self):
        c = self.choice([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE", b"ZUNION", b"ZINTER", b"ZDIFF"])
        ks = self.keys(1, 3)
        args = [c] + ([self.key()] if c.endswith(b"STORE") else []) + [self.numkeys(ks)] + ks
        opts = []
        if b"DIFF" not in c:
            if self.p(0.4):
                n = len(ks) if self.p(0.9) else len(ks) + 1
                opts.append([b"WEIGHTS"] + [self.choice([b"1", b"2", b"0", b"-1", b"1.5", b"inf", b"-inf", b"abc"]) for _ in range(n)])
            if self.p(0.4):
                opts.append([b"AGGREGATE", self.case(self.choice([b"SUM", b"MIN", b"MAX", b"AVG"]))])
        if not c.endswith(b"STORE") and self.p(0.5):
            opts.append([b"WITHSCORES"])
        self.r.shuffle(opts)
        for o in opts:
            args += o
        return args

    def g_zintercard(self):
        ks = self.keys(1, 3)
        return [b"ZINTERCARD", self.numkeys(ks)] + ks + ([b"LIMIT", self.choice([b"0", b"1", b"-1"])] if self.p(0.3) else [])

    def g_zrangestore(self):
        mode = self.choice([b"", b"BYSCORE", b"BYLEX"])
        if mode == b"BYSCORE":
            lo, hi = self.score_range(), self.score_range()
        elif mode == b"BYLEX":
            lo, hi = self.lex_range(), self.lex_range()
        else:
            lo, hi = self.index(), self.index()
        args = [b"ZRANGESTORE", self.key(), self.key(), lo, hi]
        opts = []
        if mode:
            opts.append([mode])
        if self.p(0.3):
            opts.append([b"REV"])
        if self.p(0.3):
            opts.append([b"LIMIT", self.choice([b"0", b"1"]), self.choice([b"1", b"2", b"-1"])])
        if self.p(0.05):
            opts.append([b"WITHSCORES"])
        self.r.shuffle(opts)
        for o in opts:
            args += o
        return args

    def g_zmpop(self):
        ks = self.keys(1, 3)
        return [b"ZMPOP", self.numkeys(ks)] + ks + [self.choice([b"MIN", b"MAX", b"min", b"MID"])] + (
            [b"COUNT", self.choice([b"1", b"2", b"5", b"0", b"-1"])] if self.p(0.5) else [])

    def g_zrandmember(self):
        args = [b"ZRANDMEMBER", self.key()]
        if self.p(0.7):
            args.append(self.rand_count())
            if self.p(0.5):
                args.append(b"WITHSCORES")
        return args

    def g_zscan(self):
        return [b"ZSCAN", self.key(), b"0"] + self.shuffled([
            lambda: [b"MATCH", self.choice([b"*", b"a*", b"[ab]"])], lambda: [b"COUNT", self.choice([b"1", b"10"])]])

    def blocking_zset(self):
        c = self.choice([b"BZPOPMIN", b"BZPOPMAX", b"BZMPOP"])
        t, tv = self.timeout()
        ks = self.keys(1, 2)
        if c == b"BZMPOP":
            return [c, t, str(len(ks)).encode()] + ks + [self.choice([b"MIN", b"MAX"])] + (
                [b"COUNT", self.choice([b"1", b"2"])] if self.p(0.5) else []), tv, ks
        return [c] + ks + [t], tv, ks

    # pub/sub (A publishes; B subscribes)
    def g_publish(self):
        return [b"PUBLISH", self.choice(CHANNELS), self.choice([b"hi", b"", b"\x00\r\n", b"x" * 30])]

    def g_pubsub_info(self):
        sub = self.choice([b"CHANNELS", b"NUMSUB", b"NUMPAT"])
        if sub == b"CHANNELS":
            return [b"PUBSUB", sub] + ([self.choice(PATTERNS)] if self.p(0.5) else [])
        if sub == b"NUMSUB":
            return [b"PUBSUB", sub] + [self.choice(CHANNELS) for _ in range(self.r.randint(0, 2))]
        return [b"PUBSUB", sub]

    def b_subscribe(self):
        c = self.choice([b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE", b"PUNSUBSCRIBE", b"SUBSCRIBE", b"PSUBSCRIBE"])
        if c == b"SUBSCRIBE":
            return [c] + [self.choice(CHANNELS) for _ in range(self.r.randint(1, 2))]
        if c == b"PSUBSCRIBE":
            return [c] + [self.choice(PATTERNS) for _ in range(self.r.randint(1, 2))]
        pool = CHANNELS if c == b"UNSUBSCRIBE" else PATTERNS
        return [c] + [self.choice(pool) for _ in range(self.r.randint(0, 2))]

    # server / connection
    def g_server(self):
        return self.choice([
            [b"PING"], [b"PING", self.string()], [b"ECHO", self.string()], [b"DBSIZE"],
            [b"CONFIG", b"GET", self.choice(list(VARIED_CONFIG) + [b"notify-keyspace-events", b"*max-listpack*"])],
            [b"CONFIG", b"SET", b"notify-keyspace-events", self.choice(NOTIFY_FLAGS[:-1])],
            [b"DEBUG", b"SET-ACTIVE-EXPIRE", self.choice([b"0", b"1"])],
            [b"NOSUCHCOMMAND", b"x"],
        ])

    # scripting: commands of the other families run from Lua
    def scripted_command(self):
        """A command of another family, for a script to run."""
        table = self.table()
        fams = [f for f in ("strings", "bits", "hll", "keys", "expiry", "lists", "hashes", "sets", "zsets")]
        for _ in range(20):
            fam = self.choice(fams)
            weight, name, gen = self.choice(table[fam])
            if name in UNSCRIPTED or not self.has(name):
                continue
            saved = self.cur_family
            self.cur_family = fam
            args = gen()
            self.cur_family = saved
            if args and args[0].lower().decode(errors="replace") not in UNSCRIPTED:
                return args
        return [b"GET", self.key()]

    def g_eval(self):
        if self.p(0.15):
            a, b = self.scripted_command(), self.scripted_command()
            return [b"EVAL", TWO_COMMANDS, b"0", str(len(a)).encode()] + a + b
        script = self.choice(SCRIPTS)
        verb = b"EVAL_RO" if self.p(0.1) else b"EVAL"
        return [verb, script, b"0"] + self.scripted_command()

    def g_evalsha(self):
        script = self.choice(SCRIPTS)
        sha = hashlib.sha1(script).hexdigest().encode()
        if self.p(0.3):
            return [b"SCRIPT", b"LOAD", script]
        return [b"EVALSHA", sha, b"0"] + self.scripted_command()

    def g_fcall(self):
        if self.p(0.1):
            return [b"FUNCTION", b"LOAD", b"REPLACE", LIBRARY]
        if self.p(0.03):
            return [b"FUNCTION", self.choice([b"DELETE", b"FLUSH"])] + ([b"difflib"] if self.p(0.5) else [])
        if self.p(0.04):
            return [b"FUNCTION", self.choice([b"STATS", b"DUMP"])]
        name = self.choice(LIBRARY_FUNCTIONS)
        verb = b"FCALL_RO" if self.p(0.15) else b"FCALL"
        return [verb, name, b"0"] + self.scripted_command()

    # -- family tables -------------------------------------------------------
    def table(self):
        """family -> list of (weight, command name for the implemented check, generator)."""
        return {
            "strings": [
                (8, "set", self.g_set), (4, "get", self.g_get), (2, "getex", self.g_getex), (1, "getdel", self.g_getdel),
                (1, "getset", self.g_getset), (3, "append", self.g_append), (5, "incr", self.g_incr),
                (2, "setrange", self.g_setrange), (2, "getrange", self.g_getrange), (1, "strlen", self.g_strlen),
                (2, "mset", self.g_mset), (2, "mget", self.g_mget), (2, "setnx", self.g_setnx), (2, "lcs", self.g_lcs),
            ],
            "bits": [
                (4, "setbit", self.g_setbit), (2, "getbit", self.g_getbit), (2, "bitcount", self.g_bitcount),
                (2, "bitpos", self.g_bitpos), (2, "bitop", self.g_bitop), (2, "bitfield", self.g_bitfield),
                (2, "set", self.g_set), (1, "append", self.g_append),
            ],
            "hll": [(4, "pfadd", self.g_pfadd), (2, "pfcount", self.g_pfcount), (1, "pfmerge", self.g_pfmerge),
                    (1, "set", self.g_set)],
            "keys": [
                (3, "del", self.g_del), (3, "exists", self.g_exists), (3, "type", self.g_type), (3, "rename", self.g_rename),
                (2, "ttl", self.g_ttlq), (1, "persist", self.g_persist), (2, "expire", self.g_expire), (2, "copy", self.g_copy),
                (2, "move", self.g_move), (2, "select", self.g_select), (1, "swapdb", self.g_swapdb), (1, "dbsize", self.g_dbsize),
                (2, "keys", self.g_keys), (3, "object", self.g_object), (1, "debug", self.g_digest_value),
                (3, "sort", self.g_sort), (2, "set", self.g_sort_weights), (1, "randomkey", self.g_randomkey),
                (1, "scan", self.g_scan), (0.3, "flushdb", self.g_flushdb), (0.5, "restore", self.g_bad_restore),
                (3, "set", self.g_set), (2, "rpush", self.g_push), (2, "sadd", self.g_sadd), (1, "zadd", self.g_zadd),
                (1, "hset", self.g_hset),
            ],
            "expiry": [
                (4, "expire", self.g_expire), (3, "ttl", self.g_ttlq), (1, "persist", self.g_persist),
                (3, "set", self.g_set), (2, "getex", self.g_getex), (2, "setnx", self.g_setnx), (1, "get", self.g_get),
                (1, "exists", self.g_exists), (1, "rpush", self.g_push), (1, "rename", self.g_rename), (1, "copy", self.g_copy),
            ],
            "lists": [
                (8, "lpush", self.g_push), (4, "lpop", self.g_pop), (3, "lrange", self.g_lrange), (2, "lindex", self.g_lindex),
                (2, "lset", self.g_lset), (2, "linsert", self.g_linsert), (2, "lrem", self.g_lrem), (2, "ltrim", self.g_ltrim),
                (1, "llen", self.g_llen), (2, "lpos", self.g_lpos), (3, "lmove", self.g_lmove), (2, "lmpop", self.g_lmpop),
            ],
            "hashes": [
                (8, "hset", self.g_hset), (5, "hget", self.g_hget), (3, "hlen", self.g_hlen), (3, "hincrby", self.g_hincr),
                (2, "hsetnx", self.g_hsetnx), (2, "hrandfield", self.g_hrandfield), (1, "hscan", self.g_hscan),
            ],
            "sets": [
                (8, "sadd", self.g_sadd), (4, "scard", self.g_scard), (4, "sinter", self.g_setop),
                (2, "sintercard", self.g_sintercard), (2, "smove", self.g_smove), (2, "spop", self.g_spop),
                (2, "srandmember", self.g_srandmember), (1, "sscan", self.g_sscan),
            ],
            "zsets": [
                (8, "zadd", self.g_zadd), (2, "zincrby", self.g_zincrby), (4, "zscore", self.g_zscore),
                (5, "zrange", self.g_zrange), (3, "zrangebyscore", self.g_zrange_old), (3, "zrem", self.g_zrem),
                (2, "zcount", self.g_zcount), (2, "zpopmin", self.g_zpop), (3, "zunionstore", self.g_zsetop),
                (1, "zintercard", self.g_zintercard), (2, "zrangestore", self.g_zrangestore), (2, "zmpop", self.g_zmpop),
                (2, "zrandmember", self.g_zrandmember), (1, "zscan", self.g_zscan), (1, "sadd", self.g_sadd),
            ],
            "pubsub": [(4, "publish", self.g_publish), (2, "pubsub", self.g_pubsub_info)],
            "transactions": [(3, "set", self.g_set), (2, "incr", self.g_incr), (2, "get", self.g_get),
                             (2, "lpush", self.g_push), (1, "sadd", self.g_sadd), (1, "del", self.g_del)],
            "server": [(3, "ping", self.g_server), (1, "set", self.g_set)],
            "scripting": [(6, "eval", self.g_eval), (2, "evalsha", self.g_evalsha), (2, "set", self.g_set),
                          (1, "rpush", self.g_push), (1, "hset", self.g_hset)],
            "functions": [(8, "fcall", self.g_fcall), (2, "set", self.g_set), (1, "rpush", self.g_push),
                          (1, "hset", self.g_hset)],
        }

    def pick_command(self, in_multi=False):
        """One command from a random focused family, as args.

        In MULTI (or on B), a command with a past absolute time is drawn again:
        it may leave a dead key that only a following sweep makes deterministic.
        """
        for _ in range(20):
            self.past_abs = False
            args = self._pick_command(in_multi)
            if not (in_multi and self.past_abs):
                return args
        self.past_abs = False
        return [b"PING"]

    def _pick_command(self, in_multi):
        table = self.table()
        for _ in range(50):
            fam = self.choice(self.families)
            self.cur_family = fam
            entries = [(w, n, g) for (w, n, g) in table[fam] if self.has(n)]
            if in_multi:
                entries = [(w, n, g) for (w, n, g) in entries if n not in MULTI_UNSAFE_GENS]
            if not entries:
                continue
            total = sum(w for w, _, _ in entries)
            x = self.r.random() * total
            for w, _n, g in entries:
                x -= w
                if x <= 0:
                    break
            return self.mutate_arity(g())
        return [b"PING"]

    # -- macros --------------------------------------------------------------
    def m_single(self):
        on_b = self.p(0.08)
        # B gets no command whose check runs extra commands (B may be in RESP2 subscribed mode)
        args = self.pick_command(in_multi=on_b)
        if self.past_abs:
            # a key with a past expiry may survive until touched: sweep at once
            g = self.new_group()
            self.emit(args, group=g, merge=True)
            self.emit([], kind="sleep", ms=0, group=g)
            self.past_abs = False
            return
        self.emit(args, conn="B" if on_b else "A")

    def m_tiny_ttl(self):
        """A 5-8 ms TTL, then a sleep step that lets it die and sweeps (one group)."""
        g = self.new_group()
        self.cur_family = "expiry"
        k = self.key()
        # >= 5 ms: PEXPIRE/GETEX delete at once when the instant is already past by the
        # end of the command, which a 1 ms TTL sometimes is (Redis against itself differs)
        ms = self.choice([b"5", b"6", b"8"])
        # absolute instants are resolved once for both servers, which run a few ms
        # apart: 40 ms ahead so that neither sees it in the past already
        args = self.choice([
            [b"PEXPIRE", k, ms], [b"SET", k, self.string(), b"PX", ms], [b"PSETEX", k, ms, self.string()],
            [b"GETEX", k, b"PX", ms], [b"SET", k, self.string(), b"PXAT", Now(40)], [b"PEXPIREAT", k, Now(40)],
            [b"PEXPIRE", k, ms, self.choice([b"NX", b"XX", b"GT", b"LT"])],
        ])
        uses_now = any(isinstance(a, Now) for a in args)
        self.emit(args, group=g, merge=True)
        self.emit([], kind="sleep", ms=self.r.randint(70, 90) if uses_now else self.r.randint(25, 40), group=g)

    def m_transaction(self):
        g = self.new_group()
        steps = []
        if self.p(0.4):
            steps.append(Step([b"WATCH"] + self.keys(1, 2, fam=self.choice(self.families)), group=g))
            if self.p(0.5):
                # someone (B, or A itself) touches a key, maybe a watched one
                conn = self.choice(["A", "B"])
                steps.append(Step(self.pick_command(in_multi=True), conn=conn, group=g))
            if self.p(0.1):
                steps.append(Step([b"UNWATCH"], group=g))
        steps.append(Step([b"MULTI"], group=g))
        for _ in range(self.r.randint(0, 5)):
            x = self.r.random()
            if x < 0.03:
                steps.append(Step([self.choice([b"MULTI", b"WATCH", b"NOSUCHCMD"]), self.key()], group=g))
            else:
                steps.append(Step(self.pick_command(in_multi=True), group=g))
        steps.append(Step([self.choice([b"EXEC", b"EXEC", b"EXEC", b"DISCARD"])], group=g))
        self.steps.extend(steps)

    def m_stray_transaction(self):
        self.emit([self.choice([b"EXEC", b"DISCARD", b"UNWATCH"])])

    def m_blocking(self):
        fams = [f for f in self.families if f in ("lists", "zsets")] or ["lists", "zsets"]
        fam = self.choice(fams)
        self.cur_family = fam
        args, tv, ks = self.blocking_list() if fam == "lists" else self.blocking_zset()
        if not self.has(args[0].decode().lower()):
            return self.m_single()
        g = self.new_group()
        self.emit(args, conn="B", kind="block", timeout=tv, group=g)
        for _ in range(self.r.randint(0, 3)):
            if self.p(0.6):
                k = self.choice(ks)
                if fam == "lists":
                    self.emit([self.choice([b"LPUSH", b"RPUSH"]), k] + self.members(1, 3))
                else:
                    self.emit([b"ZADD", k] + [x for _ in range(self.r.randint(1, 3)) for x in (self.score(), self.zmember())])
            else:
                self.emit(self.pick_command(in_multi=True))
        self.emit([], conn="B", kind="collect", group=g)

    def m_dump_restore(self):
        g = self.new_group()
        self.cur_family = self.choice(self.families)
        self.var_count += 1
        name = "p%d" % self.var_count
        self.emit([b"DUMP", self.key()], save=name, group=g)
        ttl = self.choice([b"0", b"0", self.far_ttl_ms(), b"-1", b"abc"])
        opts = self.shuffled([[b"REPLACE"], [b"ABSTTL"], lambda: [b"IDLETIME", self.choice([b"10", b"-1", b"abc"])],
                              lambda: [b"FREQ", self.choice([b"5", b"256", b"-1"])]])
        if b"ABSTTL" in opts and ttl not in (b"0", b"-1", b"abc"):
            ttl = self.choice([b"4102444800000", b"1"])  # far future, or in the past
        mutate = self.choice(["", "", "", "", "flip", "trunc"])
        self.emit([b"RESTORE", self.key(), ttl, Var(name, mutate)] + opts, group=g)

    def m_subscribe(self):
        self.emit(self.b_subscribe(), conn="B")

    def sequence(self, n):
        """Generate ``n``-ish steps (setup first) and return the Sequence."""
        notify = self.choice(NOTIFY_FLAGS[:-1]) if self.p(0.9) else b""
        sub_patterns = self.choice(SUB_PATTERNS)
        # setup: keyspace events, encodings, active expiry.  An invalid flag string
        # only comes first: after a failed CONFIG SET, Redis 7.0 restores the flags
        # from their CONFIG GET rendering, which drops 'n' (a Redis bug, not copied).
        if self.p(0.1):
            self.emit([b"CONFIG", b"SET", b"notify-keyspace-events", NOTIFY_FLAGS[-1]])
        self.emit([b"CONFIG", b"SET", b"notify-keyspace-events", notify])
        for name, values in VARIED_CONFIG.items():
            if self.p(0.25):
                self.emit([b"CONFIG", b"SET", name, self.choice(values)])
        if self.p(0.5):
            self.emit([b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"])
        has_blocking = any(f in self.families for f in ("lists", "zsets"))
        while len(self.steps) < n:
            x = self.r.random()
            if x < 0.70:
                self.m_single()
            elif x < 0.76:
                self.m_tiny_ttl()
            elif x < 0.83 and ("transactions" in self.families or self.p(0.3)):
                self.m_transaction()
            elif x < 0.84:
                self.m_stray_transaction()
            elif x < 0.90 and has_blocking:
                self.m_blocking()
            elif x < 0.93:
                self.m_dump_restore()
            elif x < 0.97 and "pubsub" in self.families:
                self.m_subscribe()
            else:
                self.m_single()
        return Sequence(self.seed, self.resp, notify.decode(), sub_patterns, self.steps)


# Generators whose commands need the comparator's extra checks; never queued in MULTI.
MULTI_UNSAFE_GENS = {"randomkey", "scan", "spop", "srandmember", "hrandfield", "zrandmember",
                     "hscan", "sscan", "zscan"}


def all_command_names():
    """Every command name the generator may send (for the implemented check)."""
    g = Gen(0)
    names = set()
    for entries in g.table().values():
        for _w, n, _g in entries:
            names.add(n)
    names |= {"blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
              "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "multi", "exec", "discard", "watch",
              "unwatch", "dump", "restore", "pexpire", "pexpireat", "psetex", "lmove", "rpoplpush",
              "config", "debug", "ping", "echo", "hello"}
    return names


# Commands redust must have (the brief's list); the others (bits, hll) are optional.
OPTIONAL_COMMANDS = {"setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro",
                     "pfadd", "pfcount", "pfmerge"}
