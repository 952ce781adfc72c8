#!/usr/bin/env bash
# Fuzz the parsers that take untrusted input, with cargo-fuzz (libFuzzer + AddressSanitizer):
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, every target)
# Targets live in fuzz/fuzz_targets/; seeds in fuzz/seeds/<target>/ (committed), the growing
# corpus in fuzz/corpus/<target>/ and crashes in fuzz/artifacts/<target>/ (both ignored by
# git). A crash stops the script with a non-zero status and the input's path.
#
# The toolchain is stable: cargo-fuzz's sanitizer flags are nightly-only `-Z` options, which
# RUSTC_BOOTSTRAP=1 unlocks on a stable rustc (the stable toolchain ships the ASan runtime).
# FUZZ_SANITIZER=none builds without ASan (faster; Rust's own checks still catch panics).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET=${1:-600}
shift || true
ALL=(fernet_token policy oauth1_header oauth2_client_auth keystone_conf json_bodies)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
SANITIZER=${FUZZ_SANITIZER:-address}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

echo "== building ${TARGETS[*]} (sanitizer: $SANITIZER)"
for t in "${TARGETS[@]}"; do
  cargo fuzz build -O -s "$SANITIZER" "$t"
done

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t for ${SECONDS_PER_TARGET}s"
  log=$(mktemp)
  # Bounded inputs and memory: a parser that needs more than this on a few KiB is a bug.
  if cargo fuzz run -O -s "$SANITIZER" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "   $t: $execs executions, no crash (corpus: $(ls "corpus/$t" | wc -l) inputs)"
  else
    status=1
    echo "   $t: CRASH"
    grep -E 'panicked|ERROR: |SUMMARY|Test unit written to' "$log" | head -20 || tail -40 "$log"
  fi
  rm -f "$log"
done
exit $status
