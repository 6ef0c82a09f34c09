#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds the dev
# preset and runs every test (unit, integration, e2e), runs the unit tests
# again under ASan+UBSan, and fuzzes each parser of untrusted input briefly.
#   scripts/test.sh            everything
#   FUZZ_SECONDS=0 scripts/test.sh   skip the timed fuzzing (the corpus is still replayed)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

# Runs ctest, echoing its output, and adds its count to the totals.
passed=0
run_ctest() {
  local log
  log=$(mktemp)
  ctest "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local total
  total=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")
  rm -f "$log"
  if [[ $status -ne 0 || -z $total ]]; then
    echo "tests: 0 passed, 1 failed"
    exit 1
  fi
  passed=$((passed + total))
}

step "dependencies"
scripts/install-deps.sh

step "format check"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find src tools tests bench fuzz -name '*.[ch]pp')
clang-format --dry-run -Werror "${sources[@]}"

step "dev build"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"

step "tests (unit, integration, e2e)"
run_ctest --preset dev -j "$jobs"

step "ASan+UBSan unit tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs" --target unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest --preset asan -j "$jobs"

step "fuzzing (${fuzz_seconds}s per target)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" --target fuzzers
for fuzzer in build/fuzz/fuzz/fuzz_*; do
  [[ -x $fuzzer ]] || continue
  name=$(basename "$fuzzer")
  corpus=fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/
  "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=5 -rss_limit_mb=2048 "$work" 2>&1 | tail -n 3
  rm -rf "$work"
done

step "all tests passed"
echo "tests: ${passed} passed, 0 failed"
