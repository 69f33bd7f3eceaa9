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

# make_newer_deb DEB OUT: writes to OUT the same package with the version VERSION+pkgtest1
# and one more comment line in its default config (so dpkg sees a changed conffile): an
# upgrade target without a second build. Prints the new version.
make_newer_deb() {
  local deb=$1 out=$2 work version
  work=$(mktemp -d)
  dpkg-deb -R "$deb" "$work/pkg"
  version="$(dpkg-deb -f "$deb" Version)+pkgtest1"
  sed -i "s/^Version: .*/Version: $version/" "$work/pkg/DEBIAN/control"
  echo "# (added by the newer package)" >>"$work/pkg/etc/tidegate/tidegate.yaml"
  (cd "$work/pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)
  dpkg-deb --root-owner-group -b "$work/pkg" "$out" >/dev/null
  rm -rf "$work"
  echo "$version"
}
