#!/usr/bin/env bash
# Client interop tests: builds the venvs (setup_venv.sh) and runs pytest -q on
# tests/interop, passing every argument through. Exit status = pytest's.
#   tests/interop/run.sh                       start keystone-rs (KEYSTONE_RS_BIN) and test it
#   KEYSTONE_URL=http://127.0.0.1:5001 tests/interop/run.sh -k cli   an already running server
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# setup_venv.sh prints the venvs it settled on as its last three lines
venvs=$("$HERE/setup_venv.sh")
while IFS='=' read -r name value; do
  export "$name=$value"
done <<< "$(tail -n 3 <<< "$venvs")"
set +e
"$INTEROP_VENV/bin/python" -m pytest -q "$HERE" "$@"
exit $?
