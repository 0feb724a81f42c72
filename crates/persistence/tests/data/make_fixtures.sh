#!/usr/bin/env bash
# Regenerates the RDB and DUMP fixtures in this directory with a real Redis 7.0
# (/usr/bin/redis-server, Debian's 7.0.15). Every file is small and
# deterministic in content (not in bytes: ctime, used-mem and LRU/LFU data
# vary); tests/fixtures.rs holds the expected content of each.
#
# Usage: crates/persistence/tests/data/make_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")"
out="$PWD"
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS_CLI=${REDIS_CLI:-/usr/bin/redis-cli}

tmp=$(mktemp -d)
sock="$tmp/redis.sock"
pid=
start() {
  "$REDIS_SERVER" --port 0 --unixsocket "$sock" --dir "$tmp" --dbfilename dump.rdb \
    --save "" --appendonly no --enable-debug-command yes --daemonize no \
    --logfile "$tmp/redis.log" "$@" &
  pid=$!
  for _ in $(seq 100); do
    "$REDIS_CLI" -s "$sock" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "redis-server did not start" >&2
  exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
cleanup() { stop; rm -rf "$tmp"; }
trap cleanup EXIT

cli() {
  local reply
  reply=$("$REDIS_CLI" -s "$sock" "$@")
  case "$reply" in ERR*|WRONGTYPE*) echo "redis: $* -> $reply" >&2; exit 1 ;; esac
}

# Saves the current data set as $1 and starts the next one from scratch with
# Redis's default encoding thresholds.
snapshot() {
  cli save
  cp "$tmp/dump.rdb" "$out/$1"
  cli flushall
  cli function flush
  cli config set list-max-listpack-size -2 list-compress-depth 0 \
    set-max-intset-entries 512 zset-max-listpack-entries 128 hash-max-listpack-entries 512 \
    maxmemory-policy noeviction
  cli debug quicklist-packed-threshold 1073741824
}

# Writes the DUMP payload of key $1 to $2 (the reply without redis-cli's newline).
dump() {
  "$REDIS_CLI" -s "$sock" --raw dump "$1" | head -c -1 >"$out/$2"
}

rep() { printf "%${2}s" "" | tr ' ' "$1"; }

start

# Strings: int8/16/32 encodings, integers that must stay raw, LZF, binary.
cli set int8 12
cli set int16 -300
cli set int32 100000
cli set bigint 9999999999
cli set leadingzero 007
cli set float 3.14
cli set empty ""
cli set compressible "$(rep a 200)"
cli set incompressible abcdefghijklmnopqrstuvwxyz0123456789
printf '\000\001\377binary' | "$REDIS_CLI" -s "$sock" -x set binary >/dev/null
dump compressible dump_string.bin
snapshot strings.rdb

# Lists: one listpack node; several nodes; LZF-compressed inner nodes; plain nodes.
cli rpush small a b 1 2 -1 1000 70000 -9223372036854775808
cli config set list-max-listpack-size 4
cli rpush multi e1 e2 e3 e4 e5 e6 e7 e8 e9 e10
cli config set list-compress-depth 1
cli rpush compressed "$(rep x 30)1" "$(rep x 30)2" "$(rep x 30)3" "$(rep x 30)4" \
  "$(rep y 30)1" "$(rep y 30)2" "$(rep y 30)3" "$(rep y 30)4" \
  "$(rep z 30)1" "$(rep z 30)2" "$(rep z 30)3" "$(rep z 30)4" "tail"
cli config set list-compress-depth 0 list-max-listpack-size -2
cli debug quicklist-packed-threshold 100
cli rpush plain head "$(rep p 150)" tail
cli debug quicklist-packed-threshold 1073741824
dump multi dump_list.bin
snapshot lists.rdb

# Sets: intsets of every width, a hashtable set, an all-integer hashtable set.
cli sadd i16 1 2 3 -5
cli sadd i32 1 70000
cli sadd i64 1 5000000000
cli sadd strs a b c
cli config set set-max-intset-entries 2
cli sadd bigints 1 2 3 4
dump i64 dump_intset.bin
dump strs dump_set.bin
snapshot sets.rdb

# Sorted sets: listpack and skiplist (binary scores), with special scores.
cli zadd small 1 a 2.5 b -3 c inf d -inf e 0.1 f 1e300 g
cli config set zset-max-listpack-entries 2
cli zadd big 1 a 2.5 b -3 c inf d -inf e 0.1 f 1e300 g
dump small dump_zset_listpack.bin
dump big dump_zset.bin
snapshot zsets.rdb

# Hashes: listpack and hashtable.
cli hset small f1 v1 f2 123 f3 -70000
cli hset long f "$(rep v 100)"
cli config set hash-max-listpack-entries 1
cli hset big f1 v1 f2 v2 f3 300
dump small dump_hash_listpack.bin
dump big dump_hash.bin
snapshot hashes.rdb

# Expire times and LRU idle times.
cli config set maxmemory-policy allkeys-lru
cli set volatile v
cli pexpireat volatile 4102444800000
cli set persistent p
cli rpush vlist a
cli pexpireat vlist 4102444800123
snapshot expire_lru.rdb

# LFU counters.
cli config set maxmemory-policy allkeys-lfu
cli set a 1
cli set b 2
cli pexpireat b 4102444800000
snapshot lfu.rdb

# Several databases.
cli -n 0 set a 1
cli -n 5 set b 2
cli -n 15 rpush c x
snapshot multidb.rdb

# A function library.
cli function load "#!lua name=mylib
redis.register_function('myfunc', function(keys, args) return 1 end)"
snapshot function.rdb

# A stream (not supported by the reader yet).
cli set before 1
cli xadd s 1-1 f v
snapshot stream.rdb

# Nothing at all.
snapshot empty.rdb

# Checksums and compression off (rdbchecksum can only be set at start-up).
stop
start --rdbchecksum no --rdbcompression no
cli set k "$(rep c 100)"
snapshot nochecksum.rdb


python3 "$out/make_corrupt.py"
