#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots the packaged unit under a real systemd: a Debian 12 root made with debootstrap
# (minbase + systemd, mosquitto), the deb installed in it with apt, then
# `systemd-nspawn --boot` with a private network. A probe unit inside publishes 20 events
# with tidegate-sim to the container's mosquitto and records: the unit's state, the agent's
# uid, capabilities, no_new_privs and seccomp mode, its mounts (read-only / and /etc, writable
# /var/lib/tidegate), `tidegate buffer stats`, /metrics, the journal, the online
# `systemd-analyze security`, READY=1 (the unit leaves "activating"), the STATUS= text, a
# WATCHDOG=1 ping, an upgrade (dpkg -i of the same deb with a newer version) restarting the
# running service with the buffer kept, the agent's RSS, and a clean `systemctl stop`; then it
# powers the container off.
# Not run by CI: debootstrap downloads ~100 MB and takes about 3 minutes (the root is kept in
# ROOT_DIR and reused; the boot itself takes under 10 s).
# --exec: adds a drop-in with Type=exec and WatchdogSec=0, for an agent built without
# sd_notify (it would otherwise never leave "activating" and the watchdog would kill it).
# Usage: nspawn_boot.sh [--exec] BUILD_DIR   Environment: ROOT_DIR (/var/tmp/tidegate-nspawn),
# MIRROR (http://deb.debian.org/debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

exec_mode=0
if [[ "${1:-}" == --exec ]]; then
  exec_mode=1
  shift
fi
build_dir=${1:?usage: nspawn_boot.sh [--exec] BUILD_DIR}
deb=$(find_package "$build_dir" 'tidegate_*.deb')
dir=${ROOT_DIR:-/var/tmp/tidegate-nspawn}
root=$dir/root
[[ "$(id -u)" -eq 0 ]] || fail "needs root (debootstrap, chroot, systemd-nspawn)"
command -v debootstrap >/dev/null || fail "needs debootstrap (apt-get install debootstrap)"
command -v systemd-nspawn >/dev/null || fail "needs systemd-nspawn (apt-get install systemd-container)"

if [[ ! -f "$dir/.bootstrapped" ]]; then
  rm -rf "$root"
  mkdir -p "$dir"
  echo "== debootstrap bookworm into $root (a few minutes)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser,mosquitto \
    bookworm "$root" "${MIRROR:-http://deb.debian.org/debian}" >"$dir/debootstrap.log" 2>&1 ||
    fail "debootstrap: $(tail -5 "$dir/debootstrap.log")"
  touch "$dir/.bootstrapped"
fi

echo "== install $(basename "$deb") in the root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" dpkg --purge tidegate >/dev/null 2>&1 || true
rm -rf "$root/etc/systemd/system/tidegate.service.d" "$root/root/probe.out"
cp "$deb" "$root/tmp/tidegate.deb"
new_version=$(make_newer_deb "$deb" "$root/root/tidegate_newer.deb")
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  /tmp/tidegate.deb >"$dir/apt.log" 2>&1 || fail "apt-get install: $(tail -5 "$dir/apt.log")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=tidegate-nspawn-ca -keyout "$dir/ca.key" -out "$root/etc/tidegate/ca.pem" 2>/dev/null
chmod 0644 "$root/etc/tidegate/ca.pem"
if [[ "$exec_mode" == 1 ]]; then
  mkdir -p "$root/etc/systemd/system/tidegate.service.d"
  printf '[Service]\nType=exec\nWatchdogSec=0\n' \
    >"$root/etc/systemd/system/tidegate.service.d/no-notify.conf"
fi

cat >"$root/root/probe.sh" <<'PROBE'
#!/bin/bash
exec >/root/probe.out 2>&1
# postinst restarts with --no-block: wait for a new main process that is running.
for _ in $(seq 1 40); do
  [[ "$(systemctl show tidegate -p MainPID --value)" != "$old_pid" &&
    "$(systemctl show tidegate -p SubState --value)" == running ]] && break
  sleep 0.5
done
sleep 1
echo "== publish"
tidegate-sim --count 20 --rate 0 --seed 3 --no-pii --ack-timeout 5s 2>&1 | tail -1
sleep 2
echo "== show"
systemctl show tidegate -p Type,ActiveState,SubState,NRestarts,Result,User,StatusText,WatchdogUSec
# A WATCHDOG=1 ping moves the timestamp; they come every half WatchdogSec (15 s as shipped).
if [[ "$(systemctl show tidegate -p WatchdogUSec --value)" != 0 ]]; then
  first=$(systemctl show tidegate -p WatchdogTimestampMonotonic --value)
  for _ in $(seq 1 40); do
    [[ "$(systemctl show tidegate -p WatchdogTimestampMonotonic --value)" != "$first" ]] && break
    sleep 0.5
  done
  [[ "$(systemctl show tidegate -p WatchdogTimestampMonotonic --value)" != "$first" ]] &&
    echo "watchdog ping seen"
fi
pid=$(systemctl show tidegate -p MainPID --value)
echo "== proc"
grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff|CapBnd|CapAmb):' "/proc/$pid/status"
echo "== mounts"
awk '$5 == "/" || $5 == "/etc" || $5 == "/var/lib/tidegate" || $5 == "/home" {print $5, $6}' \
  "/proc/$pid/mountinfo"
