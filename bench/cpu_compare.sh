#!/bin/bash
# Server CPU time per request, two redust binaries side by side.
#
#   bench/cpu_compare.sh OLD_BINARY NEW_BINARY [ROUNDS] [TESTS] [extra redis-benchmark args]
#   bench/cpu_compare.sh /tmp/redust-old target/release/redust-server 3 set,get,incr -r 1000000
#
# On a shared, noisy machine ops/s swing by half between runs; the CPU the server
# itself spends on a fixed load (user+sys from /proc, 10 ms ticks) is far steadier,
# so that is what decides "not slower". Starts both binaries, then runs each test with
# bench/alternate.sh: 400k requests, -c 50 -P 16, alternating the two servers; prints
# the medians over the rounds.
set -e
A=$1; B=$2; R=${3:-3}; T=${4:-set,get,incr}; shift 4 || true
HERE=$(dirname "$0")
start() { "$1" --port "$2" --bind 127.0.0.1 --save "" --appendonly no > /dev/null 2>&1 & }
start "$A" 7801; PA=$!
start "$B" 7802; PB=$!
trap 'kill $PA $PB' EXIT
for port in 7801 7802; do
  for _ in $(seq 100); do redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.05; done
done
for t in ${T//,/ }; do
  REQUESTS=400000 "$HERE/alternate.sh" "$R" "old:7801 new:7802" "$t" 16 "$@"
done
