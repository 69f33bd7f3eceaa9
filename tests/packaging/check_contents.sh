#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lists the deb and the rpm (dpkg-deb -I/-c, rpm -qip/-qlvp/-qcp/--scripts/--requires) and
# checks what they hold: the three binaries in /usr/bin (root, 0755), the unit, the default
# config as a conffile (deb conffiles, rpm %config(noreplace)), the broker example, the wire
# schema, a gzipped man page per binary (root, 0644), the unit where each distribution wants
# it (deb: /lib/systemd/system for Debian 12; rpm: /usr/lib/systemd/system), the maintainer
# scripts, the declared
# dependencies, and no test or benchmark binary. Usage: check_contents.sh BUILD_DIR
# PACKAGE_ARCH: the deb's expected Architecture (default: this machine's; a cross build's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

build_dir=${1:?usage: check_contents.sh BUILD_DIR}
deb=$(find_package "$build_dir" 'tidegate_*.deb')
rpm_file=$(find_package "$build_dir" 'tidegate-*.rpm')

# Each expected file with its owner and mode, as dpkg-deb -c prints them.
expected=(
  "-rwxr-xr-x root/root ./usr/bin/tidegate"
  "-rwxr-xr-x root/root ./usr/bin/tidegate-collector"
  "-rwxr-xr-x root/root ./usr/bin/tidegate-sim"
  "-rw-r--r-- root/root ./etc/tidegate/tidegate.yaml"
  "-rw-r--r-- root/root ./usr/share/doc/tidegate/examples/mosquitto-tidegate.conf"
  "-rw-r--r-- root/root ./usr/share/doc/tidegate/examples/mosquitto-cloud.conf"
  "-rw-r--r-- root/root ./usr/share/doc/tidegate/examples/mosquitto-cloud.acl"
  "-rw-r--r-- root/root ./usr/share/tidegate/tidegate_batch.fbs"
  "-rw-r--r-- root/root ./usr/share/man/man1/tidegate.1.gz"
  "-rw-r--r-- root/root ./usr/share/man/man1/tidegate-collector.1.gz"
  "-rw-r--r-- root/root ./usr/share/man/man1/tidegate-sim.1.gz"
)

unit_entry="-rw-r--r-- root/root ./lib/systemd/system/tidegate.service"
rpm_unit_entry="-rw-r--r-- root/root ./usr/lib/systemd/system/tidegate.service"

echo "== $deb"
info=$(dpkg-deb -I "$deb")
echo "$info"
contents=$(dpkg-deb -c "$deb")
echo "$contents"
# "mode owner size date time path" -> "mode owner path"
short=$(awk '{print $1, $2, $6}' <<<"$contents")
for entry in "${expected[@]}" "$unit_entry"; do
  grep -qxF -- "$entry" <<<"$short" || fail "deb: missing or wrong owner/mode: $entry"
done
if grep -q ' \./usr/lib/systemd/' <<<"$short"; then fail "deb: a unit under /usr/lib/systemd"; fi
ok "deb holds every expected file with its owner and mode"
if grep -Ev '^d' <<<"$short" | grep -Eq '(_test|_bench|fuzz|bench-)'; then
  fail "deb holds a test, benchmark or fuzz binary"
fi
# Nothing else: directories 0755, files 0755 or 0644, everything root's.
if grep -Ev '^(drwxr-xr-x|-rwxr-xr-x|-rw-r--r--) root/root ' <<<"$short"; then
  fail "deb holds the entries above with an unexpected type, mode or owner"
fi
expect_line "$info" '^ Package: tidegate$' "deb control"
expect_line "$info" "^ Architecture: ${PACKAGE_ARCH:-$(dpkg --print-architecture)}$" \
  "deb control (PACKAGE_ARCH, or this machine's for a native build)"
expect_line "$info" '^ Depends: .*adduser' "deb Depends"
for lib in libmosquitto1 libsqlite3-0 libsodium23 libzstd1 libcpp-httplib0.11 libssl3 \
  libyaml-cpp libprotobuf-lite32; do
  expect_line "$info" "^ Depends: .*$lib" "deb Depends (dpkg-shlibdeps)"
