# SPDX-License-Identifier: Apache-2.0
# Sourced by fuzz-smoke.sh and fuzz-explore.sh: configures and builds every libFuzzer target
# with clang (ASan+UBSan, our libraries coverage-instrumented with -fsanitize=fuzzer-no-link)
# in FUZZ_BUILD_DIR, and lists the fuzzers to run in the array `names` (every
# fuzz/<name>_fuzzer.cc, or those named in FUZZ_ONLY). Sets ROOT, BUILD_DIR, ARTIFACTS.
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_ARTIFACTS (FUZZ_BUILD_DIR/artifacts),
# FUZZ_CC / FUZZ_CXX (clang-14 / clang++-14), FUZZ_ONLY (space-separated names),
# FUZZ_CONFIGURED=1: FUZZ_BUILD_DIR is already configured for libFuzzer (scripts/test.sh's
# ASan+UBSan tree); build the fuzzers there without configuring it again.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
ARTIFACTS=${FUZZ_ARTIFACTS:-$BUILD_DIR/artifacts}
CC_BIN=${FUZZ_CC:-clang-14}
CXX_BIN=${FUZZ_CXX:-clang++-14}

fuzz_fail() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

fuzz_list() {
  names=()
  if [[ -n "${FUZZ_ONLY:-}" ]]; then
    read -r -a names <<<"$FUZZ_ONLY"
  else
    local src
    for src in "$ROOT"/fuzz/*_fuzzer.cc; do
      [[ -e "$src" ]] && names+=("$(basename "$src" _fuzzer.cc)")
    done
  fi
  ((${#names[@]} > 0)) || fuzz_fail "no fuzz/*_fuzzer.cc found"
}

fuzz_build() {
  local tool
  for tool in "$CC_BIN" "$CXX_BIN" cmake; do
    command -v "$tool" >/dev/null || fuzz_fail "$tool not found"
  done
  if [[ "${FUZZ_CONFIGURED:-0}" == 1 ]]; then
    # scripts/test.sh's ASan+UBSan tree: check it is one libFuzzer can use as it is.
    local cache="$BUILD_DIR/CMakeCache.txt"
    if ! grep -q '^TIDEGATE_BUILD_FUZZERS:BOOL=ON$' "$cache" ||
      ! grep -q '^CMAKE_CXX_FLAGS:.*=.*-fsanitize=fuzzer-no-link' "$cache" ||
      ! grep -q '^TIDEGATE_SANITIZE:.*=address,undefined$' "$cache"; then
      fuzz_fail "FUZZ_CONFIGURED=1 but $BUILD_DIR is not configured with" \
        "TIDEGATE_BUILD_FUZZERS=ON, -fsanitize=fuzzer-no-link and address,undefined"
    fi
    echo "== use the configured $BUILD_DIR"
  else
    echo "== configure $BUILD_DIR (clang, libFuzzer, ASan+UBSan)"
    # -O1 with line tables only, as OSS-Fuzz builds: stack traces keep file:line, and without
    # -DNDEBUG the fuzzers' assert()s check too (the build and the runs take as long as at -O2).
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
      -DCMAKE_C_COMPILER="$CC_BIN" -DCMAKE_CXX_COMPILER="$CXX_BIN" \
      -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
      -DTIDEGATE_SANITIZE=address,undefined -DTIDEGATE_BUILD_FUZZERS=ON \
      -DTIDEGATE_BUILD_TESTS=OFF >/dev/null
  fi
  echo "== build the fuzzers"
  cmake --build "$BUILD_DIR" --target fuzzers -j"$(nproc)"
  mkdir -p "$ARTIFACTS"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
}
