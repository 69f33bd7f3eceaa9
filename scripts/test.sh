#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check CI runs: the build with -Werror, clang-format, the "every *_test.cc is
# registered" check, the whole ctest suite (unit, integration with a real broker, collector
# and TLS, fuzz-corpus replays), each libFuzzer target for a bounded time, then the same
# suite built with ASan+UBSan.
# Environment: BUILD_DIR (build), SAN_BUILD_DIR (build-asan), TIDEGATE_SKIP_SANITIZERS=1 and
# TIDEGATE_SKIP_FUZZ=1 to skip the sanitizer and fuzzing passes locally, FUZZ_SECONDS (10).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SAN_BUILD_DIR=${SAN_BUILD_DIR:-$ROOT/build-asan}
JOBS=$(nproc)
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

step "clang-format (dry run) on every tracked .h/.cc"
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

step "every *_test.cc is registered with CMake"
bash scripts/check-tests-registered.sh

step "only common/clock.cc reads the system clock"
if git grep -n 'system_clock::now' -- '*.cc' '*.h' | grep -v '^common/clock.cc:' |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'; then
  echo "system_clock::now() outside common/clock.cc" >&2
  exit 1
fi

step "build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

step "ctest ($BUILD_DIR)"
(cd "$BUILD_DIR" && ctest -j"$JOBS" --output-on-failure --timeout 300)

if [ "${TIDEGATE_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzzers: ${FUZZ_SECONDS:-10}s each under libFuzzer (clang, ASan+UBSan)"
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash scripts/fuzz-smoke.sh
fi

if [ "${TIDEGATE_SKIP_SANITIZERS:-0}" != 1 ]; then
  step "build with ASan+UBSan ($SAN_BUILD_DIR)"
  cmake -S . -B "$SAN_BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DTIDEGATE_SANITIZE=address,undefined >/dev/null
  cmake --build "$SAN_BUILD_DIR" -j"$JOBS"
  step "ctest under ASan+UBSan ($SAN_BUILD_DIR)"
  (cd "$SAN_BUILD_DIR" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -j"$JOBS" --output-on-failure --timeout 600)
fi