done
# HTTPS goes over cpp-httplib: libcurl (and its ~25 libraries) must not come back.
if grep -q 'libcurl' <<<"$info"; then fail "deb Depends on libcurl"; fi
ok "deb control: name, architecture and library dependencies"

control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
dpkg-deb -e "$deb" "$control"
[[ "$(cat "$control/conffiles")" == "/etc/tidegate/tidegate.yaml" ]] ||
  fail "deb conffiles is not exactly /etc/tidegate/tidegate.yaml: $(cat "$control/conffiles")"
ok "deb conffiles: /etc/tidegate/tidegate.yaml"
for script in postinst prerm postrm; do
  [[ -x "$control/$script" ]] || fail "deb has no executable $script"
  sh -n "$control/$script" || fail "deb $script: sh syntax error"
  if grep -q '@[A-Z_]*@' "$control/$script"; then fail "deb $script: unsubstituted @VAR@"; fi
  if command -v shellcheck >/dev/null; then shellcheck -s sh "$control/$script"; fi
done
grep -q 'adduser --system' "$control/postinst" || fail "deb postinst creates no system user"
grep -q 'deluser --system' "$control/postrm" || fail "deb postrm never removes the user"
ok "deb maintainer scripts present, executable, valid sh"

echo "== $rpm_file"
rpm -qip "$rpm_file"
rpm_list=$(rpm -qlvp "$rpm_file")
echo "$rpm_list"
rpm_short=$(awk '{print $1, $3 "/" $4, "." $NF}' <<<"$rpm_list")
for entry in "${expected[@]}" "$rpm_unit_entry"; do
  grep -qxF -- "$entry" <<<"$rpm_short" || fail "rpm: missing or wrong owner/mode: $entry"
done
if grep -q ' \./lib/' <<<"$rpm_short"; then fail "rpm: files under /lib (not /usr/lib)"; fi
ok "rpm holds every expected file with its owner and mode"
[[ "$(rpm -qcp "$rpm_file")" == "/etc/tidegate/tidegate.yaml" ]] ||
  fail "rpm config files are not exactly /etc/tidegate/tidegate.yaml: $(rpm -qcp "$rpm_file")"
# %config(noreplace): the file flags hold both RPMFILE_CONFIG (1) and RPMFILE_NOREPLACE (16).
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm_file" | grep ' /etc/tidegate/tidegate.yaml$')
[[ "$flags" == "cn /etc/tidegate/tidegate.yaml" ]] || fail "rpm: config not %config(noreplace): $flags"
ok "rpm: /etc/tidegate/tidegate.yaml is %config(noreplace)"
if rpm -qlp "$rpm_file" | grep -q '^/usr/lib/.build-id'; then fail "rpm holds .build-id links"; fi
scripts=$(rpm -qp --scripts "$rpm_file")
for kind in preinstall postinstall preuninstall postuninstall; do
  expect_line "$scripts" "^$kind scriptlet" "rpm scriptlets"
done
expect_line "$scripts" 'useradd --system' "rpm %pre"
expect_line "$scripts" 'try-restart' "rpm %postun"
if grep -q '@[A-Z_]*@' <<<"$scripts"; then fail "rpm scriptlets: unsubstituted @VAR@"; fi
requires=$(rpm -qp --requires "$rpm_file")
for lib in libmosquitto.so.1 libsqlite3.so.0 libsodium.so.23 libzstd.so.1 libcpp-httplib.so.0.11; do
  expect_line "$requires" "^$lib" "rpm automatic requires"
done
if grep -q '^libcurl' <<<"$requires"; then fail "rpm requires libcurl"; fi
ok "rpm scriptlets and automatic library requires"

echo "deb: $(stat -c %s "$deb") bytes, Installed-Size $(dpkg-deb -f "$deb" Installed-Size) KiB"
echo "rpm: $(stat -c %s "$rpm_file") bytes, installed $(rpm -qp --qf '%{SIZE}' "$rpm_file") bytes"
