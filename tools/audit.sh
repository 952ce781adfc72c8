#!/usr/bin/env bash
# RustSec advisory check of Cargo.lock and fuzz/Cargo.lock with cargo-audit.
#   tools/audit.sh [ADVISORY_DB_DIR]
# cargo-audit fetches the advisory database (a git repository on GitHub) into
# ~/.cargo/advisory-db. This project's machines and CI reach only the package registries,
# and none of them ships the database, so the audit runs offline against a snapshot:
# ADVISORY_DB_DIR if given, else the one kept in tools/audit/advisory-db (see
# tools/audit/README.md for its date and how to refresh it), used as is.
# Accepted advisories, each with its reason: .cargo/audit.toml. Exit status: cargo
# audit's (0 = nothing that applies).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null || cargo install --locked cargo-audit
if [[ -n ${1:-} ]]; then
  db=$1
  about=$(git -C "$db" log -1 --format='%h, %cd' --date=short 2>/dev/null || echo 'not a git clone')
else
  db=tools/audit/advisory-db
  about=$(sed -n 's/^snapshot: //p' tools/audit/README.md)
fi
args=(--db "$db" --no-fetch --stale)
echo "advisory database: $db ($about)"
status=0
for lock in Cargo.lock fuzz/Cargo.lock; do
  cargo audit "${args[@]}" --file "$lock" || status=1
done
exit $status
