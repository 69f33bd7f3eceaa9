#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NAME
#     cross-build.sh - cross-build tidegate for ARM, run its unit tests under qemu, package it
#
# SYNOPSIS
#     scripts/cross-build.sh [--smoke] [--jobs N] ARCH
#     scripts/cross-build.sh --help
#
# DESCRIPTION
#     Cross-builds tidegate on a Debian 12 amd64 machine for ARCH, one of
#         arm64   aarch64-linux-gnu, 64-bit (cmake/toolchains/aarch64-linux-gnu.cmake)
#         armhf   arm-linux-gnueabihf, ARMv7 hard float, 32-bit size_t and time_t
#                 (cmake/toolchains/arm-linux-gnueabihf.cmake)
#     with Debian's cross compilers and multiarch libraries (install them first with
#     scripts/install-cross-deps.sh ARCH), in the tree build-ARCH: Release, tests on, -Werror.
#     Then, each phase timed:
#       1. builds the three binaries, the man pages and every unit test binary (the CMake
#          target unit_tests: Catch2 binaries labelled "unit" and the fuzz-corpus replays);
#       2. runs them with ctest -L 'unit|fuzz' through qemu-user (qemu-aarch64-static or
#          qemu-arm-static, the toolchain's CMAKE_CROSSCOMPILING_EMULATOR);
#       3. packages the deb and the rpm with CPack, and checks them: architecture
#          (deb arm64/armhf, rpm aarch64/armv7hl), `file` says the binaries are ARM ELF of the
#          right class, the library dependencies were computed (dpkg-shlibdeps, rpm
#          AutoReq), and the contents (tests/packaging/check_contents.sh).
#     Integration tests (label "integration") are not built or run: they need the broker,
#     collector and openssl of the target architecture; CI runs them natively.
#
# OPTIONS
#     --smoke    The CI subset (scripts/test.sh), sized for about two minutes with the apt-get
#                of install-cross-deps.sh: only the unit test binaries common_test,
#                schema_test and sealed_value_test, built and run under qemu. No binaries,
#                no packages: building the agent alone takes longer than that.
#     --jobs N   Parallel build jobs (default: nproc).
#     --help     This text.
#
# ENVIRONMENT
#     CROSS_BUILD_DIR  The build tree (default: build-ARCH in the repository).
#     CMAKE_CXX_COMPILER_LAUNCHER, CMAKE_C_COMPILER_LAUNCHER  e.g. ccache, passed to cmake.
#     CTEST_TIMEOUT  Per-test timeout in seconds under qemu (default 600).
#     TIDEGATE_CROSS_SYSROOT  Build against a sysroot made by
#                `scripts/install-cross-deps.sh --sysroot ARCH` instead of the multiarch
#                packages. The deb's Depends then come from dpkg-shlibdeps -S over the
#                package trees that script unpacks beside the sysroot (dpkg's database
#                does not hold them).
#
# EXIT STATUS
#     0 when everything built and passed; 1 on a failed phase; 2 on a usage error.
#
# EXAMPLES
#     bash scripts/install-cross-deps.sh arm64 armhf
#     bash scripts/cross-build.sh arm64
#     bash scripts/cross-build.sh --smoke armhf
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

smoke=0
jobs=$(nproc)
arch=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --jobs)
      jobs=${2:?--jobs needs a number}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      echo "cross-build.sh: unknown option $1 (see --help)" >&2
      exit 2
      ;;
    *)
      [[ -z "$arch" ]] || {
        echo "cross-build.sh: one ARCH only (see --help)" >&2
        exit 2
      }
      arch=$1
      ;;
  esac
  shift
done

case "$arch" in
  arm64)
    triplet=aarch64-linux-gnu deb_arch=arm64 rpm_arch=aarch64 elf_class=64-bit
    qemu="qemu-aarch64-static"
    elf_machine="ARM aarch64"
    ;;
  armhf)
    triplet=arm-linux-gnueabihf deb_arch=armhf rpm_arch=armv7hl elf_class=32-bit
    qemu="qemu-arm-static"
    elf_machine="ARM, EABI5"
    ;;
  *)
    echo "cross-build.sh: ARCH must be arm64 or armhf (see --help)" >&2
    exit 2
    ;;
