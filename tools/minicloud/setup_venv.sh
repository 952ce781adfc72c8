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

# shellcheck source=../venv.sh
source "$REPO/tools/venv.sh"

ensure_venv "$VENV" "$HERE/requirements.txt" "$HERE/constraints.txt" &
services=$!
ensure_venv "$CLIENTS_VENV" "$HERE/clients-requirements.txt" "$HERE/constraints.txt"
wait $services
echo "MINICLOUD_VENV=$VENV"
echo "MINICLOUD_CLIENTS_VENV=$CLIENTS_VENV"
