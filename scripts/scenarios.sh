#!/usr/bin/env bash
# Runs the shared tutorial scenarios that redust supports so far, one at a
# time (they use the tutorials' fixed ports), against the given server binary.
# Skips with a notice when the shared scenario directory is absent. The
# scenarios live beside the repository, in ../shared/scenarios (SCENARIOS_DIR
# overrides); a git worktree checked out elsewhere also looks beside the main
# repository.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-$PWD/target/release/redust-server}
dir=${SCENARIOS_DIR:-$PWD/../shared/scenarios}
if [ ! -d "$dir" ] && [ -z "${SCENARIOS_DIR:-}" ]; then
  common=$(git rev-parse --git-common-dir 2>/dev/null || true)
  [ -n "$common" ] && [ -d "$common/../../shared/scenarios" ] && dir=$common/../../shared/scenarios
fi
if [ ! -d "$dir" ]; then
  echo "scenarios: $dir not found, skipped"
  exit 0
fi
for s in s1-single-replica.sh s2-two-replicas-auth.sh s3-sentinel-failover.sh s4-cluster.sh; do
  echo "== $s"
  SERVER="$server" timeout 300 bash "$dir/$s"
done
