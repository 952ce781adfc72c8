# Sourced by the scripts that build the Python environments of the tests
# (tests/interop/setup_venv.sh, tools/minicloud/setup_venv.sh).
#
# ensure_venv DIR REQUIREMENTS CONSTRAINTS [NODEPS_REQUIREMENTS]
#   Creates or refreshes venv DIR from REQUIREMENTS pinned by CONSTRAINTS (pip -c), then
#   NODEPS_REQUIREMENTS with --no-deps. A stamp holding the hash of the inputs and of the
#   interpreter's version makes the next call a no-op while nothing changed. Uses $PYTHON.
ensure_venv() {
  local dir=$1 reqs=$2 constraints=$3 nodeps=${4:-} want
  want=$( { "${PYTHON:-python3}" -V 2>&1; cat "$reqs" "$constraints" ${nodeps:+"$nodeps"}; } |
    sha256sum | cut -d' ' -f1)
  if [[ -x $dir/bin/python && -f $dir/.interop-stamp && $(<"$dir/.interop-stamp") == "$want" ]] &&
     "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    return 0
  fi
  echo "setup_venv: installing $(basename "$reqs") into $dir" >&2
  rm -f "$dir/.interop-stamp"
  mkdir -p "$(dirname "$dir")"
  "${PYTHON:-python3}" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" -c "$constraints"
  if [[ -n $nodeps ]]; then
    "$dir/bin/pip" install -q --disable-pip-version-check --no-deps -r "$nodeps"
  fi
  echo "$want" > "$dir/.interop-stamp"
}
