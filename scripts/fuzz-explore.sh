#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Random exploration, by hand or in a soak, never in CI: runs each fuzzer for FUZZ_SECONDS
# from a fresh random seed (printed, with the command that replays it), starting from
# fuzz/corpus/<name>/. New interesting inputs go to FUZZ_ARTIFACTS/<name>-new/ (not to the
# checked-in corpus: pick what is worth keeping). A finding stops that fuzzer and leaves the
# input in FUZZ_ARTIFACTS: fix the bug, then add the input to fuzz/corpus/<name>/crash-<what>
# and a unit test in the same commit, so CI's deterministic run replays it forever.
# Environment: FUZZ_SECONDS (600) per fuzzer, FUZZ_SEED (random), and those of
# scripts/fuzz-common.sh (FUZZ_BUILD_DIR, FUZZ_ARTIFACTS, FUZZ_CC, FUZZ_CXX, FUZZ_ONLY).
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"
SECONDS_EACH=${FUZZ_SECONDS:-600}
[[ "$SECONDS_EACH" =~ ^[1-9][0-9]*$ ]] || fuzz_fail "FUZZ_SECONDS must be a positive integer"

fuzz_list
fuzz_build
findings=()
for name in "${names[@]}"; do
  seed=${FUZZ_SEED:-$((($(od -An -N4 -tu4 /dev/urandom) % 2000000000) + 1))}
  new="$ARTIFACTS/$name-new"
  mkdir -p "$new"
  log="$ARTIFACTS/$name-explore-$seed.log"
  echo "== explore $name for ${SECONDS_EACH}s from seed $seed (log: $log)"
  status=0
  "$BUILD_DIR/bin/${name}_fuzzer" -seed="$seed" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-" \
    "$new" "$ROOT/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$log" || true
  if ((status != 0)); then
    echo "   FINDING in $name (seed $seed); input and log in $ARTIFACTS:" >&2
    grep -E 'ERROR|check failed|runtime error|Test unit written' "$log" | head -5 >&2 || true
    findings+=("$name")
  fi
done
if ((${#findings[@]} > 0)); then
  echo "fuzz-explore: findings in: ${findings[*]}" >&2
  exit 1
fi
echo "fuzz-explore: ${#names[@]} fuzzers explored ${SECONDS_EACH}s each without a finding."
