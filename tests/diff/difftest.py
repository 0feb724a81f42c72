#!/usr/bin/env python3
"""Differential tester: redust against a real Redis 7.0, reply byte for reply byte.

Owns the command line, the two server processes, the time budget, the
divergence bookkeeping (dedup, allowlist, shrinking) and the final report.

    python3 tests/diff/difftest.py --seconds 100            # random seed, printed
    python3 tests/diff/difftest.py --seed 42 --replay       # rerun + shrink one sequence
    python3 tests/diff/difftest.py --keep-going --report out.json --allow tests/diff/known_divergences.txt

Both servers run with ``--enable-debug-command yes --repl-diskless-sync-delay 0``
on free loopback ports in temp dirs, with LC_ALL=C (SORT ALPHA uses strcoll).
REDIS_PEER / --redis picks the reference, REDUST_SERVER / --server the server
under test (pointing both at redis-server must give zero divergences).
Modules: resp.py (wire), gen.py (sequences), compare.py (rules),
runner.py (lockstep execution), shrink.py (delta debugging); the rules for
what Redis leaves free are in NONDETERMINISM.md.
"""

import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "py"))

os.environ["LC_ALL"] = "C"  # before any server starts: SORT ALPHA collates with strcoll

from compare import load_allowlist  # noqa: E402
from gen import OPTIONAL_COMMANDS, VARIED_CONFIG, Gen, all_command_names  # noqa: E402
from helpers import Server  # noqa: E402
from resp import Conn  # noqa: E402
from runner import SERVER_ARGS, PairRunner  # noqa: E402
from shrink import Shrinker  # noqa: E402

DEFAULT_REDIS = os.environ.get("REDIS_PEER", "/usr/bin/redis-server")
DEFAULT_SERVER = os.environ.get("REDUST_SERVER", os.path.join(REPO, "target", "release", "redust-server"))


class Pair:
    """The two server processes (restartable) and what was learnt about them at start."""

    def __init__(self, redis_bin, server_bin, allow, keep_going=False):
        self.bins = {"redis": redis_bin, "redust": server_bin}
        self.allow = allow
        self.keep_going = keep_going
        self.servers = {}
        self.defaults = {}
        self.start()

    def start(self):
        for label, binary in self.bins.items():
            s = Server(args=SERVER_ARGS, binary=binary)
            s.start()
            self.servers[label] = s
            c = Conn(s.port)
            self.defaults[label] = {}
            for name in VARIED_CONFIG:
                rep = c.call([b"CONFIG", b"GET", name])
                vals = [x.val for x in rep.val]
                self.defaults[label][name] = vals[1] if len(vals) == 2 else VARIED_CONFIG[name][0]
            c.close()

    def stop(self):
        for s in self.servers.values():
            s.cleanup()
        self.servers = {}

    def restart(self):
        self.stop()
        self.start()

    def fresh_runner(self, keep_going=False):
        """A runner on reset servers (FLUSHALL, default config, no old connections)."""
        def make():
            return PairRunner(self.servers["redis"], self.servers["redust"], self.defaults, self.allow, keep_going)
        r = make()
        try:
            r.reset()
        except Exception:  # noqa: BLE001 - a dead server: start again
            self.restart()
            r = make()
            r.reset()
        return r

    def command_sets(self):
        """(implemented by both, missing from redust) among the generator's commands; all of Redis's too."""
        names = sorted(all_command_names())
        have = {}
        for label, s in self.servers.items():
            c = Conn(s.port)
            rep = c.call([b"COMMAND", b"INFO"] + [n.encode() for n in names])
            have[label] = {n for n, r in zip(names, rep.val) if not r.is_nil()}
            lst = c.call([b"COMMAND", b"LIST"])
            have[label + "_all"] = {x.val.decode().lower() for x in lst.val} if lst.is_aggregate() else set()
            c.close()
        both = have["redis"] & have["redust"]
        missing = sorted(have["redis"] - have["redust"])
        all_missing = sorted(have["redis_all"] - have["redust_all"])
        return both, missing, all_missing


def rerun_command(args, seed):
    cmd = "python3 tests/diff/difftest.py --seed %d --replay" % seed
    if args.resp:
        cmd += " --resp %d" % args.resp
    if args.families:
        cmd += " --families %s" % args.families
    if args.commands_per_sequence != DEFAULTS["commands_per_sequence"]:
        cmd += " --commands-per-sequence %d" % args.commands_per_sequence
    return cmd