echo "== buffer"
runuser -u tidegate -- tidegate buffer stats -c /etc/tidegate/tidegate.yaml
echo "== metrics"
exec 3<>/dev/tcp/127.0.0.1/9464
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
timeout 5 cat <&3 | grep -E '^tidegate_(ingested_total|buffer_records|mqtt_connected) '
exec 3<&-
echo "== upgrade while running"
old_pid=$pid
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold /root/tidegate_newer.deb \
  >/root/upgrade.log 2>&1 || { echo "upgrade failed"; cat /root/upgrade.log; }
# postinst restarts with --no-block: wait for a new main process that is running.
for _ in $(seq 1 40); do
  [[ "$(systemctl show tidegate -p MainPID --value)" != "$old_pid" &&
    "$(systemctl show tidegate -p SubState --value)" == running ]] && break
  sleep 0.5
done
pid=$(systemctl show tidegate -p MainPID --value)
echo "upgraded-to=$(dpkg-query -W -f='${Version}' tidegate)"
[[ "$pid" != "$old_pid" && "$pid" != 0 ]] && echo "restarted by the upgrade"
systemctl show tidegate -p ActiveState,SubState
runuser -u tidegate -- tidegate buffer stats -c /etc/tidegate/tidegate.yaml | grep '^records:'
grep -E '^(VmRSS|VmHWM):' "/proc/$pid/status"
echo "== security"
systemd-analyze security tidegate | tail -1
echo "== journal"
journalctl -u tidegate --no-pager -o cat | tail -15
echo "== stop"
start=$(date +%s%N)
systemctl stop tidegate
echo "stopped in $(( ($(date +%s%N) - start) / 1000000 )) ms"
systemctl show tidegate -p ActiveState,Result
systemctl poweroff
PROBE
chmod 0755 "$root/root/probe.sh"
printf '[Unit]\nAfter=mosquitto.service\n[Service]\nType=oneshot\nExecStart=/root/probe.sh\n[Install]\nWantedBy=multi-user.target\n' \
  >"$root/etc/systemd/system/tidegate-probe.service"
chroot "$root" systemctl enable tidegate.service tidegate-probe.service >/dev/null 2>&1

echo "== boot (systemd-nspawn --boot, private network)"
# --register=no --keep-unit: no machined or host systemd to register with in a container.
timeout 180 systemd-nspawn -D "$root" --private-network --register=no --keep-unit --boot \
  >"$dir/boot.log" 2>&1 || true
[[ -f "$root/root/probe.out" ]] || fail "no probe output; boot log: $(tail -20 "$dir/boot.log")"
out=$(cat "$root/root/probe.out")
echo "$out"
expect_line "$out" '^ActiveState=active$' "unit state"
expect_line "$out" '^SubState=running$' "unit state"
expect_line "$out" '^User=tidegate$' "unit user"
expect_line "$out" '^NoNewPrivs:[[:space:]]+1$' "no_new_privs"
expect_line "$out" '^Seccomp:[[:space:]]+2$' "seccomp filter"
expect_line "$out" '^CapEff:[[:space:]]+0+$' "effective capabilities"
expect_line "$out" '^CapBnd:[[:space:]]+0+$' "capability bounding set"
expect_line "$out" '^/ ro,' "read-only /"
expect_line "$out" '^/var/lib/tidegate rw,' "writable state dir"
expect_line "$out" '^records:[[:space:]]+20$' "buffered events"
expect_line "$out" '^tidegate_ingested_total 20$' "metrics"
expect_line "$out" '^tidegate_mqtt_connected 1$' "metrics"
expect_line "$out" '^Result=success$' "clean stop"
expect_line "$out" "^upgraded-to=${new_version//+/\\+}$" "upgrade inside the container"
expect_line "$out" '^restarted by the upgrade$' "postinst try-restart"
[[ "$(grep -c '^records:[[:space:]]*20$' <<<"$out")" == 2 ]] || fail "buffer after the upgrade"
if [[ "$exec_mode" == 0 ]]; then
  expect_line "$out" '^Type=notify$' "unit type"
  expect_line "$out" '^StatusText=ready' "sd_notify STATUS="
  expect_line "$out" '^watchdog ping seen$' "sd_notify WATCHDOG=1"
fi
ok "the packaged unit runs under systemd: sandboxed, ingesting, buffering, serving metrics"
