#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check CI runs, each step timed: clang-format, the "every *_test.cc is registered"
# and system-clock checks; a Release build without tests as a packager builds it, and the deb
# and rpm packaged from it and tested (tests/packaging/: contents, the systemd unit,
# install/upgrade/purge of the deb); the build with tests (clang, RelWithDebInfo with
# assertions, ASan+UBSan, -Werror via TIDEGATE_WERROR) and the whole ctest suite in it (unit,
# integration with a real broker, collector and TLS, fuzz-corpus replays, and the state-budget
# test once more with the Release agent, whose RSS it checks), with clang-tidy beside it over
# every product and test-support translation unit of that build (scripts/clang-tidy.sh,
# .clang-tidy; any finding fails); every libFuzzer target over its corpus and a fixed number
# of runs from a fixed seed; the ARM smoke: three unit test binaries cross-built for armhf
# (32-bit size_t and time_t) against a Debian 12 armhf sysroot and run under qemu-user
# (scripts/install-cross-deps.sh --sysroot armhf, fetched in the background from the start,
# then scripts/cross-build.sh --smoke armhf). Deterministic: no step draws a fresh random
# seed, so a commit gets one verdict.
# Environment: BUILD_DIR (build-asan, or build with TIDEGATE_SKIP_SANITIZERS=1),
# RELEASE_BUILD_DIR (build-release); TIDEGATE_SKIP_SANITIZERS=1 builds the tree with tests
# without ASan+UBSan, TIDEGATE_SKIP_FUZZ=1, TIDEGATE_SKIP_RELEASE=1 and TIDEGATE_SKIP_TIDY=1
# skip those passes locally (CI runs them all; TIDEGATE_SKIP_CROSS=1 leaves out the ARM
# smoke and its apt-get; TIDEGATE_SKIP_PACKAGING=1 keeps the Release
# build but leaves out the packages); FUZZ_SEED and FUZZ_RUNS
# (scripts/fuzz-smoke.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The tree with tests is build-asan by default, apart from the user's build/ (the demo's and
# the benchmark's, which must not run sanitized binaries).
if [[ "${TIDEGATE_SKIP_SANITIZERS:-0}" == 1 ]]; then
  BUILD_DIR=${BUILD_DIR:-$ROOT/build}
else
  BUILD_DIR=${BUILD_DIR:-$ROOT/build-asan}
fi
RELEASE_BUILD_DIR=${RELEASE_BUILD_DIR:-$ROOT/build-release}
JOBS=$(nproc)
cd "$ROOT"

# The tree with tests links ~50 executables with debug info: lld (Debian package lld)
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

step "no test name ctest would split or Catch would read as an option (';', a leading '-')"
if git grep -nE 'TEST_CASE\("[^"]*;' -- '*_test.cc'; then
  echo "a TEST_CASE name holds ';': catch_discover_tests splits it into empty tests" >&2
  exit 1
fi
if git grep -nE 'TEST_CASE\("-' -- '*_test.cc'; then
  echo "a TEST_CASE name starts with '-': ctest passes it to Catch, which reads an option" >&2
  exit 1
fi

step "only common/clock.cc reads the system clock"
if git grep -n 'system_clock::now' -- '*.cc' '*.h' | grep -v '^common/clock.cc:' |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'; then
  echo "system_clock::now() outside common/clock.cc" >&2
  exit 1
fi

# The ARM smoke's toolchain (crossbuild-essential-armhf, qemu-user-static: apt-get) and its
# armhf sysroot (a private apt state: no lock) are mostly download and unpack time, so they
# are fetched beside the Release build; the packages step waits for them, since it runs dpkg
# itself. The sysroot stays in the repository's build-cross/, which needs no sudo.
# Background work (this download, clang-tidy) runs in its own process group (setsid), so that
# a failing step stops all of it.
cross_deps_pid=""
tidy_pid=""
stop_background() {
  local pid
  for pid in "$cross_deps_pid" "$tidy_pid"; do
    if [[ -n "$pid" ]]; then kill -- "-$pid" 2>/dev/null || true; fi
  done
}
trap stop_background EXIT
cross_deps_log="$ROOT/build-cross/install-cross-deps.log"
if ! skipped TIDEGATE_SKIP_CROSS; then
  mkdir -p "$ROOT/build-cross"
  TIDEGATE_CROSS_ROOT="$ROOT/build-cross" setsid bash scripts/install-cross-deps.sh --sysroot \
    armhf >"$cross_deps_log" 2>&1 &
  cross_deps_pid=$!
fi
# Waits for that download; a failure stops the gate with its log.
wait_cross_deps() {
  [[ -n "$cross_deps_pid" ]] || return 0
  local status=0
  wait "$cross_deps_pid" || status=$?
  cross_deps_pid=""
  if ((status != 0)); then
    cat "$cross_deps_log"
    echo "scripts/install-cross-deps.sh --sysroot armhf failed ($status)" >&2
    exit "$status"
  fi
}

