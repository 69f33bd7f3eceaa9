#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packaged unit: `systemd-analyze verify` passes, and `systemd-analyze security
# --offline=true` prints the exposure and fails above 2.0 (the SPEC's bound).
# verify needs ExecStart's binary and the Documentation= man page to exist; before the deb is
# installed they do not, so the unit is checked as packaged in a copy extracted from the deb,
# with ExecStart pointing into that tree and MANPATH at its man pages (--root= does not serve:
# it also wants the root to hold systemd's own units). Works without a running systemd.
# Usage: check_unit.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

build_dir=${1:?usage: check_unit.sh BUILD_DIR}
max_exposure=${TIDEGATE_MAX_EXPOSURE:-2.0}
deb=$(find_package "$build_dir" 'tidegate_*.deb')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
unit=$tmp/root/lib/systemd/system/tidegate.service
[[ -f "$unit" ]] || fail "no tidegate.service in $deb"

mkdir "$tmp/unit"
sed -e "s#^ExecStart=/usr/bin/tidegate #ExecStart=$tmp/root/usr/bin/tidegate #" "$unit" \
  >"$tmp/unit/tidegate.service"
grep -q "^ExecStart=$tmp/root/usr/bin/tidegate run -c /etc/tidegate/tidegate.yaml$" \
  "$tmp/unit/tidegate.service" || fail "unexpected ExecStart in the packaged unit"
man_check=(--man=yes)
if ! command -v man >/dev/null; then
  man_check=(--man=no)
  echo "note: no man(1) here; verify skips the Documentation= man page check"
fi
MANPATH=$tmp/root/usr/share/man systemd-analyze verify "${man_check[@]}" \
  "$tmp/unit/tidegate.service" || fail "systemd-analyze verify"
ok "systemd-analyze verify tidegate.service"

# The offline review reads the unit as is; the exposure goes to the log either way.
if ! systemd-analyze security --offline=true --threshold="${max_exposure/./}" "$unit" \
  >"$tmp/security.txt" 2>&1; then
  cat "$tmp/security.txt"
  fail "systemd-analyze security: exposure above $max_exposure"
fi
grep -E '^✗' "$tmp/security.txt" || true
exposure=$(grep -Eo 'Overall exposure level for tidegate.service: [0-9.]+ [A-Z]+' \
  "$tmp/security.txt") || fail "no exposure line in: $(cat "$tmp/security.txt")"
echo "$exposure (threshold $max_exposure)"
ok "systemd-analyze security --offline=true: at most $max_exposure"
