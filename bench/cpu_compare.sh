#!/bin/bash
# Server CPU time per redis-benchmark run, two redust binaries side by side.
#
#   bench/cpu_compare.sh OLD_BINARY NEW_BINARY [ROUNDS] [TESTS] [extra redis-benchmark args]
#   bench/cpu_compare.sh /tmp/redust-old target/release/redust-server 3 set,get,incr -r 1000000
#
# On a shared, noisy machine ops/s swing by half between runs; the CPU the server
# itself spends on a fixed load (user+sys from /proc, 10 ms ticks) is far steadier,
# so that is what decides "not slower". Each test runs 400k requests, -c 50 -P 16,
# alternating the two servers.
set -e
A=$1; B=$2; R=${3:-3}; T=${4:-set,get,incr}; shift 4 || true; EXTRA="$@"
start() { "$1" --port "$2" --bind 127.0.0.1 --save "" --appendonly no > /dev/null 2>&1 & sleep 0.5; }
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
start "$A" 7801; PA=$!
start "$B" 7802; PB=$!
trap 'kill $PA $PB' EXIT
TCK=$(getconf CLK_TCK)
for r in $(seq "$R"); do
  for t in ${T//,/ }; do
    for side in old new; do
      if [ $side = old ]; then P=$PA; PORT=7801; else P=$PB; PORT=7802; fi
      c0=$(cpu $P)
      rps=$(redis-benchmark -p $PORT -q -t "$t" -n 400000 -c 50 -P 16 $EXTRA | tr '\r' '\n' | grep 'requests per' | tail -1 | awk '{print $2}')
      c1=$(cpu $P)
      echo "round $r $t $side cpu_ms=$(( (c1-c0)*1000/TCK )) ops/s=$rps"
    done
  done
done
