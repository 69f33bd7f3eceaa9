#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs docs/secure-gateway.md as an operator would: every ```sh block, in order, in one bash
# session, from the repository root, with the binaries of a build on PATH, a temporary
# working directory and free loopback ports. Then checks what the page promises: every
# published event landed exactly once, no raw email or phone number landed, the startup log
# states TLS and authentication. Processes the page starts are stopped on exit.
# Usage: doc_walkthrough.sh SOURCE_DIR BIN_DIR
set -euo pipefail

SOURCE_DIR=$(cd "$1" && pwd)
BIN_DIR=$(cd "$2" && pwd)
DOC=$SOURCE_DIR/docs/secure-gateway.md
WORK=$(mktemp -d /tmp/tidegate-walkthrough.XXXXXX)
export GW=$WORK/gw

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
export MQTT_PORT=$(free_port) COLLECTOR_PORT=$(free_port) METRICS_PORT=$(free_port)
export TIDEGATE_BIN=$BIN_DIR

cleanup() {
  status=$?
  for pidfile in "$GW/agent.pid" "$GW/collector.pid" "$GW/broker/mosquitto.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for log in "$GW/agent.log" "$GW/collector.log" "$GW/broker/mosquitto.log"; do
      [ -f "$log" ] && { echo "--- $log (last 30 lines)"; tail -n 30 "$log"; }
    done
    echo "walkthrough failed; its files are in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Every ```sh block of the page, in order, each preceded by an echo naming it.
SCRIPT=$WORK/walkthrough.sh
awk '
  /^```sh[[:space:]]*$/ { inblock = 1; n++; printf "echo \"== block %d (line %d)\"\n", n, NR; next }
  /^```/ && inblock { inblock = 0; next }
  inblock { print }
' "$DOC" >"$SCRIPT"
blocks=$(grep -c '^echo "== block' "$SCRIPT")
echo "running $blocks blocks of docs/secure-gateway.md in $WORK (ports mqtt $MQTT_PORT," \
  "collector $COLLECTOR_PORT, metrics $METRICS_PORT)"
[ "$blocks" -ge 8 ] || { echo "expected at least 8 sh blocks, found $blocks" >&2; exit 1; }

# The page ends by stopping what it started; the landed data stays in $GW/landing.
# -e stops at the first failing command; no pipefail, as in an operator's shell (`dump | head`).
(cd "$SOURCE_DIR" && bash -eu "$SCRIPT")

fail() { echo "FAIL: $*" >&2; exit 1; }
[ -s "$GW/published.ndjson" ] || fail "the simulator published nothing"
python3 - "$GW" "$BIN_DIR" <<'EOF'
import json, subprocess, sys
gw, bindir = sys.argv[1], sys.argv[2]
published = {}
for line in open(f"{gw}/published.ndjson"):
    e = json.loads(line)
    payload = e.get("payload", e)
    if isinstance(payload, str):
        payload = json.loads(payload)
    published[payload["msg_id"]] = payload
dump = subprocess.run([f"{bindir}/tidegate-collector", "dump", "--data-dir", f"{gw}/landing",
                       "events"], check=True, capture_output=True, text=True).stdout
landed = [json.loads(l) for l in dump.splitlines()]
ids = [e["payload"]["msg_id"] for e in landed]
problems = []
if len(ids) != len(set(ids)):
    problems.append(f"{len(ids) - len(set(ids))} events landed more than once")
if set(ids) != set(published):
    problems.append(f"published {len(published)} distinct events, landed {len(set(ids))}; "
                    f"missing {len(set(published) - set(ids))}, unexpected {len(set(ids) - set(published))}")
for e in landed:
    p = e["payload"]
    raw = published.get(p["msg_id"], {})
    user = p.get("user", {})
    if "email" in raw.get("user", {}) and not str(user.get("email", "")).startswith("tok:"):
        problems.append(f"raw email landed in event {p['msg_id']}"); break
    if "phone" in user:
        problems.append(f"phone number landed in event {p['msg_id']}"); break
    if "@" in json.dumps(p.get("note", "")):
        problems.append(f"an address in /note landed unscrubbed in event {p['msg_id']}"); break
topics = {e["topic"].split("/")[-1] for e in landed}
if topics != {"telemetry", "alarms"}:
    problems.append(f"landed topic kinds {sorted(topics)}, expected alarms and telemetry")
print(f"published {len(published)} distinct events, landed {len(ids)} "
      f"({len(set(ids))} distinct), topics {sorted(topics)}")
if problems:
    print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
EOF
grep -q 'tls' "$GW/agent.log" || fail "the agent's startup log does not state TLS"
if grep -qF "$(cat "$GW/agent.password")" "$GW/agent.log"; then
  fail "the agent's log holds its broker password"
fi
echo "walkthrough OK"
