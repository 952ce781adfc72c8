#!/usr/bin/env bash
# Builds the minicloud venvs, pinned by constraints.txt (OpenStack 2026.2):
#   ${MINICLOUD_VENV:-<repo>/target/minicloud-venv}          the services (requirements.txt)
#   ${MINICLOUD_CLIENTS_VENV:-<repo>/target/minicloud-clients}  clients + pytest
#                                                           (clients-requirements.txt)
# Each is a no-op when its pins and the interpreter have not changed since it was built
# (both from scratch: about 100 s on 2 cores, December 2026).
# Prints `MINICLOUD_VENV=...` and `MINICLOUD_CLIENTS_VENV=...` as its last two lines.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=${MINICLOUD_VENV:-$REPO/target/minicloud-venv}
CLIENTS_VENV=${MINICLOUD_CLIENTS_VENV:-$REPO/target/minicloud-clients}

ensure_venv() {  # DIR REQUIREMENTS
  local dir=$1 reqs=$2 want
  want=$( { "$PYTHON" -V 2>&1; cat "$reqs" "$HERE/constraints.txt"; } | sha256sum | cut -d' ' -f1)
  if [[ -x $dir/bin/python && -f $dir/.minicloud-stamp && $(<"$dir/.minicloud-stamp") == "$want" ]]; then
    return 0
  fi
  echo "setup_venv: installing $(basename "$reqs") into $dir" >&2
  rm -f "$dir/.minicloud-stamp"
  mkdir -p "$(dirname "$dir")"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" -c "$HERE/constraints.txt"
  echo "$want" > "$dir/.minicloud-stamp"
}

ensure_venv "$VENV" "$HERE/requirements.txt" &
services=$!
ensure_venv "$CLIENTS_VENV" "$HERE/clients-requirements.txt"
wait $services
echo "MINICLOUD_VENV=$VENV"
echo "MINICLOUD_CLIENTS_VENV=$CLIENTS_VENV"
