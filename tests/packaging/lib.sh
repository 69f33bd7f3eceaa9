# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by the tests/packaging scripts (sourced, bash).
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# The one package of a kind in a build tree (tidegate_*.deb or tidegate-*.rpm).
find_package() {
  local dir=$1 pattern=$2 found
  found=$(find "$dir" -maxdepth 1 -name "$pattern" | sort | tail -n 1)
  [[ -n "$found" ]] || fail "no $pattern in $dir (run cpack there first)"
  echo "$found"
}

# expect_line TEXT REGEX WHAT: TEXT holds a line matching the extended REGEX.
expect_line() {
  grep -Eq -- "$2" <<<"$1" || fail "$3: no line matches '$2' in:
$1"
}
