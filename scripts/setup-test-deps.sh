#!/usr/bin/env bash
# Installs what the test suite needs: redis-tools (redis-cli, redis-benchmark),
# Debian's redis-server 7.0 for side-by-side checks, the Python packages, and
# the Node.js clients (ioredis, from tests/js's lock file) when node is here.
set -euo pipefail
need_apt=0
for bin in redis-cli redis-server redis-benchmark; do
  command -v "$bin" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-tools redis-server >/dev/null
  # The package starts a system redis on 6379; tests don't need it.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
python3 -m pip install -q -r "$(dirname "$0")/../tests/py/requirements.txt"
if command -v npm >/dev/null 2>&1; then
  (cd "$(dirname "$0")/../tests/js" && npm ci --silent --no-audit --no-fund)
fi
