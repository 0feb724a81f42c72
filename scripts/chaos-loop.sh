#!/usr/bin/env bash
# Runs the replication chaos test many times with fresh seeds, PARALLEL at a
# time, and prints one line per run (seed, result) and a summary. Failing runs
# keep their output in $OUT/run-<n>.log.
#   scripts/chaos-loop.sh [RUNS=100] [PARALLEL=2]
# REDUST_SERVER picks the binary (default target/release/redust-server);
# REPL_CHAOS_SECONDS the length of each run.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
PARALLEL=${2:-2}
OUT=${OUT:-$(mktemp -d /tmp/redust-chaos.XXXXXX)}
mkdir -p "$OUT"
export REDUST_SERVER=${REDUST_SERVER:-$PWD/target/release/redust-server}
run_one() {
  local n=$1 seed=$((1000000 + $1 * 7919 + $(date +%s) % 100000))
  local log="$OUT/run-$n.log"
  if REPL_CHAOS_SEED=$seed timeout 300 python3 -m pytest -q -p no:randomly \
      tests/py/test_replication_chaos.py >"$log" 2>&1; then
    echo "run $n seed $seed: pass"
    rm -f "$log"
  else
    echo "run $n seed $seed: FAIL ($log)"
  fi
}
export -f run_one
export OUT
seq 1 "$RUNS" | xargs -P "$PARALLEL" -I{} bash -c 'run_one {}' | tee "$OUT/summary.txt"
pass=$(grep -c ': pass' "$OUT/summary.txt")
echo "chaos loop: $pass of $RUNS runs passed ($PARALLEL at a time), output in $OUT"
[ "$pass" = "$RUNS" ]