def fmt(x):
    if isinstance(x, (bytes, bytearray)):
        return repr(bytes(x))
    if isinstance(x, list):
        return "[" + ", ".join(fmt(i) for i in x) + "]"
    return str(x)


def describe(div, args):
    lines = []
    where = "step %d" % div.step if div.step >= 0 else "end-of-sequence check"
    lines.append("DIVERGENCE [%s] seed=%d %s: %s" % (div.kind, div.seed, where,
                                                     " ".join(fmt(a) if not isinstance(a, bytes) else a.decode("latin-1")
                                                              for a in div.command)))
    lines.append("  signature: %s" % div.signature())
    lines.append("  %s" % div.detail)
    lines.append("  redis : %s" % fmt(div.redis))
    lines.append("  redust: %s" % fmt(div.redust))
    if div.known:
        lines.append("  known divergence: %s" % div.known)
    if div.repro:
        lines.append("  minimal reproduction (%d steps; replies redis | redust):" % len(div.repro))
        for text, a, b, na, nb, sa, sb in div.repro:
            lines.append("    %s" % text)
            if a == b:
                lines.append("        both  : %s" % fmt(a))
            else:
                lines.append("        redis : %s" % fmt(a))
                lines.append("        redust: %s" % fmt(b))
            if na != nb or div.kind in ("notify", "bmsg"):
                lines.append("        notifications redis : %s" % fmt(na))
                lines.append("        notifications redust: %s" % fmt(nb))
            if sa != sb or div.kind == "stream":
                lines.append("        replication redis : %s" % "; ".join(sa))
                lines.append("        replication redust: %s" % "; ".join(sb))
    lines.append("  rerun: %s" % rerun_command(args, div.seed))
    return "\n".join(lines)


def shrink_and_record(pair, seq, div, args, log, budget_end=None):
    budget = args.shrink_seconds
    if budget_end is not None:  # do not run far past the time budget
        budget = min(budget, max(5.0, budget_end + 30 - time.monotonic()))
    if budget <= 0:
        return
    sh = Shrinker(pair, seq, div, budget_s=budget, log=log)
    steps, ok = sh.shrink(div.step)
    transcript = []
    runner = pair.fresh_runner(keep_going=True)
    runner.run(seq, steps=steps, transcript=transcript, stop_sig=div.signature())
    if runner.broken:
        pair.restart()
    div.repro = transcript
    log("  (shrunk to %d steps in %d trials%s)" % (len(steps), sh.trials, "" if ok else ", not reproducible"))


