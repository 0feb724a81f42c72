#!/usr/bin/env bash
# The whole test suite: build once (release), Rust unit and end-to-end tests,
# then the Python end-to-end suite against the same binary, then the tutorial
# scenarios (fixed ports, so alone and one at a time, after everything else).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-deps.sh
cargo build --release --workspace --bins
cargo test --release --workspace
scripts/planted-bugs.sh
SERVER_BIN="$PWD/target/release/redust-server"
REDUST_SERVER="$SERVER_BIN" REDUST_SCENARIOS_SEPARATE=1 python3 -m pytest tests/py -n 2 -q
scripts/scenarios.sh "$SERVER_BIN"
