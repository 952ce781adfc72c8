#!/usr/bin/env bash
# Soak test of keystone-rs: every tools/bench scenario at once at half its measured peak
# (rate-limited wrk) for 10 minutes, reporting errors and the server's RSS per window.
#   tools/soak.sh [--duration S] [--window S] [--load F] [--scenarios a,b] ...
#   tools/soak.sh --help        every option
# Same setup as tools/bench/run.sh (wrk, the bench venv, a release build of keystone-rs,
# skipped with --no-build or when KEYSTONE_RS_BIN names a binary). Results go to
# $CARGO_TARGET_DIR/soak/soak.json. Exit status 1 if any request failed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$HERE/bench/run.sh" --entry soak.py "$@"