DEFAULTS = {"commands_per_sequence": 80}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=100.0, help="time budget (default 100)")
    ap.add_argument("--seed", type=int, default=None, help="first sequence seed (default random); sequence i uses seed+i")
    ap.add_argument("--sequences", type=int, default=0, help="stop after this many sequences (0 = time budget only)")
    ap.add_argument("--commands-per-sequence", type=int, default=DEFAULTS["commands_per_sequence"])
    ap.add_argument("--resp", type=int, choices=[2, 3], default=None, help="protocol (default: each sequence picks)")
    ap.add_argument("--families", default=None, help="comma list to focus on, e.g. strings,lists (default: all)")
    ap.add_argument("--keep-going", action="store_true", help="collect all distinct divergences")
    ap.add_argument("--replay", action="store_true", help="run only the sequence of --seed, shrink and print it")
    ap.add_argument("--report", default=None, help="write a JSON report here")
    ap.add_argument("--allow", default=None, help="allowlist of known divergences (glob per line on the signature)")
    ap.add_argument("--shrink-seconds", type=float, default=60.0, help="time for shrinking each new divergence")
    ap.add_argument("--redis", default=DEFAULT_REDIS, help="reference server (env REDIS_PEER)")
    ap.add_argument("--server", default=DEFAULT_SERVER, help="server under test (env REDUST_SERVER)")
    ap.add_argument("--verbose", action="store_true", help="print every step with both replies")
    args = ap.parse_args(argv)

    def log(*a):
        print(*a, flush=True)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2 ** 31)
    families = args.families.split(",") if args.families else None
    log("difftest: seed %d  redis=%s  server=%s" % (seed, args.redis, args.server))
    allow = load_allowlist(args.allow)
    pair = Pair(args.redis, args.server, allow, args.keep_going)
    start = time.monotonic()
    found = {}  # signature -> Divergence (first seen)
    counts = {}  # signature -> occurrences
    sequences = 0
    commands = 0
    try:
        implemented, missing, all_missing = pair.command_sets()
        required_missing = [m for m in missing if m not in OPTIONAL_COMMANDS]
        optional_missing = [m for m in missing if m in OPTIONAL_COMMANDS]
        if optional_missing:
            log("not generated (redust lacks these optional commands): %s" % " ".join(optional_missing))
        if all_missing:
            log("commands Redis has and redust lacks (%d): %s" % (len(all_missing), " ".join(all_missing)))
        from compare import Divergence, match_allowlist  # noqa: PLC0415
        for m in required_missing:
            d = Divergence("unimplemented", -1, [m.upper().encode()], "implemented", "unknown command",
                           "a command of the tested families is missing from redust")
            d.seed = seed
            d.known = match_allowlist(d, allow)
            found[d.signature()] = d
            counts[d.signature()] = 1
        budget_end = start + args.seconds
        i = 0
        while True:
            if args.replay and i >= 1:
                break
            if not args.replay:
                if time.monotonic() >= budget_end or (args.sequences and i >= args.sequences):
                    break
            seq_seed = seed + i
            i += 1
            seq = Gen(seq_seed, resp=args.resp, families=families, implemented=implemented).sequence(
                args.commands_per_sequence)
            runner = pair.fresh_runner(keep_going=args.keep_going)
            transcript = [] if args.verbose else None
            divs = runner.run(seq, transcript=transcript,
                              deadline=None if args.replay else budget_end + 30)
            sequences += 1
            commands += runner.commands
            if transcript:
                log("sequence seed=%d resp=%d notify=%r patterns=%r" % (seq.seed, seq.resp, seq.notify, seq.sub_patterns))
                for text, a, b, na, nb, _sa, _sb in transcript:
                    log("  %s\n    redis : %s\n    redust: %s" % (text, fmt(a), fmt(b)))
                    if na != nb:
                        log("    notif redis : %s\n    notif redust: %s" % (fmt(na), fmt(nb)))
            if runner.broken:
                pair.restart()
            new_unknown = False
            for d in divs:
                sig = d.signature()
                counts[sig] = counts.get(sig, 0) + 1
                if sig in found:
                    continue
                found[sig] = d
                if d.known:
                    log("known divergence (allowlisted): %s  [seed %d]" % (sig, d.seed))
                    continue
                new_unknown = True
                log("")
                log("new divergence in sequence seed=%d (resp %d, notify %r): %s" % (seq.seed, seq.resp, seq.notify, sig))
                shrink_and_record(pair, seq, d, args, log, None if args.replay else budget_end)
                log(describe(d, args))
                log("")
            if new_unknown and not args.keep_going:
                break
            if sequences % 20 == 0:
                log("... %d sequences, %d commands, %d distinct divergences, %.0f s" % (
                    sequences, commands, len(found), time.monotonic() - start))
    finally:
        pair.stop()

    unknown = [d for d in found.values() if not d.known]
    known = [d for d in found.values() if d.known]
    log("")
    log("difftest summary: seed %d, %d sequences, %d commands in %.0f s" % (seed, sequences, commands, time.monotonic() - start))
    log("  distinct divergences: %d new, %d known (allowlisted)" % (len(unknown), len(known)))
    for d in unknown:
        log("  NEW   %s  (x%d, seed %d)  rerun: %s" % (d.signature(), counts[d.signature()], d.seed, rerun_command(args, d.seed)))
    for d in known:
        log("  known %s  (x%d)" % (d.signature(), counts[d.signature()]))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({
                "seed": seed, "sequences": sequences, "commands": commands,
                "divergences": [{
                    "signature": d.signature(), "kind": d.kind, "count": counts[d.signature()], "seed": d.seed,
                    "step": d.step, "command": fmt(d.command), "detail": d.detail, "redis": fmt(d.redis),
                    "redust": fmt(d.redust), "known": d.known, "rerun": rerun_command(args, d.seed),
                    "repro": [{"step": t, "redis": fmt(a), "redust": fmt(b), "notify_redis": fmt(na), "notify_redust": fmt(nb),
                               "stream_redis": sa, "stream_redust": sb} for t, a, b, na, nb, sa, sb in d.repro],
                    "text": describe(d, args),
                } for d in found.values()],
            }, f, indent=1)
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
