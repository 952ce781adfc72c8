#!/usr/bin/env bash
# Tempest's identity API tests (and keystone-tempest-plugin) against keystone-rs.
#
#   tools/tempest.sh [OUTDIR]               start a fresh keystone-rs (as tests/interop does:
#                                           KEYSTONE_RS_BIN, default target/debug/keystone-rs;
#                                           KEYSTONE_TEST_DATABASE_URL for PostgreSQL/MariaDB),
#                                           run tempest against it, stop it
#   tools/tempest.sh --url URL [OUTDIR]     use a Keystone already running at URL (or set
#                                           KEYSTONE_URL); admin credentials from OS_* (the
#                                           runner defaults to admin/secretadmin)
# OUTDIR defaults to target/tempest. Everything else is the shared runner's knobs, passed
# through the environment: TEMPEST_REGEX (e.g. 'tempest\.api\.identity\.v3\.test_tokens'),
# TEMPEST_EXCLUDE, TEMPEST_CONCURRENCY, TEMPEST_TRUST, TEMPEST_EXTENSIONS,
# TEMPEST_ENFORCE_SCOPE, TEMPEST_CONF_APPEND.
# The runner is shared/tools/tempest/run.sh next to the main checkout (override with
# TEMPEST_RUNNER). Prints its `tempest: P passed, F failed, S skipped` line; exit status is
# the runner's (0 = nothing failed).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
URL=${KEYSTONE_URL:-}
while [[ $# -gt 0 ]]; do
  case $1 in
    --url) URL=${2:?--url needs a URL}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -le 1 ]] || usage
OUT=$(realpath -m "${1:-$REPO/target/tempest}")

# shared/ is a sibling of the main checkout; from a git worktree, find the main checkout
# through the common git directory.
if [[ -z ${TEMPEST_RUNNER:-} ]]; then
  common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  for candidate in "$REPO/../shared" ${common:+"$(dirname "$common")/../shared"}; do
    [[ -x $candidate/tools/tempest/run.sh ]] && { TEMPEST_RUNNER=$candidate/tools/tempest/run.sh; break; }
  done
fi
[[ -x ${TEMPEST_RUNNER:-} ]] ||
  { echo "tempest runner not found: set TEMPEST_RUNNER=/path/to/shared/tools/tempest/run.sh" >&2; exit 2; }

if [[ -z $URL ]]; then
  # Same launcher as the interop tests; its Python needs a DB driver only for a scratch
  # PostgreSQL/MariaDB database (then run tests/interop/setup_venv.sh first).
  VENV=${INTEROP_VENV:-$REPO/target/interop-venv}
  PY=python3; [[ -x $VENV/bin/python ]] && PY=$VENV/bin/python
  SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keystone-rs-tempest.XXXXXX")
  trap '"$PY" "$REPO/tests/interop/servers.py" down "$SERVER_DIR"; rm -rf "$SERVER_DIR"' EXIT
  URL=$("$PY" "$REPO/tests/interop/servers.py" up "$SERVER_DIR") ||
    { echo "keystone-rs did not start; log:" >&2; tail -n 30 "$SERVER_DIR/log/keystone-rs.log" >&2 || true; exit 1; }
  echo "keystone-rs serving on $URL (state in $SERVER_DIR)"
  # the deployment we just bootstrapped: its admin, not whatever OS_* the caller has
  export OS_USERNAME=admin OS_PASSWORD=secretadmin OS_PROJECT_NAME=admin \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=RegionOne
fi
URL=${URL%/}; URL=${URL%/v3}

echo "tempest against $URL/v3 (regex: ${TEMPEST_REGEX:-runner default}); results in $OUT"
rc=0
"$TEMPEST_RUNNER" "$URL/v3" "$OUT" || rc=$?
exit $rc
