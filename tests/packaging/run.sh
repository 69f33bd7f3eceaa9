#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the deb and the rpm with CPack in a configured Release tree (TIDEGATE_BUILD_TESTS=OFF,
# as scripts/test.sh builds build-release) and runs every packaging test on them: the contents
# (check_contents.sh), the unit (check_unit.sh: verify, security exposure at most 2.0) and the
# deb's install, upgrade, remove and purge on this machine (install_deb.sh; root only, skipped
# otherwise). Usage: tests/packaging/run.sh [BUILD_DIR]   (default build-release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "${1:-$here/../../build-release}" && pwd)

# Old packages would be picked up beside the new ones (another version, another arch).
rm -f "$build_dir"/tidegate_*.deb "$build_dir"/tidegate-*.rpm
generators="DEB"
if command -v rpmbuild >/dev/null; then generators="DEB;RPM"; fi
if ! (cd "$build_dir" && cpack -G "$generators") >"$build_dir/cpack.log" 2>&1; then
  cat "$build_dir/cpack.log"
  echo "FAIL: cpack -G $generators in $build_dir" >&2
  exit 1
fi
grep -E '^CPack: - package: .* generated\.$' "$build_dir/cpack.log"

bash "$here/check_contents.sh" "$build_dir"
bash "$here/check_unit.sh" "$build_dir"
bash "$here/install_deb.sh" "$build_dir"
