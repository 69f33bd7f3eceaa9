#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak, by hand, never in CI: runs one Catch2 test case RUNS times in two parallel loops
# while BUSY busy loops and an fsync loop starve the machine, the conditions under which
# timing-dependent failures show. Prints one line per run and a summary; keeps the test's
# directories (agent, collector and broker logs) of every failed run under OUT.
# What a soak finds becomes a deterministic test (see buffer/store_revisions_test.cc).
#
# Usage: scripts/stress-under-load.sh TEST_BINARY 'TEST CASE PATTERN' [RUNS]
#   e.g. scripts/stress-under-load.sh build/bin/e2e_bounds_test \
#          'drop_oldest keeps the buffer within max_bytes*' 40
# Environment: BUSY (6) busy loops, OUT (a new directory under /tmp).
set -euo pipefail
if (($# < 2)); then
  sed -n '3,12p' "$0" >&2
  exit 2
fi
binary=$(realpath "$1")
pattern=$2
runs=${3:-40}
busy=${BUSY:-6}
[[ -x "$binary" ]] || { echo "stress: $binary is not an executable" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "stress: RUNS must be a positive integer" >&2; exit 2; }
out=${OUT:-$(mktemp -d /tmp/tidegate-stress.XXXXXX)}
mkdir -p "$out"
results="$out/results.txt"
: >"$results"

load=()
cleanup() {
  ((${#load[@]} == 0)) || kill "${load[@]}" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 "$busy"); do
  (while :; do :; done) &
  load+=($!)
done
(while :; do dd if=/dev/zero of="$out/fsync.bin" bs=1M count=64 conv=fsync 2>/dev/null; done) &
load+=($!)

one_loop() {
  local loop=$1 run dir rc
  for run in $(seq 1 "$runs"); do
    dir="$out/l$loop-r$run"
    mkdir -p "$dir"
    rc=0
    TIDEGATE_KEEP_TEST_DIRS=1 TMPDIR="$dir" timeout 300 "$binary" "$pattern" -s \
      >"$dir/out.txt" 2>&1 || rc=$?
    echo "loop $loop run $run rc $rc" >>"$results"
    echo "loop $loop run $run rc $rc"
    if ((rc == 0)); then rm -rf "$dir"; fi
  done
}
one_loop 1 &
first=$!
one_loop 2 &
second=$!
wait "$first" "$second"
failed=$(grep -vc ' rc 0$' "$results" || true)
echo "stress: $failed of $((2 * runs)) runs failed; failed runs kept in $out"
