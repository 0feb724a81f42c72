#!/usr/bin/env bash
# Runs one cargo-fuzz target for a while (default: every target, 60 s each).
#   scripts/fuzz.sh [target] [seconds]      targets: resp_parse, rdb_load, aof_load, aof_manifest, long_double, frame, script_decoders, function_payload, sentinel_decoders, acl_rules, cluster_bus, lease_request
# cargo-fuzz wants a nightly compiler; RUSTC_BOOTSTRAP lets the stable one
# build the target without sanitizers (coverage-guided fuzzing still works).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=${1:-"resp_parse rdb_load aof_load aof_manifest long_double frame script_decoders function_payload sentinel_decoders acl_rules cluster_bus lease_request"}
seconds=${2:-60}
for t in $targets; do
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" --sanitizer none -- -max_total_time="$seconds"
done
