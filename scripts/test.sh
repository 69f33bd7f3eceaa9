#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check CI runs, each step timed: clang-format, the "every *_test.cc is registered"
# and system-clock checks, the build with -Werror (TIDEGATE_WERROR), the whole ctest suite
# (unit, integration with a real broker, collector and TLS, fuzz-corpus replays), a Release
# build without tests as a packager builds it, clang-tidy over every translation unit of the
# first build (scripts/clang-tidy.sh, .clang-tidy; any finding fails), every libFuzzer target
# over its corpus and a fixed number of runs from a fixed seed, then the same suite built with
# ASan+UBSan at -O1. Deterministic: no step draws a fresh random seed, so a commit gets one
# verdict.
# Environment: BUILD_DIR (build), RELEASE_BUILD_DIR (build-release), SAN_BUILD_DIR
# (build-asan); TIDEGATE_SKIP_SANITIZERS=1, TIDEGATE_SKIP_FUZZ=1, TIDEGATE_SKIP_RELEASE=1 and
# TIDEGATE_SKIP_TIDY=1 skip those passes locally (CI runs them all); FUZZ_SEED and FUZZ_RUNS
# (scripts/fuzz-smoke.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RELEASE_BUILD_DIR=${RELEASE_BUILD_DIR:-$ROOT/build-release}
SAN_BUILD_DIR=${SAN_BUILD_DIR:-$ROOT/build-asan}
JOBS=$(nproc)
cd "$ROOT"

# The two trees with tests link ~50 executables with debug info: lld (Debian package lld)
# links agent_test in 0.7 s of CPU where GNU ld takes 1.6-2.2 s. The Release build keeps the
# default linker, as a packager's build does.
ci_linker=()
if command -v ld.lld >/dev/null; then ci_linker=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld); fi

step_name=""
step_start=$SECONDS
timings=()
step() {
  end_step
  step_name=$*
  step_start=$SECONDS
  printf '\n== %s\n' "$step_name"
}
end_step() {
  [[ -n "$step_name" ]] && timings+=("$(printf '%5d s  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=""
}
skipped() { [[ "${!1:-0}" == 1 ]]; }

step "clang-format (dry run) on every tracked .h/.cc"
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

step "every *_test.cc is registered with CMake"
bash scripts/check-tests-registered.sh

step "no test name ctest would split (a ';' makes two entries that run nothing and pass)"
if git grep -nE 'TEST_CASE\("[^"]*;' -- '*_test.cc'; then
  echo "a TEST_CASE name holds ';': catch_discover_tests splits it into empty tests" >&2
  exit 1
fi

step "only common/clock.cc reads the system clock"
if git grep -n 'system_clock::now' -- '*.cc' '*.h' | grep -v '^common/clock.cc:' |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'; then
  echo "system_clock::now() outside common/clock.cc" >&2
  exit 1
fi

step "build RelWithDebInfo with tests, -Werror ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIDEGATE_WERROR=ON \
  "${ci_linker[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

# The whole suite here as well, not only the unit tests, though the ASan tree runs it again:
# this is its one run at full speed (-O2), and the state-budget test checks the agent's RSS
# bound, with a million device ids, only without ASan. tests/CMakeLists.txt gives the long
# tests a COST so that they start first.
step "ctest ($BUILD_DIR)"
(cd "$BUILD_DIR" && ctest -j"$JOBS" --output-on-failure --timeout 300)

if ! skipped TIDEGATE_SKIP_RELEASE; then
  step "build Release without tests, as a packager does, -Werror ($RELEASE_BUILD_DIR)"
  cmake -S . -B "$RELEASE_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTIDEGATE_BUILD_TESTS=OFF \
    -DTIDEGATE_WERROR=ON >/dev/null
  cmake --build "$RELEASE_BUILD_DIR" -j"$JOBS"
fi

# clang-tidy 14 walks every system and Catch2 header of each translation unit, so this is one
# of the longest steps; TIDEGATE_SKIP_TIDY=1 skips it locally (ONLY=regex bash
# scripts/clang-tidy.sh checks just the files you changed).
if ! skipped TIDEGATE_SKIP_TIDY; then
  step "clang-tidy on every translation unit ($BUILD_DIR)"
  BUILD_DIR="$BUILD_DIR" bash scripts/clang-tidy.sh
fi

# The suite again with ASan+UBSan (clang): Debug, so assert() stays on, at -O1, ASan's
# recommended level (at -O0 the SIGKILL test alone took 190 s; -O1 costs ~1.6x the compile
# time per TU), frame pointers kept (TIDEGATE_SANITIZE adds -fno-omit-frame-pointer).
# simdjson.h turns its development checks (misuse of the On Demand API) on only without
# __OPTIMIZE__, so -O1 asks for them by name. This tree is not also the fuzz tree: the
# coverage instrumentation libFuzzer needs (-fsanitize=fuzzer-no-link) made filters_test
# take 1.65-1.75 s of CPU instead of 1.05-1.27 s, and in such a tree the SIGKILL test twice
# ran out of time to drain on a busy machine; scripts/fuzz-smoke.sh builds its own tree
# (FUZZ_CONFIGURED=1 reuses one that is configured for it).
if ! skipped TIDEGATE_SKIP_FUZZ; then
  step "fuzzers: whole corpus, then fixed runs from a fixed seed (libFuzzer, ASan+UBSan)"
  bash scripts/fuzz-smoke.sh
fi

if ! skipped TIDEGATE_SKIP_SANITIZERS; then
  step "build with ASan+UBSan at -O1 ($SAN_BUILD_DIR)"
  cmake -S . -B "$SAN_BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
    -DCMAKE_CXX_FLAGS=-DSIMDJSON_DEVELOPMENT_CHECKS=1 \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DTIDEGATE_SANITIZE=address,undefined -DTIDEGATE_WERROR=ON "${ci_linker[@]}" >/dev/null
  cmake --build "$SAN_BUILD_DIR" -j"$JOBS"
  step "ctest under ASan+UBSan ($SAN_BUILD_DIR)"
  (cd "$SAN_BUILD_DIR" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -j"$JOBS" --output-on-failure --timeout 600)
fi
end_step

printf '\n== step timings\n'
printf '%s\n' "${timings[@]}"
printf '%5d s  total\n' "$SECONDS"
