#!/usr/bin/env bash
# RustSec advisory check of Cargo.lock and fuzz/Cargo.lock with cargo-audit.
#   tools/audit.sh [ADVISORY_DB_DIR]
# cargo-audit fetches the advisory database (a git repository on GitHub) into
# ~/.cargo/advisory-db. Where GitHub is out of reach (this project's machines and CI reach
# only the package registries, and none of them ships the database), give it a local
# clone of a snapshot: ADVISORY_DB_DIR, used as is (no fetch, a stale snapshot allowed).
# Accepted advisories, each with its reason: .cargo/audit.toml. Exit status: cargo
# audit's (0 = nothing that applies).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null || cargo install --locked cargo-audit
args=()
if [[ -n ${1:-} ]]; then
  args=(--db "$1" --no-fetch --stale)
  echo "advisory database: $1 ($(git -C "$1" log -1 --format='%h, %cd' --date=short 2>/dev/null || echo 'not a git clone'))"
fi
status=0
for lock in Cargo.lock fuzz/Cargo.lock; do
  cargo audit "${args[@]}" --file "$lock" || status=1
done
exit $status
