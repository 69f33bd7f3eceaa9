#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fuzzing step of CI, deterministic: one commit, one verdict. Each fuzz/<name>_fuzzer.cc
# (libFuzzer, ASan+UBSan) first replays its whole checked-in corpus fuzz/corpus/<name>/, then
# runs exactly FUZZ_RUNS inputs mutated from FUZZ_SEED. Both are printed, so a failure reruns
# exactly: `FUZZ_ONLY=<name> FUZZ_SEED=<seed> FUZZ_RUNS=<runs> bash scripts/fuzz-smoke.sh`.
# The corpus is only read: new inputs go to a scratch directory that is deleted afterwards.
# Exits non-zero if the build fails or a fuzzer crashes, leaks, hits a sanitizer error, runs
# out of memory or takes over 10 s on one input; the input is kept in FUZZ_ARTIFACTS (fix the
# bug, add the input to fuzz/corpus/<name>/ and a unit test). Random exploration for longer
# runs is scripts/fuzz-explore.sh.
# Environment: FUZZ_SEED (20261205), FUZZ_RUNS (30000) per fuzzer, FUZZ_JOBS (nproc), and those of
# scripts/fuzz-common.sh (FUZZ_BUILD_DIR, FUZZ_ARTIFACTS, FUZZ_CC, FUZZ_CXX, FUZZ_ONLY,
# FUZZ_CONFIGURED).
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"
SEED=${FUZZ_SEED:-20261205}
RUNS=${FUZZ_RUNS:-30000}
[[ "$SEED" =~ ^[1-9][0-9]{0,9}$ ]] || fuzz_fail "FUZZ_SEED must be a positive integer, got '$SEED'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || fuzz_fail "FUZZ_RUNS must be a positive integer, got '$RUNS'"

# Same seed, same inputs only if nothing else varies: without ASLR (libFuzzer mutates with the
# operands of traced compares, pointers among them) and without reloading the corpus directory
# on a timer (-reload=0).
no_aslr=(setarch "$(uname -m)" -R)
if ! "${no_aslr[@]}" true 2>/dev/null; then
  echo "fuzz-smoke: cannot disable ASLR here (setarch -R); runs may differ in coverage" >&2
  no_aslr=()
fi

fuzz_list
fuzz_build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# One fuzzer after another leaves a core idle (libFuzzer runs one input at a time): FUZZ_JOBS
# (nproc) of them run at once, each into its own log, and the summaries print in name order.
# Each run is still deterministic on its own (same seed, same inputs, -reload=0).
run_one() {
  local name=$1 bin="$BUILD_DIR/bin/${1}_fuzzer" corpus="$ROOT/fuzz/corpus/$1"
  local log="$ARTIFACTS/$name.log" summary="$scratch/$name.summary" start status=0
  if [[ ! -x "$bin" || ! -d "$corpus" ]]; then
    echo "fuzz-smoke: $name: missing $bin or $corpus" >"$summary"
    echo 1 >"$scratch/$name.status"
    return
  fi
  mkdir -p "$scratch/$name"
  start=$(date +%s)
  "${no_aslr[@]}" "$bin" -seed="$SEED" -runs="$RUNS" -reload=0 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-" "$scratch/$name" "$corpus" >"$log" 2>&1 || status=$?
  {
    echo "== fuzz $name: replayed $(find "$corpus" -type f | wc -l) corpus files, then $RUNS runs" \
      "from seed $SEED (log: $log)"
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$log" || true
    echo "   $name took $(($(date +%s) - start)) s"
    if ((status != 0)); then
      echo "fuzz-smoke: $name failed (exit $status); rerun with FUZZ_ONLY=$name FUZZ_SEED=$SEED" \
        "FUZZ_RUNS=$RUNS; last lines of $log:"
      tail -n 40 "$log"
    fi
  } >"$summary" 2>&1
  echo "$status" >"$scratch/$name.status"
}

JOBS=${FUZZ_JOBS:-$(nproc)}
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || fuzz_fail "FUZZ_JOBS must be a positive integer, got '$JOBS'"
for name in "${names[@]}"; do
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  run_one "$name" &
done
wait
failed=()
for name in "${names[@]}"; do
  cat "$scratch/$name.summary"
  [[ "$(cat "$scratch/$name.status" 2>/dev/null)" == 0 ]] || failed+=("$name")
done

if ((${#failed[@]} > 0)); then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in $ARTIFACTS)" >&2
  exit 1
fi
echo "fuzz-smoke: ${#names[@]} fuzzers replayed their corpus and ran $RUNS inputs each from" \
  "seed $SEED without a finding."
