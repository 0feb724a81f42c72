"""Lockstep execution of one sequence against two servers.

Owns the connections and the per-step protocol.  For each server (a ``Side``)
a sequence uses five connections:

  A  main client (RESP2 or RESP3 per sequence)
  B  second client: WATCH breaker, pub/sub subscriber, blocking commands
  S  keyspace-notification subscriber (PSUBSCRIBE __keyevent@*__:* ...)
  C  tester control connection (DB 15: replication marker; INFO polling; sweeps)
  R  a fake replica (REPLCONF + PSYNC ? -1, RDB skipped) reading the command stream

A step runs in three phases, each on Redis then on redust:
  1. execute the command (plus the checks its rule needs, e.g. SCAN continued
     to cursor 0, membership of random picks),
  2. make the data converge after a non-deterministic pop (SPOP),
  3. barriers: ``SET __diffmark__ n`` in DB 15 on C, then PING <token> on S (all
     notifications of the step precede the pong), read R up to the marker SET
     (the step's replication stream), and PING <token> on B if it subscribed.
Then the two observations are compared (compare.py).  After the last step:
DEBUG DIGEST, the key list of DBs 0-2, OBJECT ENCODING of every key, and
DEBUG DIGEST-VALUE of every key when the digests differ.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "py"))

from compare import (  # noqa: E402
    MARKER_DB, MARKER_KEY, Divergence, StreamState, compare_messages, compare_reply, compare_stream,
    exec_signature, flat_elements, is_marker_message, match_allowlist, message_channel, nested_push,
    normalise_messages, pairs, parse_stream, render_stream, rule_for, upper,
)
from gen import ALL_KEYS, DBS, Now, Var  # noqa: E402
from resp import NO_REPLY, Closed, Conn, Reply, Timeout, encode  # noqa: E402

REPLY_TIMEOUT = 10.0
SERVER_ARGS = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]


NO_EXTRA = Reply("!", b"<none>", None)


class ServerDied(Exception):
    pass


class Obs:
    """What one server did in one step."""

    __slots__ = ("reply", "rule", "extra", "norm", "props", "notes", "bmsgs", "stream", "queued")

    def __init__(self):
        self.reply = None  # Reply
        self.rule = "exact"
        self.extra = []  # (label, Reply) compared exactly
        self.norm = None  # normalised value for scan / random / spop rules
        self.props = []  # property violations found on this server
        self.notes = []  # keyspace notification raws (S)
        self.bmsgs = []  # B's pushed messages between steps
        self.stream = []  # (db, args) replication stream entries
        self.queued = None  # for EXEC: the queued commands


def blocked_clients(conn):
    info = conn.call([b"INFO", b"clients"])
    text = info.val if isinstance(info.val, bytes) else b""
    for line in text.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return 0


class Side:
    """One server's connections and per-sequence state."""

    def __init__(self, label, server):
        self.label = label
        self.server = server
        self.conns = {}
        self.vars = {}
        self.marker = 0
        self.token = 0
        self.stream_state = StreamState()
        self.resp = 2
        self.b_blocked = False
        self.b_early = None
        self.b_subscribed = False
        self.in_multi = False
        self.queued = []
        self.last_ack = 0.0

    # -- connections ---------------------------------------------------------
    def conn(self):
        try:
            return Conn(self.server.port, timeout=REPLY_TIMEOUT)
        except OSError as e:
            raise ServerDied("%s: cannot connect: %s" % (self.label, e)) from None

    def open(self, seq):
        """Connect A, B, S, C, R for ``seq``; return the handshake replies to compare."""
        self.resp = seq.resp
        hs = []
        c = self.conns["C"] = self.conn()
        c.call([b"SELECT", str(MARKER_DB).encode()])
        self.open_replica()
        s = self.conns["S"] = self.conn()
        if seq.resp == 3:
            hs.append(("S HELLO", s.call([b"HELLO", b"3"])))
        s.send([b"PSUBSCRIBE"] + seq.sub_patterns)
        for _ in seq.sub_patterns:
            hs.append(("S PSUBSCRIBE", s.read_reply()))
        for name in ("A", "B"):
            cl = self.conns[name] = self.conn()
            if seq.resp == 3:
                hs.append((name + " HELLO", cl.call([b"HELLO", b"3"])))
        return hs

    def reopen_b(self):
        self.conns["B"].close()
        b = self.conns["B"] = self.conn()
        if self.resp == 3:
            b.call([b"HELLO", b"3"])
        self.b_blocked = False
        self.b_subscribed = False

    def open_replica(self):
        r = self.conns["R"] = Conn(self.server.port, timeout=30.0)
        r.call([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        r.send([b"PSYNC", b"?", b"-1"])
        r.skip_newlines()
        line = r.read_line()
        if not line.startswith(b"+FULLRESYNC"):
            raise ServerDied("%s: PSYNC answered %r" % (self.label, line))
        r.skip_newlines()
        line = r.read_line()
        if line.startswith(b"$EOF:"):
            r.read_until_marker(line[5:])
        elif line.startswith(b"$"):
            r.read_exact(int(line[1:]))
        else:
            raise ServerDied("%s: bad RDB header %r" % (self.label, line))
        # Redis starts the command stream on the first ACK received after the
        # transfer is done on its side, and ignores an earlier one: ACK and write
        # a marker until a marker comes through.
        c = self.conns["C"]
        for attempt in range(400):
            r.send([b"REPLCONF", b"ACK", b"0"])
            mark = b"init%d" % attempt
            c.call([b"SET", MARKER_KEY, mark])
            try:
                data = r.read_until_marker(encode([b"SET", MARKER_KEY, mark]), timeout=0.05)
            except Timeout:
                continue
            self.stream_state.normalise(parse_stream(data))
            break
        else:
            raise ServerDied("%s: the replication stream never started" % self.label)
        self.last_ack = time.monotonic()

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}

    def reset(self, defaults):
        """Back to a fresh state for the next sequence (same process)."""
        self.close()
        c = self.conn()
        try:
            c.call([b"FLUSHALL"])
            for name, value in defaults.items():
                c.call([b"CONFIG", b"SET", name, value])
            c.call([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
            c.call([b"DEBUG", b"SET-ACTIVE-EXPIRE", b"1"])
        finally:
            c.close()
        self.__init__(self.label, self.server)

    # -- helpers -------------------------------------------------------------
    def resolve(self, args, now_vals):
        out = []
        for i, a in enumerate(args):
            if isinstance(a, Var):
                v = self.vars.get(a.name, b"")
                if a.mutate == "flip" and v:
                    v = v[:-1] + bytes([v[-1] ^ 0x01])
                elif a.mutate == "trunc":
                    v = v[: len(v) // 2]
                out.append(v)
            elif isinstance(a, Now):
                out.append(now_vals[i])
            else:
                out.append(a)
        return out

    def barrier(self, conn):
        """PING <token> on a (maybe subscribed) connection; return the replies before its answer."""
        self.token += 1
        tok = b"__diffbarrier__%d" % self.token
        conn.send([b"PING", tok])
        out = []
        while True:
            rep = conn.read_reply()
            if rep.kind == "$" and rep.val == tok:
                return out
            if rep.is_aggregate() and len(rep.val) == 2 and rep.val[1].val == tok:
                return out
            out.append(rep)

    def read_skipping_messages(self, conn, obs, timeout=None):
        """Read a reply; RESP3 pub/sub messages pushed before it go to obs.extra (normalised)."""
        pushes = []
        while True:
            rep = conn.read_reply(timeout)
            if rep.kind == ">" and message_channel(rep) is not None:
                if not is_marker_message(rep):
                    pushes.append(rep)
                continue
            if pushes:
                raws = normalise_messages(pushes)
                obs.extra.append(("B: messages before the reply", Reply("[", b"".join(raws), None)))
            return rep

    def call_a(self, args):
        return self.conns["A"].call(args)

    # -- phase 1 ---------------------------------------------------------------
    def execute(self, step, now_vals):
        obs = Obs()
        if step.kind == "sleep":
            c = self.conns["C"]
            for db in DBS:
                c.call([b"SELECT", db])
                obs.extra.append(("sweep db" + db.decode(), c.call([b"EXISTS"] + ALL_KEYS)))
            c.call([b"SELECT", str(MARKER_DB).encode()])
            return obs
        if step.kind == "block":
            return self.execute_block(step, now_vals, obs)
        if step.kind == "collect":
            return self.execute_collect(step, obs)
        args = self.resolve(step.args, now_vals)
        if step.conn == "B":
            return self.execute_b(step, args, obs)
        queued_before = self.in_multi and upper(args[0]) not in (b"EXEC", b"DISCARD")
        rule = "exact" if queued_before else rule_for(args)
        pre = None
        if rule == "spop" and len(args) >= 2:
            pre = self.call_a([b"SMEMBERS", args[1]])
        rep = self.call_a(args)
        obs.reply = rep
        if step.save and self.label == "redis":
            # both servers RESTORE Redis's payload (a hash-table set/hash dumps in hash order)
            self.vars[step.save] = rep.val if rep.kind == "$" and rep.val is not None else b""
        self.track_multi(args, rep, obs)
        if not queued_before and not rep.is_error():
            if rule == "enc_ordered":
                enc = self.call_a([b"OBJECT", b"ENCODING", args[1]])
                obs.extra.append(("OBJECT ENCODING after", enc))
                rule = "exact" if enc.val in (b"listpack", b"intset", b"ziplist") else "enc_unordered"
            elif rule == "scan":
                self.check_scan(args, rep, obs)
            elif rule == "random":
                self.check_random(args, rep, obs)
            elif rule == "spop":
                self.check_spop(args, rep, pre, obs)
        obs.rule = rule
        return obs

    def track_multi(self, args, rep, obs):
        name = upper(args[0]) if args else b""
        if not self.in_multi:
            if name == b"MULTI" and rep.raw == b"+OK\r\n":
                self.in_multi, self.queued = True, []
            return
        if name in (b"EXEC", b"DISCARD"):
            obs.queued = self.queued
            self.in_multi, self.queued = False, []
        elif rep.raw == b"+QUEUED\r\n":
            self.queued.append(args)

    def execute_b(self, step, args, obs):
        b = self.conns["B"]
        if upper(args[0]) in (b"SUBSCRIBE", b"PSUBSCRIBE"):
            self.b_subscribed = True
        b.send(args)
        replies = self.barrier(b)
        replies = [r for r in replies if not is_marker_message(r)]
        if upper(args[0]) in (b"UNSUBSCRIBE", b"PUNSUBSCRIBE") and len(args) == 1:
            # unsubscribe-all confirms the channels in hash order: compare the set of
            # channels and the sequence of remaining counts
            items = [r.val for r in replies if r.is_aggregate() and len(r.val) == 3]
            obs.norm = ("unsubscribe-all", sorted(i[1].raw for i in items), [i[2].raw for i in items],
                        [r.kind for r in replies], len(replies) - len(items))
            obs.reply = Reply("!", b"<unsubscribe-all: see the normalised value>", None)
            return obs
        first = next((r for r in replies if r.kind != ">"), replies[0] if replies else NO_REPLY)
        obs.reply = first
        rule = rule_for(args)
        rule = {"enc_ordered": "enc_unordered"}.get(rule, rule)
        # rules that need extra commands on the connection have no place on B
        obs.rule = "exact" if rule in ("random", "scan", "spop", "exec") else rule
        rest = [r for r in replies if r is not first]
        if rest:
            raws = normalise_messages(rest)
            obs.extra.append(("B: the other replies", Reply("[", b"".join(raws), None)))
        return obs

    def execute_block(self, step, now_vals, obs):
        b = self.conns["B"]
        b.send(self.resolve(step.args, now_vals))
        self.b_blocked, self.b_early = True, None
        c = self.conns["C"]
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if b.has_data():
                self.b_early = self.read_skipping_messages(b, obs)
                self.b_blocked = False
                obs.reply = self.b_early
                return obs
            if blocked_clients(c) >= 1:
                obs.reply = Reply("!", b"<blocked>", None)
                return obs
            time.sleep(0.001)
        obs.reply = Reply("!", b"<neither blocked nor replied within 3 s>", None)
        return obs

    def execute_collect(self, step, obs):
        if self.b_early is not None or not self.b_blocked:
            obs.reply = Reply("!", b"<replied at once>", None)
            self.b_early = None
            return obs
        # The matching block step's timeout bounds the wait; 0 (forever) gets 2 s.
        try:
            obs.reply = self.read_skipping_messages(self.conns["B"], obs, timeout=self.block_timeout + 2.0)
        except Timeout:
            obs.reply = NO_REPLY
            self.reopen_b()
        self.b_blocked = False
        return obs

    # -- rule checks -----------------------------------------------------------
    def check_scan(self, args, rep, obs):
        """Continue the scan to cursor 0; the rule compares the set of everything returned."""
        name = upper(args[0])
        cur_idx = 1 if name == b"SCAN" else 2
        seen = set()
        is_pairs = name in (b"HSCAN", b"ZSCAN")
        for _ in range(10000):
            if not rep.is_aggregate() or len(rep.val) != 2 or not rep.val[1].is_aggregate():
                obs.props.append("%s reply is not [cursor, elements]: %r" % (name.decode(), rep.raw[:100]))
                break
            cursor = rep.val[0].val
            els = flat_elements(rep.val[1])
            if is_pairs:
                seen.update((els[i], els[i + 1]) for i in range(0, len(els) - 1, 2))
            else:
                seen.update(els)
            if cursor == b"0":
                break
            if not (cursor or b"x").isdigit():
                obs.props.append("bad cursor %r" % cursor)
                break
            nargs = list(args)
            nargs[cur_idx] = cursor
            rep = self.call_a(nargs)
        obs.norm = ("scan", sorted(seen))

    def check_random(self, args, rep, obs):
        name = upper(args[0])
        if name == b"RANDOMKEY":
            size = self.call_a([b"DBSIZE"])
            obs.extra.append(("DBSIZE", size))
            if rep.is_nil():
                if size.val != 0:
                    obs.props.append("RANDOMKEY nil in a non-empty DB")
            else:
                ex = self.call_a([b"EXISTS", rep.val])
                if ex.val != 1:
                    obs.props.append("RANDOMKEY returned a missing key %r" % rep.val)
            obs.norm = ("randomkey", rep.is_nil())
            return
        key = args[1]
        withv = len(args) > 3
        has_count = len(args) > 2
        if name == b"SRANDMEMBER":
            content = self.call_a([b"SMEMBERS", key])
            universe = set(flat_elements(content)) if content.is_aggregate() else set()
        elif name == b"HRANDFIELD":
            content = self.call_a([b"HGETALL", key])
            universe = dict(pairs(content)) if content.is_aggregate() else {}
        else:
            content = self.call_a([b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
            universe = dict(pairs(content)) if content.is_aggregate() else {}
        if content.is_aggregate():
            obs.extra.append(("content", Reply(content.kind, b"".join(sorted(c.raw for c in content.val)), None)))
        n = len(universe)
        if not has_count:
            if rep.is_nil():
                if n:
                    obs.props.append("nil from a non-empty key")
            elif rep.raw not in universe:
                obs.props.append("returned %r, not in the key" % rep.val)
            obs.norm = ("single", rep.kind, rep.is_nil())
            return
        count = int(args[2])
        if withv:
            got = pairs(rep)
            names = [f for f, _ in got]
            for f, v in got:
                if f not in universe:
                    obs.props.append("returned %r, not in the key" % f)
                elif universe[f] != v:
                    obs.props.append("value/score of %r is %r, the key has %r" % (f, v, universe[f]))
        else:
            names = flat_elements(rep)
            for f in names:
                if f not in universe:
                    obs.props.append("returned %r, not in the key" % f)
        want = min(count, n) if count >= 0 else (-count if n else 0)
        if len(names) != want:
            obs.props.append("returned %d elements, expected %d" % (len(names), want))
        if count >= 0 and len(set(names)) != len(names):
            obs.props.append("positive count returned duplicates")
        obs.norm = ("count", rep.kind, len(names))

    def check_spop(self, args, rep, pre, obs):
        universe = set(flat_elements(pre)) if pre is not None and pre.is_aggregate() else set()
        n = len(universe)
        if len(args) == 2:
            if rep.is_nil():
                if n:
                    obs.props.append("SPOP nil from a non-empty set")
            elif rep.raw not in universe:
                obs.props.append("SPOP returned %r, not a member" % rep.val)
            obs.norm = ("single", rep.kind, rep.is_nil())
            return
        count = int(args[2])
        got = flat_elements(rep) if rep.is_aggregate() else []
        if len(got) != min(count, n):
            obs.props.append("SPOP returned %d members, expected %d" % (len(got), min(count, n)))
        if len(set(got)) != len(got):
            obs.props.append("SPOP returned duplicates")
        for g in got:
            if g not in universe:
                obs.props.append("SPOP returned %r, not a member" % g)
        obs.norm = ("count", rep.kind, len(got))

    # -- phase 3 ---------------------------------------------------------------
    def barriers(self, obs):
        self.marker += 1
        mark = b"%d" % self.marker
        c = self.conns["C"]
        c.call([b"SET", MARKER_KEY, mark])
        obs.notes = normalise_messages([r for r in self.barrier(self.conns["S"]) if not is_marker_message(r)])
        r = self.conns["R"]
        data = r.read_until_marker(encode([b"SET", MARKER_KEY, mark]))
        obs.stream = self.stream_state.normalise(parse_stream(data))
        if self.b_subscribed and not self.b_blocked:
            obs.bmsgs = normalise_messages([m for m in self.barrier(self.conns["B"]) if not is_marker_message(m)])
        if time.monotonic() - self.last_ack > 5:
            r.send([b"REPLCONF", b"ACK", b"0"])
            self.last_ack = time.monotonic()


def show(x):
    if isinstance(x, Reply):
        return x.raw
    return x


class PairRunner:
    """Runs sequences on (Redis, redust) and reports divergences."""

    def __init__(self, redis_server, redust_server, defaults, allow=None, keep_going=False):
        self.sides = [Side("redis", redis_server), Side("redust", redust_server)]
        self.defaults = defaults  # {config name: default value} captured at start
        self.allow = allow or []
        self.keep_going = keep_going  # go on after any state-neutral divergence, not only known ones
        self.commands = 0
        self.merging = False
        self.broken = False

    def run(self, seq, steps=None, transcript=None, stop_on_known=False, deadline=None, stop_sig=None):
        """Run ``seq`` (or a subset ``steps``); return the divergences (the first unknown one ends it).

        ``transcript``, if a list, receives (step text, redis reply raw, redust reply raw).
        """
        steps = seq.steps if steps is None else steps
        divs = []
        idx = -1
        self.merging = False

        def report(d):
            d.seed = seq.seed
            d.known = match_allowlist(d, self.allow)
            divs.append(d)
            if stop_sig is not None and d.signature() == stop_sig:
                return False
            return (bool(d.known) or self.keep_going) and d.state_neutral() and not stop_on_known

        self.sides[1].vars = self.sides[0].vars
        try:
            hs = [s.open(seq) for s in self.sides]
            for (label, a), (_l, b) in zip(*hs):
                why = compare_reply("hello" if "HELLO" in label else "exact", a, b)
                if why:
                    if not report(Divergence("handshake", -1, [label.encode()], a.raw, b.raw, why)):
                        return divs
            self.window = None  # notifications / stream / B messages held for a merge=True step
            block_timeout = 0.0
            for idx, step in enumerate(steps):
                if deadline and time.monotonic() > deadline:
                    break
                if step.kind == "block":
                    block_timeout = step.timeout
                for s in self.sides:
                    s.block_timeout = block_timeout
                now_vals = {}
                for i, a in enumerate(step.args):
                    if isinstance(a, Now):
                        base = time.time()
                        now_vals[i] = (b"%d" % (int(base * 1000) + a.offset)) if a.unit == "ms" else (b"%d" % (int(base) + a.offset))
                if step.kind == "sleep":
                    time.sleep(step.ms / 1000.0)
                obs = [s.execute(step, now_vals) for s in self.sides]
                self.commands += 1
                self.converge(step, obs, now_vals)
                for s, o in zip(self.sides, obs):
                    s.barriers(o)
                if transcript is not None:
                    transcript.append(self.transcript_entry(step, now_vals, obs))
                stop = False
                for d in self.compare_step(idx, step, obs):
                    if not report(d):
                        stop = True
                        break
                if stop:
                    return divs
            for d in self.final_checks():
                if not report(d):
                    return divs
            return divs
        except (Closed, Timeout, ConnectionError, OSError, ServerDied) as e:
            alive = [s.server.is_alive() for s in self.sides]
            what = "crash" if not all(alive) else "timeout"
            cmd = steps[idx].args if 0 <= idx < len(steps) else []
            detail = "%s: %s (redis alive: %s, redust alive: %s)" % (type(e).__name__, e, alive[0], alive[1])
            d = Divergence(what, idx, [a for a in cmd if isinstance(a, bytes)],
                           "alive" if alive[0] else "died", "alive" if alive[1] else "died", detail)
            report(d)
            self.broken = True  # the caller restarts both servers
            return divs

    def transcript_entry(self, step, now_vals, obs):
        rendered = step.render()
        for i, v in now_vals.items():
            rendered = rendered.replace("<now%+d%s>" % (step.args[i].offset, step.args[i].unit), v.decode(), 1)
        return (rendered, show(obs[0].reply) if obs[0].reply else b"", show(obs[1].reply) if obs[1].reply else b"",
                obs[0].notes, obs[1].notes, render_stream(obs[0].stream), render_stream(obs[1].stream))

    def converge(self, step, obs, now_vals):
        """After SPOP the sets differ legitimately: rewrite the key on both with Redis's content."""
        if obs[0].rule != "spop" or obs[0].reply.is_error() or obs[1].reply.is_error():
            return
        key = step.args[1]
        # SMEMBERS on both servers: it may raise a keymiss notification, which must happen on both
        now = [s.call_a([b"SMEMBERS", key]) for s in self.sides]
        members = [c.val for c in now[0].val] if now[0].is_aggregate() else []
        for s, o in zip(self.sides, obs):
            o.extra.append(("converge DEL", s.call_a([b"DEL", key])))
            if members:
                o.extra.append(("converge SADD", s.call_a([b"SADD", key] + members)))

    def compare_step(self, idx, step, obs):
        a, b = obs
        cmd = [x for x in step.args]
        out = []
        if step.kind == "collect":
            cmd = [b"<collect>"]
        if a.reply is not None and b.reply is not None:
            why = compare_reply(a.rule, a.reply, b.reply, a.queued)
            if why:
                d = Divergence("reply", idx, cmd, a.reply.raw, b.reply.raw, why)
                if a.rule == "exec":
                    d.sig = exec_signature(a.reply, b.reply, a.queued)
                if a.reply.kind != ">" and nested_push(a.reply):
                    d.sig = "%s:nested-push|%s" % (d.cmd_name(), b.reply.raw[:1].decode("latin-1"))
                out.append(d)
        # extra observations, matched by label (a label only one server produced counts as <none>)
        labels = list(dict.fromkeys([la for la, _ in a.extra] + [lb for lb, _ in b.extra]))
        ea, eb = dict(a.extra), dict(b.extra)
        for label in labels:
            ra, rb = ea.get(label, NO_EXTRA), eb.get(label, NO_EXTRA)
            if ra.raw != rb.raw:
                out.append(Divergence("reply", idx, cmd + [("<%s>" % label).encode()], ra.raw, rb.raw, "extra check: " + label))
        if a.norm != b.norm and not out:
            out.append(Divergence("property", idx, cmd, repr(a.norm)[:300], repr(b.norm)[:300],
                                  "normalised replies differ"))
        if a.props or b.props:
            out.append(Divergence("property", idx, cmd, "; ".join(a.props) or "ok", "; ".join(b.props) or "ok",
                                  "reply properties (membership / count / distinctness)"))
        # notifications, stream and B's messages: a merge=True step is compared with the
        # next one, unordered (active expiry may kill the key in either step, in hash order),
        # and a divergence there is reported on the merge=True step's command
        w = self.window
        if w is None:
            w = self.window = {"idx": idx, "cmd": cmd, "notes": ([], []), "stream": ([], []), "bmsgs": ([], [])}
        for i, o in enumerate(obs):
            w["notes"][i].extend(o.notes)
            w["stream"][i].extend(o.stream)
            w["bmsgs"][i].extend(o.bmsgs)
        if step.merge:
            self.merging = True
            return out
        # SORT looks up BY/GET pattern keys in the input's order (hash order for a
        # set): its keymiss notifications are compared as a multiset
        ordered = not self.merging and w["cmd"][:1] not in ([b"SORT"], [b"SORT_RO"])
        self.merging = False
        self.window = None
        widx, wcmd = w["idx"], w["cmd"]
        (na, nb), (sa, sb), (ba, bb) = w["notes"], w["stream"], w["bmsgs"]
        diff = compare_messages(na, nb, ordered=ordered)
        if diff:
            d = Divergence("notify", widx, wcmd, na, nb, "keyspace notifications " + diff[0])
            d.sig = "%s:%s" % (d.cmd_name(), diff[1])  # the first events that differ, e.g. lpush|lpop
            out.append(d)
        diff = compare_stream(sa, sb, ordered=ordered, names_only=a.rule == "spop")
        if diff:
            d = Divergence("stream", widx, wcmd, render_stream(sa), render_stream(sb), "replication stream " + diff[0])
            d.sig = "%s:%s" % (d.cmd_name(), diff[1])  # the first commands that differ, e.g. PUBLISH|<none>
            out.append(d)
        diff = compare_messages(ba, bb, ordered=ordered)
        if diff:
            d = Divergence("bmsg", widx, wcmd, ba, bb, "messages to subscriber B " + diff[0])
            d.sig = "%s:%s" % (d.cmd_name(), diff[1])
            out.append(d)
        return out

    def final_checks(self):
        out = []
        cs = [s.conns["C"] for s in self.sides]
        dig = [c.call([b"DEBUG", b"DIGEST"]) for c in cs]
        digest_differs = dig[0].raw != dig[1].raw
        for db in DBS:
            for c in cs:
                c.call([b"SELECT", db])
            keys = [sorted(x.val for x in c.call([b"KEYS", b"*"]).val) for c in cs]
            if keys[0] != keys[1]:
                out.append(Divergence("keys", -1, [b"KEYS", b"*"], keys[0], keys[1], "db%s" % db.decode()))
            for k in sorted(set(keys[0]) & set(keys[1])):
                enc = [c.call([b"OBJECT", b"ENCODING", k]) for c in cs]
                if enc[0].raw != enc[1].raw:
                    typ = cs[0].call([b"TYPE", k])
                    out.append(Divergence("encoding", -1, [b"OBJECT", b"ENCODING", k], enc[0].raw, enc[1].raw,
                                          "%s:%s/%s" % (typ.val.decode(), enc[0].val.decode() if enc[0].val else "?",
                                                        enc[1].val.decode() if enc[1].val else "?")))
                if digest_differs:
                    dv = [c.call([b"DEBUG", b"DIGEST-VALUE", k]) for c in cs]
                    if dv[0].raw != dv[1].raw:
                        typ = cs[0].call([b"TYPE", k])
                        dumps = [c.call([b"DUMP", k]).raw[:200] for c in cs]
                        out.append(Divergence("digest", -1, [b"DEBUG", b"DIGEST-VALUE", k], dumps[0], dumps[1],
                                              "value:%s" % typ.val.decode()))
        for c in cs:
            c.call([b"SELECT", str(MARKER_DB).encode()])
        if digest_differs and not any(d.kind in ("digest", "keys") for d in out):
            out.append(Divergence("digest", -1, [b"DEBUG", b"DIGEST"], dig[0].raw, dig[1].raw, "dataset"))
        return out

    def reset(self):
        for s in self.sides:
            s.reset(self.defaults[s.label])
