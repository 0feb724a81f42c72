#!/usr/bin/env bash
# Shows that the replication simulation has teeth: plants one known bug at a
# time in crates/replication (a mutation of one line), runs the simulation's
# CI budget, and fails if any planted bug goes unnoticed. The source is
# restored after each mutation, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

# file | the line as written | the line with the bug | what the bug is
mutations=(
  "crates/replication/src/master.rs|                    position: start,|                    position: start + 1,|+CONTINUE streams from one byte past the asked offset"
  "crates/replication/src/master.rs|                r.position = offset + 1;|                r.position = offset;|a full sync's stream repeats the snapshot's last byte"
  "crates/replication/src/lib.rs|        self.offset = offset;\n        self.buffer = Some|        self.offset = offset + 1;\n        self.buffer = Some|a replica adopts its master's offset one byte ahead"
)

backup=$(mktemp -d)
restore() {
  for f in "$backup"/*.path; do
    [ -e "$f" ] || continue
    cp "${f%.path}" "$(cat "$f")"
  done
  rm -rf "$backup"
}
trap restore EXIT

missed=0
for m in "${mutations[@]}"; do
  IFS='|' read -r file before after what <<<"$m"
  key=$(echo "$file" | tr '/' '_')
  [ -e "$backup/$key" ] || { cp "$file" "$backup/$key"; echo "$file" >"$backup/$key.path"; }
  python3 - "$file" "$before" "$after" <<'PY'
import sys
path, before, after = sys.argv[1], sys.argv[2].replace('\\n', '\n'), sys.argv[3].replace('\\n', '\n')
text = open(path).read()
if text.count(before) != 1:
    sys.exit(f"planted-bugs: the line to mutate is not found exactly once in {path}: {before!r}")
open(path, 'w').write(text.replace(before, after))
PY
  if cargo test --release -q -p redust-test-support --test sim_replication >/dev/null 2>&1; then
    echo "planted-bugs: NOT caught: $what ($file)"
    missed=1
  else
    echo "planted-bugs: caught: $what"
  fi
  cp "$backup/$key" "$file"
done
# The restored sources build the real test binary again.
cargo test --release -q -p redust-test-support --test sim_replication >/dev/null
exit $missed