if ! skipped TIDEGATE_SKIP_RELEASE; then
  step "build Release without tests, as a packager does, -Werror ($RELEASE_BUILD_DIR)"
  cmake -S . -B "$RELEASE_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTIDEGATE_BUILD_TESTS=OFF \
    -DTIDEGATE_WERROR=ON >/dev/null
  cmake --build "$RELEASE_BUILD_DIR" -j"$JOBS"
  # The packages come from this tree; the install test needs root and skips itself otherwise.
  if ! skipped TIDEGATE_SKIP_PACKAGING; then
    wait_cross_deps
    step "packages: cpack deb+rpm, contents, unit verify/security, deb install/upgrade/purge"
    bash tests/packaging/run.sh "$RELEASE_BUILD_DIR"
  fi
fi

# One tree with tests, built once and run once: clang 14 at -O2 -g1, line tables only (the
# sanitizers' stack traces keep file:line; full -g made test TUs 16% slower to compile), with
# assert() kept (no -DNDEBUG), ASan+UBSan and -Werror. GCC 12's warnings are checked on every
# product source by the Release build above; with ASan at -O2 it took 1,800 s of CPU for this
# tree where clang takes 1,190. simdjson.h turns its development checks (misuse of the On
# Demand API) on only without __OPTIMIZE__, so they are asked for by name. The state-budget
# test checks the agent's RSS only without ASan, so it runs once more with the Release build's
# agent (TIDEGATE_RSS_AGENT, ctest e2e_state_budget_rss). The *_test.cc files themselves are
# compiled at -O0 with Catch2 precompiled (TIDEGATE_FAST_TEST_BUILD, cmake/TidegateTest.cmake).
san_flags=(-DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
  "-DTIDEGATE_SANITIZE=address,undefined,float-cast-overflow")
san_label="ASan+UBSan"
if skipped TIDEGATE_SKIP_SANITIZERS; then
  san_flags=()  # the user's build/ keeps its compiler (GCC by default)
  san_label="no sanitizers"
fi
rss_agent=()
if ! skipped TIDEGATE_SKIP_RELEASE; then
  rss_agent=(-DTIDEGATE_RSS_AGENT="$RELEASE_BUILD_DIR/bin/tidegate")
fi
step "build RelWithDebInfo with tests and assertions, $san_label, -Werror ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1" \
  -DCMAKE_CXX_FLAGS=-DSIMDJSON_DEVELOPMENT_CHECKS=1 -DTIDEGATE_WERROR=ON \
  -DTIDEGATE_FAST_TEST_BUILD=ON "${san_flags[@]}" "${rss_agent[@]}" "${ci_linker[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

# clang-tidy needs only the configured tree, and the suite leaves a CPU idle for about a
# fifth of its time (tests wait for brokers, receivers and timeouts): it runs beside ctest at
# nice 15, so the tests keep their share of the CPU. Without the *_test.cc files
# (TIDY_TESTS=0; scripts/clang-tidy.sh says why); `bash scripts/clang-tidy.sh` checks them.
tidy_log="$BUILD_DIR/clang-tidy.log"
if ! skipped TIDEGATE_SKIP_TIDY; then
  BUILD_DIR="$BUILD_DIR" TIDY_TESTS=0 setsid nice -n 15 bash scripts/clang-tidy.sh \
    >"$tidy_log" 2>&1 &
  tidy_pid=$!
fi

# tests/CMakeLists.txt gives the long tests a COST so that they start first.
step "ctest, $san_label ($BUILD_DIR)${tidy_pid:+, clang-tidy beside it}"
(cd "$BUILD_DIR" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j"$JOBS" --output-on-failure --timeout 600)

if [[ -n "$tidy_pid" ]]; then
  step "clang-tidy on every product and test-support translation unit: the rest of it"
  tidy_status=0
  wait "$tidy_pid" || tidy_status=$?
  tidy_pid=""
  cat "$tidy_log"
  ((tidy_status == 0)) || exit "$tidy_status"
fi

# The fuzz tree is its own (scripts/fuzz-smoke.sh; FUZZ_CONFIGURED=1 reuses one configured
# for it): the coverage instrumentation libFuzzer needs (-fsanitize=fuzzer-no-link) made
# filters_test take 1.65-1.75 s of CPU instead of 1.05-1.27 s, and in such a tree the SIGKILL
# test twice ran out of time to drain on a busy machine.
if ! skipped TIDEGATE_SKIP_FUZZ; then
  step "fuzzers: whole corpus, then fixed runs from a fixed seed (libFuzzer, ASan+UBSan)"
  bash scripts/fuzz-smoke.sh
fi

# The full ARM run (both architectures, every unit test and fuzz replay under qemu, the ARM
# packages) takes far longer than CI allows; README "ARM" gives the commands and durations.
# The smoke takes armhf, where 32-bit size_t and time_t can break what passes on amd64, from
# a sysroot: this mirror's bookworm-security armhf index is served inconsistently, so dpkg
# cannot take the armhf architecture here (install-cross-deps.sh says more).
if ! skipped TIDEGATE_SKIP_CROSS; then
  wait_cross_deps
  step "ARM smoke: armhf unit tests (common, schema, sealed value) cross-built, run under qemu-user"
  TIDEGATE_CROSS_SYSROOT="$ROOT/build-cross/arm-linux-gnueabihf-sysroot" \
    CROSS_BUILD_DIR="$ROOT/build-cross/armhf-smoke" bash scripts/cross-build.sh --smoke armhf
fi
end_step

printf '\n== step timings\n'
printf '%s\n' "${timings[@]}"
printf '%5d s  total\n' "$SECONDS"
