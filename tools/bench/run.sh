#!/usr/bin/env bash
# Load benchmark of keystone-rs against Python Keystone; see tools/bench/README.md.
#   tools/bench/run.sh [--quick] [--no-peer] [--duration S] [--scenarios a,b] ...
#   tools/bench/run.sh --help        every option
# Installs wrk and ab (Debian) if missing, builds its venv (requests, matplotlib, bcrypt)
# under the cargo target dir, builds keystone-rs in release mode (skipped with --no-build
# or when KEYSTONE_RS_BIN names a binary; with --database-server, with the postgres or mysql
# feature that backend needs), then runs bench.py.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}

# --entry: the Python script to run (tools/soak.sh runs soak.py with the same setup)
entry=bench.py; build=1; args=(); features=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --entry) entry=${2:?--entry needs a script}; shift ;;
    # keystone-rs speaks PostgreSQL and MySQL only when built with those features
    --database-server|--database-server=*)
      if [[ $1 == *=* ]]; then url=${1#*=}; else url=${2:?--database-server needs a URL}; shift; fi
      case $url in
        postgres*) features=(--features postgres) ;;
        mysql*|mariadb*) features=(--features mysql) ;;
      esac
      args+=("--database-server=$url") ;;
    --no-build) build=0 ;;
    -h|--help) build=0; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
[[ -n ${KEYSTONE_RS_BIN:-} ]] && build=0

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v ab >/dev/null || need+=(apache2-utils)
command -v python3 >/dev/null && python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  echo "bench: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

VENV=${BENCH_VENV:-$TARGET/bench-venv}
want=$( { python3 -V 2>&1; cat "$HERE/requirements.txt"; } | sha256sum | cut -d' ' -f1)
if ! [[ -x $VENV/bin/python && -f $VENV/.bench-stamp && $(<"$VENV/.bench-stamp") == "$want" ]]; then
  echo "bench: installing requirements.txt into $VENV" >&2
  rm -f "$VENV/.bench-stamp"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" > "$VENV/.bench-stamp"
fi

if ((build)); then
  (cd "$REPO" && cargo build --release --locked -p keystone-rs ${features[@]+"${features[@]}"})
fi

exec "$VENV/bin/python" "$HERE/$entry" ${args[@]+"${args[@]}"}