esac
BUILD_DIR=${CROSS_BUILD_DIR:-$ROOT/build-$arch}
CTEST_TIMEOUT=${CTEST_TIMEOUT:-600}
cd "$ROOT"

phase_name=""
phase_start=$SECONDS
timings=()
phase() {
  end_phase
  phase_name=$*
  phase_start=$SECONDS
  printf '\n== %s: %s\n' "$arch" "$phase_name"
}
end_phase() {
  [[ -n "$phase_name" ]] &&
    timings+=("$(printf '%5d s  %s' $((SECONDS - phase_start)) "$phase_name")")
  phase_name=""
}
fail() {
  echo "FAIL ($arch): $*" >&2
  exit 1
}

if [[ "$smoke" == 1 ]]; then
  build_targets=(common_test schema_test sealed_value_test)
  ctest_select=(-L unit)
  mode="smoke"
  package=0
else
  # tidegate_man exists when scdoc is installed (scripts/install-deps.sh); the package check
  # fails without the man pages.
  build_targets=(unit_tests tidegate tidegate-collector tidegate-sim tidegate_man)
  ctest_select=(-L 'unit|fuzz')
  mode="full"
  package=1
fi

phase "configure $BUILD_DIR ($mode, Release, -Werror, toolchain $triplet)"
launcher=()
[[ -n "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]] &&
  launcher+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER")
[[ -n "${CMAKE_C_COMPILER_LAUNCHER:-}" ]] &&
  launcher+=(-DCMAKE_C_COMPILER_LAUNCHER="$CMAKE_C_COMPILER_LAUNCHER")
mkdir -p "$BUILD_DIR"
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs what was built instead of building every
# target first (the integration tests are never built here).
cmake -S . -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/$triplet.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DTIDEGATE_BUILD_TESTS=ON -DTIDEGATE_WERROR=ON \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DTIDEGATE_CROSS_SYSROOT="${TIDEGATE_CROSS_SYSROOT:-}" \
  "${launcher[@]}" >"$BUILD_DIR/configure.log" 2>&1 ||
  {
    cat "$BUILD_DIR/configure.log"
    fail "cmake configure (did scripts/install-cross-deps.sh $arch run?)"
  }

phase "build ${build_targets[*]} (-j$jobs)"
cmake --build "$BUILD_DIR" -j"$jobs" --target "${build_targets[@]}"

phase "unit tests under qemu-user ($qemu, the toolchain's CMAKE_CROSSCOMPILING_EMULATOR)"
ctest_log="$BUILD_DIR/ctest-$mode.log"
ctest_status=0
(cd "$BUILD_DIR" && ctest "${ctest_select[@]}" -j"$jobs" --timeout "$CTEST_TIMEOUT" \
  --output-on-failure) >"$ctest_log" 2>&1 || ctest_status=$?
grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed ' "$ctest_log" | tail -n 40
summary=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$ctest_log" || true)
[[ -n "$summary" ]] || fail "ctest ran no test (see $ctest_log)"
((ctest_status == 0)) || fail "unit tests under qemu: $summary"
# A binary that was not built shows up as <target>_NOT_BUILT and would be skipped silently.
if grep -q '_NOT_BUILT' "$ctest_log"; then fail "a unit test binary was not built"; fi

if ((package == 0)); then
  end_phase
  echo "== $arch: no packages ($mode; see --help)"
else
  phase "cpack deb+rpm and checks ($deb_arch / $rpm_arch)"
  rm -f "$BUILD_DIR"/tidegate_*.deb "$BUILD_DIR"/tidegate-*.rpm
  cpack_args=()
  if [[ -n "${TIDEGATE_CROSS_SYSROOT:-}" ]]; then
    # dpkg does not know the sysroot's packages, so CPack's own dpkg-shlibdeps run cannot
    # find them. dpkg-shlibdeps -S reads each package's symbols/shlibs from the trees
    # install-cross-deps.sh --sysroot unpacked beside the sysroot instead, which gives the
    # Depends dpkg would have computed.
    packages_dir="${TIDEGATE_CROSS_SYSROOT%-sysroot}-packages"
    [[ -d "$packages_dir" ]] || fail "no $packages_dir (run install-cross-deps.sh --sysroot $arch)"
    shlibs_work=$(mktemp -d)
    mkdir -p "$shlibs_work/debian"
    printf 'Source: tidegate\n\nPackage: tidegate\nArchitecture: any\n' \
      >"$shlibs_work/debian/control"
    search=()
    for dir in "$packages_dir"/*/; do search+=("-S${dir%/}"); done
    shlibs=$(cd "$shlibs_work" && DEB_HOST_ARCH=$deb_arch DEB_HOST_MULTIARCH=$triplet \
      dpkg-shlibdeps -O "${search[@]}" -e "$BUILD_DIR/bin/tidegate" \
      "$BUILD_DIR/bin/tidegate-collector" "$BUILD_DIR/bin/tidegate-sim" 2>"$shlibs_work/log") ||
      {
        cat "$shlibs_work/log"
        fail "dpkg-shlibdeps over the sysroot's packages"
      }
    rm -rf "$shlibs_work"
    depends=${shlibs#shlibs:Depends=}
    [[ "$depends" == libc6* || "$depends" == *", libc6"* ]] ||
      fail "dpkg-shlibdeps gave no libc6 dependency: '$shlibs'"
    echo "Depends (dpkg-shlibdeps -S over the sysroot's packages): adduser, $depends"
    cpack_args=(-D CPACK_DEBIAN_PACKAGE_SHLIBDEPS=OFF
      -D "CPACK_DEBIAN_PACKAGE_DEPENDS=adduser, $depends")
  fi
  # dpkg-shlibdeps needs the target's architecture to pick its objdump and library paths.
  if ! (cd "$BUILD_DIR" && DEB_HOST_ARCH=$deb_arch DEB_HOST_MULTIARCH=$triplet \
    cpack -G "DEB;RPM" "${cpack_args[@]}") >"$BUILD_DIR/cpack.log" 2>&1; then
    cat "$BUILD_DIR/cpack.log"
    fail "cpack"
  fi
  deb=$(find "$BUILD_DIR" -maxdepth 1 -name "tidegate_*_$deb_arch.deb" | head -n 1)
  rpm_file=$(find "$BUILD_DIR" -maxdepth 1 -name "tidegate-*.$rpm_arch.rpm" | head -n 1)
  [[ -n "$deb" ]] || fail "no tidegate_*_$deb_arch.deb in $BUILD_DIR"
  [[ -n "$rpm_file" ]] || fail "no tidegate-*.$rpm_arch.rpm in $BUILD_DIR"
  [[ "$(dpkg-deb -f "$deb" Architecture)" == "$deb_arch" ]] || fail "deb Architecture"
  [[ "$(rpm -qp --qf '%{ARCH}' "$rpm_file")" == "$rpm_arch" ]] || fail "rpm arch"
  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  dpkg-deb -x "$deb" "$unpacked"
  for binary in tidegate tidegate-collector tidegate-sim; do
    description=$(file -b "$unpacked/usr/bin/$binary")
    echo "$binary: $description"
    [[ "$description" == "ELF $elf_class"*"$elf_machine"* ]] ||
      fail "$binary is not a $elf_class $elf_machine ELF"
    [[ "$description" == *", stripped"* ]] || fail "$binary is not stripped"
  done
  PACKAGE_ARCH="$deb_arch" bash tests/packaging/check_contents.sh \
    "$BUILD_DIR"
  echo "deb $(basename "$deb"): Installed-Size $(dpkg-deb -f "$deb" Installed-Size) KiB," \
    "$(stat -c %s "$deb") bytes"
fi
end_phase

printf '\n== %s (%s): phase timings\n' "$arch" "$mode"
printf '%s\n' "${timings[@]}"
printf '%s\n' "$summary"
printf '%5d s  total\n' "$SECONDS"
