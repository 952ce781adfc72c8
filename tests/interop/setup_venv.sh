#!/usr/bin/env bash
# Builds the Python environments the interop tests run in. Idempotent, and a quick no-op
# when the pins have not changed since the last run.
#   interop venv  ${INTEROP_VENV:-<repo>/target/interop-venv}: the clients under test
#                 (openstack CLI, keystoneauth1, keystonemiddleware) and pytest.
#   peer venv     upstream Keystone 30.0.0 + gunicorn for the mixed-fleet test, kept apart
#                 because Keystone's server dependencies must not leak into the clients' venv.
#                 ${INTEROP_PEER_VENV} if set; else /opt/peer/venv when it already holds
#                 keystone-manage (reused, never modified); else <repo>/target/peer-venv.
#                 Not built when INTEROP_SKIP_MIXED=1.
#   s3 venv       ${INTEROP_S3_VENV:-<repo>/target/s3-venv}: Swift's s3api/s3token filters for
#                 test_s3token.py (swift --no-deps and only what those filters import).
# Prints `INTEROP_VENV=...`, `INTEROP_PEER_VENV=...` and `INTEROP_S3_VENV=...` as its last
# lines.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=${INTEROP_VENV:-$REPO/target/interop-venv}

# Creates or refreshes venv $1 from requirements file $2 (+ constraints.txt). A stamp
# holding the hash of the inputs and the interpreter version makes the next run a no-op.
ensure_venv() {
  local dir=$1 reqs=$2 want
  want=$( { "$PYTHON" -V 2>&1; cat "$reqs" "$HERE/constraints.txt" ${3:+"$3"}; } | sha256sum | cut -d' ' -f1)
  if [[ -x $dir/bin/python && -f $dir/.interop-stamp && $(<"$dir/.interop-stamp") == "$want" ]] &&
     "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    return 0
  fi
  echo "setup_venv: installing $(basename "$reqs") into $dir" >&2
  rm -f "$dir/.interop-stamp"
  mkdir -p "$(dirname "$dir")"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" -c "$HERE/constraints.txt"
  if [[ -n ${3:-} ]]; then
    "$dir/bin/pip" install -q --disable-pip-version-check --no-deps -r "$3"
  fi
  echo "$want" > "$dir/.interop-stamp"
}

ensure_venv "$VENV" "$HERE/requirements.txt" "$HERE/requirements-nodeps.txt"
S3_VENV=${INTEROP_S3_VENV:-$REPO/target/s3-venv}
ensure_venv "$S3_VENV" "$HERE/s3-requirements.txt" "$HERE/s3-requirements-nodeps.txt"

PEER_VENV=
if [[ ${INTEROP_SKIP_MIXED:-0} != 1 ]]; then
  if [[ -n ${INTEROP_PEER_VENV:-} ]]; then
    PEER_VENV=$INTEROP_PEER_VENV
    [[ -x $PEER_VENV/bin/keystone-manage ]] || ensure_venv "$PEER_VENV" "$HERE/peer-requirements.txt"
  elif [[ -x /opt/peer/venv/bin/keystone-manage ]]; then
    PEER_VENV=/opt/peer/venv
  else
    PEER_VENV=$REPO/target/peer-venv
    ensure_venv "$PEER_VENV" "$HERE/peer-requirements.txt"
  fi
  [[ -x $PEER_VENV/bin/gunicorn ]] ||
    { echo "setup_venv: $PEER_VENV has keystone-manage but no gunicorn" >&2; exit 1; }
fi

echo "INTEROP_VENV=$VENV"
echo "INTEROP_PEER_VENV=$PEER_VENV"
echo "INTEROP_S3_VENV=$S3_VENV"
