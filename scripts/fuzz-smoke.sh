#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzz smoke test for CI: builds every libFuzzer target with clang (ASan+UBSan, our libraries
# coverage-instrumented with -fsanitize=fuzzer-no-link) in FUZZ_BUILD_DIR and runs each
# fuzz/<name>_fuzzer.cc for FUZZ_SECONDS, starting from fuzz/corpus/<name>/. The checked-in
# corpus is only read: new inputs go to a scratch directory that is deleted afterwards.
# Exits non-zero if the build fails or any fuzzer crashes, leaks, hits a sanitizer error, runs
# out of memory or time on one input; the offending input is kept in FUZZ_ARTIFACTS (add it
# to fuzz/corpus/<name>/ with the fix).
# Environment: FUZZ_SECONDS (20) per fuzzer, FUZZ_BUILD_DIR (build-fuzz), FUZZ_ARTIFACTS
# (FUZZ_BUILD_DIR/artifacts), FUZZ_CC / FUZZ_CXX (clang-14 / clang++-14), FUZZ_ONLY (run only
# the fuzzers named, space-separated).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
ARTIFACTS=${FUZZ_ARTIFACTS:-$BUILD_DIR/artifacts}
SECONDS_EACH=${FUZZ_SECONDS:-20}
CC_BIN=${FUZZ_CC:-clang-14}
CXX_BIN=${FUZZ_CXX:-clang++-14}
JOBS=$(nproc)
cd "$ROOT"

if ! [[ "$SECONDS_EACH" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz-smoke: FUZZ_SECONDS must be a positive integer, got '$SECONDS_EACH'" >&2
  exit 2
fi
for tool in "$CC_BIN" "$CXX_BIN" cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz-smoke: $tool not found" >&2; exit 2; }
done

names=()
if [[ -n "${FUZZ_ONLY:-}" ]]; then
  read -r -a names <<<"$FUZZ_ONLY"
else
  for src in fuzz/*_fuzzer.cc; do
    [[ -e "$src" ]] || continue
    name=$(basename "$src" _fuzzer.cc)
    names+=("$name")
  done
fi
if ((${#names[@]} == 0)); then
  echo "fuzz-smoke: no fuzz/*_fuzzer.cc found" >&2
  exit 1
fi

generator=()
command -v ninja >/dev/null && [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]] && generator=(-G Ninja)
echo "== configure $BUILD_DIR (clang, libFuzzer, ASan+UBSan)"
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC_BIN" -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
  -DTIDEGATE_SANITIZE=address,undefined -DTIDEGATE_BUILD_FUZZERS=ON \
  >/dev/null
echo "== build the fuzzers"
cmake --build "$BUILD_DIR" --target fuzzers -j"$JOBS"

mkdir -p "$ARTIFACTS"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for name in "${names[@]}"; do
  bin="$BUILD_DIR/bin/${name}_fuzzer"
  corpus="$ROOT/fuzz/corpus/$name"
  if [[ ! -x "$bin" || ! -d "$corpus" ]]; then
    echo "fuzz-smoke: $name: missing $bin or $corpus" >&2
    failed+=("$name")
    continue
  fi
  mkdir -p "$scratch/$name"
  log="$ARTIFACTS/$name.log"
  echo "== fuzz $name for ${SECONDS_EACH}s (log: $log)"
  status=0
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$name-" "$scratch/$name" "$corpus" >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done )' "$log" || true
  if ((status != 0)); then
    echo "fuzz-smoke: $name failed (exit $status); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    failed+=("$name")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in $ARTIFACTS)" >&2
  exit 1
fi
echo "fuzz-smoke: all ${#names[@]} fuzzer(s) ran ${SECONDS_EACH}s without a finding."
