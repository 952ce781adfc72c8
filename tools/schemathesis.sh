#!/usr/bin/env bash
# API fuzzing of keystone-rs with schemathesis against api-ref/openapi.yaml: every documented
# operation gets generated valid and invalid requests (path, query, headers, bodies) sent
# with a system-scoped admin token; a 5xx, a response the document does not describe
# (status, content type, headers, body schema) or a refused valid request is a failure.
#
#   tools/schemathesis.sh [--max-examples N] [--url URL] [-- SCHEMATHESIS_ARGS...]
#
# Without --url it starts a fresh keystone-rs on SQLite the way tests/interop does
# (KEYSTONE_RS_BIN, default $CARGO_TARGET_DIR/debug/keystone-rs; KEYSTONE_TEST_DATABASE_URL
# for a scratch PostgreSQL/MariaDB database) and stops it afterwards. With --url the server
# must have been bootstrapped with admin/secretadmin (tests/interop/servers.py's).
# N defaults to 25 examples per operation and phase (tools/test.sh's bounded run); the
# README's full run used 200. The venv (tools/schemathesis/requirements.txt) lives under
# the cargo target dir. Reports (JUnit, NDJSON) go to $OUT (default target/schemathesis).
# Every check runs but positive_data_acceptance ("a schema-valid request must succeed"):
# Keystone refuses many schema-valid requests for reasons OpenAPI cannot state (ids that
# must name existing rows, mutually exclusive query parameters, signed OAuth1 requests), so
# that check measures the document's precision, not the server's correctness.
# Exit status: schemathesis's (0 = no failure), 1 if the server would not start.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
OUT=${OUT:-$TARGET/schemathesis}

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
MAX_EXAMPLES=25
URL=
while [[ $# -gt 0 ]]; do
  case $1 in
    --max-examples) MAX_EXAMPLES=${2:?--max-examples needs a number}; shift 2 ;;
    --url) URL=${2:?--url needs a URL}; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
done

VENV=${SCHEMATHESIS_VENV:-$TARGET/schemathesis-venv}
REQS=$REPO/tools/schemathesis/requirements.txt
want=$( { python3 -V 2>&1; cat "$REQS"; } | sha256sum | cut -d' ' -f1)
if ! [[ -x $VENV/bin/schemathesis && -f $VENV/.stamp && $(<"$VENV/.stamp") == "$want" ]]; then
  echo "schemathesis: installing $REQS into $VENV" >&2
  rm -f "$VENV/.stamp"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  echo "$want" > "$VENV/.stamp"
fi
PY=$VENV/bin/python

if [[ -z $URL ]]; then
  SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keystone-rs-schemathesis.XXXXXX")
  # a PostgreSQL/MariaDB scratch database needs the interop venv's drivers
  SPY=python3; [[ -x ${INTEROP_VENV:-}/bin/python ]] && SPY=$INTEROP_VENV/bin/python
  trap '"$SPY" "$REPO/tests/interop/servers.py" down "$SERVER_DIR"; rm -rf "$SERVER_DIR"' EXIT
  URL=$("$SPY" "$REPO/tests/interop/servers.py" up "$SERVER_DIR") ||
    { echo "keystone-rs did not start; log:" >&2; tail -n 30 "$SERVER_DIR/log/keystone-rs.log" >&2 || true; exit 1; }
  echo "keystone-rs serving on $URL (state in $SERVER_DIR)"
fi
URL=${URL%/}; URL=${URL%/v3}

# A system-scoped admin token: the scope Keystone's default policies want for most admin
# routes (enforce_scope = true).
TOKEN=$("$PY" - "$URL" <<'EOF'
import sys, requests
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}},
    "scope": {"system": {"all": True}}}}
r = requests.post(sys.argv[1] + "/v3/auth/tokens", json=body, timeout=30)
r.raise_for_status()
print(r.headers["X-Subject-Token"])
EOF
)

mkdir -p "$OUT"
echo "schemathesis: $MAX_EXAMPLES examples per operation against $URL; reports in $OUT"
rc=0
"$VENV/bin/schemathesis" run "$REPO/api-ref/openapi.yaml" --url "$URL" \
  -H "X-Auth-Token: $TOKEN" --generation-with-security-parameters false \
  --checks all --exclude-checks positive_data_acceptance --max-examples "$MAX_EXAMPLES" --workers 1 --seed "${SCHEMATHESIS_SEED:-1}" \
  --report junit,ndjson --report-dir "$OUT" --no-color --output-truncate true \
  --suppress-health-check all --request-timeout 60 \
  "$@" || rc=$?
exit $rc
