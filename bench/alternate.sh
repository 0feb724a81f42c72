#!/bin/bash
# Alternating redis-benchmark runs against servers that are already running, with each
# server's CPU time per request: for before/after comparisons of one change.
#
#   bench/alternate.sh ROUNDS "name:port name:port ..." TEST PIPELINE [redis-benchmark args]
#   bench/alternate.sh 3 "old:7801 new:7802 redis:7803" get 16
#   bench/alternate.sh 3 "new:7802 redis:7803" set 16 -d 1024
#
# Each round runs REQUESTS (default 1M, -c 50) against every server in turn; the output is
# the median ops/s and the median server CPU (user+system from /proc, 10 ms ticks) per request.
set -e
R=$1; SERVERS=$2; T=$3; PP=$4; shift 4
N=${REQUESTS:-1000000}
TCK=$(getconf CLK_TCK)
declare -A OPS CPU
for r in $(seq "$R"); do
  for s in $SERVERS; do
    name=${s%%:*}; port=${s#*:}
    pid=$(ss -ltnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
    c0=$(awk '{print $14+$15}' /proc/$pid/stat)
    ops=$(redis-benchmark -p "$port" -q -t "$T" -n "$N" -c 50 -P "$PP" "$@" | tr '\r' '\n' \
      | grep 'requests per' | tail -1 | awk '{for(i=1;i<=NF;i++) if($i=="requests") print $(i-1)}')
    c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    us=$(echo "($c1-$c0)*1000000/$TCK/$N" | bc -l)
    OPS[$name]="${OPS[$name]} $ops"; CPU[$name]="${CPU[$name]} $us"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for s in $SERVERS; do
  name=${s%%:*}
  printf '%s P%s %s %s: median ops/s=%s cpu_us/req=%.3f (ops:%s)\n' "$T" "$PP" "$*" "$name" \
    "$(echo "${OPS[$name]}" | median)" "$(echo "${CPU[$name]}" | median)" "${OPS[$name]}"
done
