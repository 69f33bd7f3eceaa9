#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the deb with dpkg on this machine and walks its life cycle: first install (the
# user, the state dir, the token key 0600 owned by tidegate, nothing started), `tidegate
# --version` and `tidegate config check /etc/tidegate/tidegate.yaml` as the service user, an
# edited conffile and a buffer holding events (made by the installed agent, run as the service
# user against a throwaway mosquitto, with the receiver down) surviving an upgrade to a newer
# package, remove keeping config, keys, state and user, and purge deleting them.
# The "newer" package is the same deb repacked with the version 0.1.0+pkgtest1 and one more
# comment line in its default config (dpkg-deb -R, edit, dpkg-deb -b): the upgrade then
# exercises the maintainer scripts' upgrade path and dpkg's conffile handling (the edited
# config is kept, the new one lands as tidegate.yaml.dpkg-dist) without a second build.
# Needs root, dpkg, mosquitto, openssl and python3 (scripts/install-deps.sh); skips (exit 0,
# saying why) when not root or when a tidegate package is already installed, and purges
# what it installed on every exit. Usage: install_deb.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

build_dir=${1:?usage: install_deb.sh BUILD_DIR}
deb=$(find_package "$build_dir" 'tidegate_*.deb')
conf=/etc/tidegate/tidegate.yaml
keys=/etc/tidegate/keys

if [[ "$(id -u)" -ne 0 ]]; then
  echo "SKIP: install_deb.sh installs a package and must run as root"
  exit 0
fi
if dpkg-query -W -f='${db:Status-Status}' tidegate 2>/dev/null | grep -qv '^not-installed$'; then
  echo "SKIP: a tidegate package is already on this machine ($(dpkg-query -W \
    -f='${Version} ${db:Status-Abbrev}' tidegate)); not touching it"
  exit 0
fi
for path in /etc/tidegate /var/lib/tidegate; do
  if [[ -e "$path" ]]; then
    echo "SKIP: $path exists without a tidegate package; not touching it"
    exit 0
  fi
done
if getent passwd tidegate >/dev/null; then
  echo "SKIP: a user tidegate exists without a tidegate package; not touching it"
  exit 0
fi

