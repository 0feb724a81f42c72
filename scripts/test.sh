#!/usr/bin/env bash
# The whole test suite: build once (release), Rust unit and end-to-end tests,
# then the Python end-to-end suite against the same binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-deps.sh
cargo build --release --workspace --bins
cargo test --release --workspace
REDUST_SERVER="$PWD/target/release/redust-server" python3 -m pytest tests/py -n 2 -q
