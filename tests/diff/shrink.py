"""Delta debugging of a divergent sequence.

Owns the search for a minimal step list that still shows the same divergence
(same ``Divergence.signature()``): cut everything after the divergent step,
then ddmin over step *groups* (a group is what must stay together: a block step
and its collect, a tiny TTL and its sleep, a whole MULTI..EXEC), then try
dropping single steps inside the remaining groups.  Every trial replays on the
same server processes after a reset (FLUSHALL, CONFIG defaults, new
connections); a crash restarts them.
"""

import time


class Shrinker:
    def __init__(self, pair, seq, target, budget_s=60.0, log=None):
        self.pair = pair  # difftest.Pair: .runner, .restart()
        self.seq = seq
        self.target = target.signature()
        self.deadline = time.monotonic() + budget_s
        self.trials = 0
        self.log = log or (lambda *_: None)

    def reproduces(self, steps):
        if time.monotonic() > self.deadline:
            return False
        self.trials += 1
        runner = self.pair.fresh_runner(keep_going=True)
        divs = runner.run(self.seq, steps=steps, stop_sig=self.target)
        if runner.broken:
            self.pair.restart()
        return any(d.signature() == self.target for d in divs)

    def shrink(self, step_index):
        steps = list(self.seq.steps)
        if 0 <= step_index < len(steps):
            cut = steps[: step_index + 1]
            # keep whole groups: a collect/sleep may sit after the divergent step
            last_group = steps[step_index].group
            cut += [s for s in steps[step_index + 1:] if s.group == last_group]
            if self.reproduces(cut):
                steps = cut
        if not self.reproduces(steps):
            self.log("  (the divergence does not reproduce on replay; keeping the full sequence)")
            return list(self.seq.steps), False
        groups = []
        for s in steps:
            if s.group not in groups:
                groups.append(s.group)

        def by_groups(gs):
            keep = set(gs)
            return [s for s in steps if s.group in keep]

        groups = self.ddmin(groups, lambda gs: self.reproduces(by_groups(gs)))
        steps = by_groups(groups)
        # single steps inside multi-step groups (e.g. commands inside MULTI)
        i = 0
        while i < len(steps) and time.monotonic() < self.deadline:
            st = steps[i]
            same_group = [s for s in steps if s.group == st.group]
            if len(same_group) > 1 and st.kind == "cmd" and st.name() not in ("MULTI", "EXEC", "DISCARD"):
                trial = steps[:i] + steps[i + 1:]
                if self.reproduces(trial):
                    steps = trial
                    continue
            i += 1
        return steps, True

    def ddmin(self, items, test):
        n = 2
        while len(items) >= 2 and time.monotonic() < self.deadline:
            chunk = max(1, (len(items) + n - 1) // n)
            subsets = [items[i:i + chunk] for i in range(0, len(items), chunk)]
            reduced = False
            for sub in subsets:
                comp = [x for x in items if x not in sub]
                if comp and test(comp):
                    items = comp
                    n = max(n - 1, 2)
                    reduced = True
                    break
            if not reduced:
                if n >= len(items):
                    break
                n = min(len(items), n * 2)
        return items