tmp=$(mktemp -d)
agent_pid=""
broker_pid=""
cleanup() {
  local rc=$?
  [[ -n "$agent_pid" ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  if dpkg-query -W -f='${db:Status-Status}' tidegate 2>/dev/null | grep -qv '^not-installed$'; then
    dpkg --purge tidegate >/dev/null 2>&1 || echo "cleanup: dpkg --purge tidegate failed" >&2
  fi
  rm -rf /etc/tidegate "$tmp"
  exit "$rc"
}
trap cleanup EXIT

setpriv_tidegate=(setpriv --reuid=tidegate --regid=tidegate --init-groups --)
as_tidegate() { "${setpriv_tidegate[@]}" "$@"; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mode_owner() { stat -c '%a %U:%G' "$1"; }
buffered_records() {
  as_tidegate tidegate buffer stats -c "$conf" 2>/dev/null | awk '/^records:/ {print $2}'
}

echo "== first install: dpkg -i $(basename "$deb")"
dpkg -i "$deb"
[[ "$(dpkg-query -W -f='${db:Status-Abbrev}' tidegate)" == "ii " ]] || fail "not installed"
dpkg-query -W -f='${Conffiles}\n' tidegate | grep -q "^ $conf " || fail "$conf is no conffile"
ok "installed; dpkg lists $conf as a conffile"

IFS=: read -r _ _ _ _ _ home shell < <(getent passwd tidegate)
[[ "$home" == /var/lib/tidegate && "$shell" == /usr/sbin/nologin ]] ||
  fail "user tidegate: home $home, shell $shell"
getent group tidegate >/dev/null || fail "no group tidegate"
[[ "$(mode_owner /var/lib/tidegate)" == "700 tidegate:tidegate" ]] ||
  fail "/var/lib/tidegate: $(mode_owner /var/lib/tidegate)"
[[ "$(mode_owner "$keys")" == "700 tidegate:tidegate" ]] || fail "$keys: $(mode_owner "$keys")"
[[ "$(mode_owner "$keys/token.keys")" == "600 tidegate:tidegate" ]] ||
  fail "$keys/token.keys: $(mode_owner "$keys/token.keys")"
[[ "$(ls -A "$keys")" == token.keys ]] || fail "$keys holds more than token.keys: $(ls -A "$keys")"
ok "system user tidegate (nologin, home /var/lib/tidegate), state dir 0700, token key 0600"
keys_sum=$(sha256sum "$keys/token.keys")

version=$(as_tidegate tidegate --version)
[[ "$version" == "tidegate $(dpkg-deb -f "$deb" Version)" ]] || fail "--version: $version"
ok "as tidegate: tidegate --version -> $version"

# As shipped, the config names the receiver's CA, which the operator provides.
if out=$(as_tidegate tidegate config check "$conf" 2>&1); then
  fail "config check passed without /etc/tidegate/ca.pem"
fi
grep -q "uplink.tls.ca_file: cannot open '/etc/tidegate/ca.pem'" <<<"$out" ||
  fail "config check without the CA: $out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=tidegate-pkgtest-ca -keyout "$tmp/ca.key" -out /etc/tidegate/ca.pem 2>/dev/null
chmod 0644 /etc/tidegate/ca.pem

# The operator's edit: our own broker, metrics and (absent) receiver ports.
mqtt_port=$(free_port)
metrics_port=$(free_port)
uplink_port=$(free_port)
sed -i -e "0,/^    port: 1883 /s//    port: $mqtt_port /" \
  -e "s#^  metrics_listen: 127.0.0.1:9464 #  metrics_listen: 127.0.0.1:$metrics_port #" \
  -e "s#^  url: https://localhost:8443/v1/batches#  url: https://localhost:$uplink_port/v1/batches#" \
  "$conf"
grep -q "^    port: $mqtt_port " "$conf" || fail "could not edit the broker port in $conf"
as_tidegate tidegate config check "$conf" || fail "config check as tidegate"
ok "as tidegate: tidegate config check $conf (with the operator's CA)"
conf_sum=$(sha256sum "$conf")

echo "== a buffer holding events: the installed agent as tidegate, a broker, no receiver"
# mosquitto's default max_queued_messages 1000 drops QoS 1 messages to a busy subscriber
# (the 20,000-event burst below); a gateway broker is configured as configs/ ships it.
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n%s\n%s\n' \
  "$mqtt_port" "max_queued_messages 1000000" "max_queued_bytes 0" >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
broker_pid=$!
# Not through the function: $! must be the agent itself (setpriv execs it).
"${setpriv_tidegate[@]}" tidegate run -c "$conf" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
# The agent subscribes right after it connects; a message published before that is not
# queued for it. Probe events, one at a time, until one is buffered, then the real ones.
probe_landed=0
for _ in $(seq 1 50); do
  tidegate-sim --port "$mqtt_port" --count 1 --rate 0 --seed 7 --no-pii --ack-timeout 5s \
    >"$tmp/sim.log" 2>&1 || true
  sleep 0.2
  if [[ "$(buffered_records)" -ge 1 ]]; then
    probe_landed=1
    break
  fi
done
[[ "$probe_landed" == 1 ]] || fail "no event reached the buffer: $(cat "$tmp/sim.log")
$(tail -20 "$tmp/agent.log")"
sleep 1
idle_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status")
# The loaded figure: 20,000 events as fast as the simulator publishes them, all buffered (no
# receiver). The bound is loose (the agent's own budgets, not this machine's allocator, keep
# it small); the figures are printed for the README and the release notes.
loaded=20000
events=$(($(buffered_records) + loaded))
tidegate-sim --port "$mqtt_port" --count "$loaded" --rate 0 --seed 13 --no-pii \
  --ack-timeout 5s >"$tmp/sim.log" 2>&1 || fail "tidegate-sim: $(cat "$tmp/sim.log")"
for _ in $(seq 1 300); do
  [[ "$(buffered_records)" == "$events" ]] && break
  sleep 0.2
done
peak_rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$agent_pid/status")
echo "packaged agent RSS: idle ${idle_rss} kB, peak ${peak_rss} kB after $loaded events at full rate"
((peak_rss < 100 * 1024)) || fail "the packaged agent peaked at ${peak_rss} kB (bound 100 MiB)"
kill "$agent_pid"
wait "$agent_pid" || fail "the agent did not stop cleanly on SIGTERM: $(tail -5 "$tmp/agent.log")"
agent_pid=""
kill "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
broker_pid=""
[[ "$(buffered_records)" == "$events" ]] ||
  fail "expected $events buffered records: $(as_tidegate tidegate buffer stats -c "$conf" 2>&1)
$(tail -20 "$tmp/agent.log")"
ok "$events events buffered in /var/lib/tidegate/buffer.db"

echo "== upgrade to a newer package"
new_version=$(make_newer_deb "$deb" "$tmp/tidegate_newer.deb")
dpkg -i --force-confdef --force-confold "$tmp/tidegate_newer.deb"
[[ "$(dpkg-query -W -f='${Version}' tidegate)" == "$new_version" ]] || fail "not upgraded"
[[ "$(sha256sum "$conf")" == "$conf_sum" ]] || fail "the upgrade changed the edited $conf"
[[ -f "$conf.dpkg-dist" ]] || fail "no $conf.dpkg-dist: the new default config went nowhere"
[[ "$(sha256sum "$keys/token.keys")" == "$keys_sum" ]] || fail "the upgrade changed the token key"
[[ "$(buffered_records)" == "$events" ]] || fail "buffer after upgrade: $(buffered_records)"
as_tidegate tidegate buffer stats -c "$conf"
ok "upgrade to $new_version kept the edited config, the token key and $events buffered events"

echo "== remove (no purge)"
dpkg -r tidegate
[[ "$(dpkg-query -W -f='${db:Status-Abbrev}' tidegate)" == "rc " ]] || fail "not in config-files"
[[ "$(sha256sum "$conf")" == "$conf_sum" ]] || fail "remove changed $conf"
[[ "$(sha256sum "$keys/token.keys")" == "$keys_sum" ]] || fail "remove changed the token key"
[[ -s /var/lib/tidegate/buffer.db ]] || fail "remove deleted the buffer"
getent passwd tidegate >/dev/null || fail "remove deleted the user"
[[ ! -e /usr/bin/tidegate ]] || fail "remove left /usr/bin/tidegate"
ok "remove kept $conf, the token key, the buffer and the user"

echo "== purge"
dpkg --purge tidegate
[[ ! -e /var/lib/tidegate ]] || fail "purge left /var/lib/tidegate"
[[ ! -e "$keys" ]] || fail "purge left $keys"
[[ ! -e "$conf" ]] || fail "purge left $conf"
if getent passwd tidegate >/dev/null; then fail "purge left the user tidegate"; fi
if getent group tidegate >/dev/null; then fail "purge left the group tidegate"; fi
[[ -f /etc/tidegate/ca.pem ]] || fail "purge deleted the operator's own /etc/tidegate/ca.pem"
ok "purge deleted the state, the keys, the config and the user (the operator's ca.pem stays)"
