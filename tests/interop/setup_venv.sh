#!/usr/bin/env bash
# Builds the Python environments the interop tests run in. Idempotent, and a quick no-op
# when the pins have not changed since the last run.
#   interop venv  ${INTEROP_VENV:-<repo>/target/interop-venv}: the clients under test
#                 (openstack CLI, keystoneauth1, keystonemiddleware) and pytest.
#   peer venv     upstream Keystone 30.0.0 + gunicorn for the mixed-fleet test, kept apart
#                 because Keystone's server dependencies must not leak into the clients' venv.
#                 ${INTEROP_PEER_VENV} if set; else /opt/peer/venv when it already holds
#                 keystone-manage and python-ldap/ldappool (reused, never modified); else
#                 <repo>/target/peer-venv.
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

# shellcheck source=../../tools/venv.sh
source "$REPO/tools/venv.sh"

ensure_venv "$VENV" "$HERE/requirements.txt" "$HERE/constraints.txt" "$HERE/requirements-nodeps.txt"
S3_VENV=${INTEROP_S3_VENV:-$REPO/target/s3-venv}
ensure_venv "$S3_VENV" "$HERE/s3-requirements.txt" "$HERE/constraints.txt" "$HERE/s3-requirements-nodeps.txt"

PEER_VENV=
if [[ ${INTEROP_SKIP_MIXED:-0} != 1 ]]; then
  if [[ -n ${INTEROP_PEER_VENV:-} ]]; then
    PEER_VENV=$INTEROP_PEER_VENV
    [[ -x $PEER_VENV/bin/keystone-manage ]] || ensure_venv "$PEER_VENV" "$HERE/peer-requirements.txt" "$HERE/constraints.txt"
  elif [[ -x /opt/peer/venv/bin/keystone-manage ]] &&
       /opt/peer/venv/bin/python -c 'import ldap, ldappool' 2>/dev/null; then
    # shared/tools/peer/setup.sh (and tools/bench) install Keystone alone there: reused only
    # when it also holds what peer-requirements.txt adds for the LDAP tests.
    PEER_VENV=/opt/peer/venv
  else
    PEER_VENV=$REPO/target/peer-venv
    ensure_venv "$PEER_VENV" "$HERE/peer-requirements.txt" "$HERE/constraints.txt"
  fi
  [[ -x $PEER_VENV/bin/gunicorn ]] ||
    { echo "setup_venv: $PEER_VENV has keystone-manage but no gunicorn" >&2; exit 1; }
fi

echo "INTEROP_VENV=$VENV"
echo "INTEROP_PEER_VENV=$PEER_VENV"
echo "INTEROP_S3_VENV=$S3_VENV"
