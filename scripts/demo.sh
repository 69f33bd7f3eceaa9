#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The tidegate demo: builds the project, then runs the whole path on loopback with real
# parts: a mosquitto broker, tidegate-collector over TLS (certificates made here), the agent
# and the simulator publishing for DEMO_DURATION at DEMO_RATE events/s. The collector is
# stopped for DEMO_OUTAGE in the middle; the agent buffers and catches up. At the end it
# prints what was published, buffered and landed, and checks that every event landed once.
#
# Environment: DEMO_RATE (5000), DEMO_DURATION (20), DEMO_OUTAGE (4), DEMO_DEVICES (50),
# DEMO_SEED (42), BUILD_DIR (build), DEMO_DIR (demo-run). Exit 0 when all landed exactly once.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DEMO_DIR=${DEMO_DIR:-$ROOT/demo-run}
RATE=${DEMO_RATE:-5000}
DURATION=${DEMO_DURATION:-20}
OUTAGE=${DEMO_OUTAGE:-4}
DEVICES=${DEMO_DEVICES:-50}
SEED=${DEMO_SEED:-42}

say() { printf '\n== %s\n' "$*"; }

say "building into $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target tidegate tidegate-collector tidegate-sim >/dev/null
BIN=$BUILD_DIR/bin

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"/{certs,broker,collector,state}
cd "$DEMO_DIR"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  return 1
}

say "making a CA and a server certificate (openssl, EC P-256)"
openssl ecparam -name prime256v1 -genkey -noout -out certs/ca.key 2>/dev/null
openssl req -x509 -new -key certs/ca.key -subj /CN=tidegate-demo-ca -days 2 -out certs/ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out certs/server.key 2>/dev/null
openssl req -new -key certs/server.key -subj /CN=localhost -out certs/server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >certs/san.ext
openssl x509 -req -in certs/server.csr -CA certs/ca.pem -CAkey certs/ca.key -CAcreateserial \
  -days 2 -extfile certs/san.ext -out certs/server.pem 2>/dev/null
chmod 600 certs/*.key

say "making the agent's keys (tidegate keys init)"
"$BIN/tidegate" keys init --dir keys >/dev/null

MQTT_PORT=$(free_port)
COLLECTOR_PORT=$(free_port)
METRICS_PORT=$(free_port)

say "starting mosquitto on 127.0.0.1:$MQTT_PORT"
cat >broker/mosquitto.conf <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DEMO_DIR/broker/
# The defaults (1000 queued) silently drop QoS 1 traffic under load; see configs/.
max_queued_messages 1000000
max_queued_bytes 0
set_tcp_nodelay true
log_dest file $DEMO_DIR/broker/mosquitto.log
CONF
[ "$(id -u)" = 0 ] && echo "user root" >>broker/mosquitto.conf
mosquitto -c broker/mosquitto.conf &
PIDS+=($!)
wait_port "$MQTT_PORT"

start_collector() {
  "$BIN/tidegate-collector" serve --listen "127.0.0.1:$COLLECTOR_PORT" --data-dir collector \
    --tls-cert certs/server.pem --tls-key certs/server.key >>collector/stdout.log 2>>collector/collector.log &
  COLLECTOR_PID=$!
  PIDS+=("$COLLECTOR_PID")
  wait_port "$COLLECTOR_PORT"
}
say "starting tidegate-collector on https://127.0.0.1:$COLLECTOR_PORT"
start_collector

cat >agent.yaml <<CONF
agent:
  id: demo-gateway
  state_dir: $DEMO_DIR/state
  log_level: info
  metrics_listen: 127.0.0.1:$METRICS_PORT
source:
  mqtt:
    port: $MQTT_PORT
    client_id: tidegate-demo
    topics:
      - {filter: devices/+/telemetry, qos: 1, priority: 5}
# Personal data never reaches the disk: the simulator's PII fields are tokenized, sealed,
# masked or scrubbed before the buffer.
privacy:
  key_file: $DEMO_DIR/keys/token.keys
  recipient_public_key: $DEMO_DIR/keys/recipient.pub
  rules:
    - match: devices/+/telemetry
      tokenize: [/user/email]
      encrypt: [/user/phone]
      mask: {/ip: ipv4_prefix_24}
      scrub: [/note]
# Event-time summaries: 10 s windows per device, closed on per-device watermarks.
aggregate:
  - name: temp_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures: {/temp: [count, avg, min, max, p95]}
    watermark: {max_out_of_order: 2s, idle_timeout: 2s}
buffer:
  commit_interval: 50ms
uplink:
  url: https://localhost:$COLLECTOR_PORT/v1/batches
  tls: {ca_file: $DEMO_DIR/certs/ca.pem}
  retry: {initial: 200ms, max: 2s}
CONF
"$BIN/tidegate" config check agent.yaml
say "starting the agent (log: $DEMO_DIR/agent.log)"
"$BIN/tidegate" run -c agent.yaml 2>agent.log &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
for _ in $(seq 100); do grep -q "mqtt: connected" agent.log && break; sleep 0.1; done
if ! kill -0 "$AGENT_PID" 2>/dev/null || ! grep -q "mqtt: connected" agent.log; then
  echo "the agent did not start; its log:" >&2
  cat agent.log >&2
  exit 1
fi

say "simulator: $DEVICES devices, $RATE events/s for ${DURATION}s, seed $SEED"
START=$(date +%s.%N)
"$BIN/tidegate-sim" --port "$MQTT_PORT" --rate "$RATE" --duration "${DURATION}s" \
  --devices "$DEVICES" --seed "$SEED" --log published.ndjson >sim.out 2>sim.err &
SIM_PID=$!
PIDS+=("$SIM_PID")

sleep $(((DURATION - OUTAGE) / 2))
say "receiver outage: stopping the collector for ${OUTAGE}s"
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
sleep "$OUTAGE"
printf 'buffered during the outage: '
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^tidegate_buffer_records /{print $2 " records"}'
say "collector back"
start_collector

wait "$SIM_PID"
cat sim.out
PUBLISHED=$(wc -l <published.ndjson)

say "waiting for the backlog to drain"
LANDED=0
for _ in $(seq 600); do
  LANDED=$(curl -sk "https://127.0.0.1:$COLLECTOR_PORT/v1/stats" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
  [ "$LANDED" -ge "$PUBLISHED" ] && break
  sleep 0.1
done
END=$(date +%s.%N)
say "waiting for the last windows to close (idle_timeout 2s) and land"
for _ in $(seq 150); do
  "$BIN/tidegate-collector" dump --data-dir collector aggregates >aggregates.ndjson
  python3 -c 'import json,sys; sys.exit(0 if sum(json.loads(l)["measures"]["/temp"]["count"] for l in open("aggregates.ndjson")) >= int(sys.argv[1]) else 1)' "$PUBLISHED" && break
  sleep 0.1
done

say "summary"
"$BIN/tidegate-collector" dump --data-dir collector events >landed.ndjson
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >metrics.txt
python3 - "$START" "$END" <<'PY'
import json, sys
start, end = float(sys.argv[1]), float(sys.argv[2])
published = [json.loads(l)["payload"]["msg_id"] for l in open("published.ndjson")]
landed = [json.loads(l)["payload"]["msg_id"] for l in open("landed.ndjson")]
metrics = {l.split()[0]: float(l.split()[1]) for l in open("metrics.txt") if l[0] != "#"}
pub, got = set(published), {}
for m in landed:
    got[m] = got.get(m, 0) + 1
missing = len(pub - set(got))
dups = sum(c - 1 for c in got.values() if c > 1)
extra = len(set(got) - pub)
print(f"published       {len(published)}")
print(f"received        {int(metrics.get('tidegate_received_total', 0))}")
print(f"dead-lettered   {sum(v for k, v in metrics.items() if k.startswith('tidegate_dropped_total'))}")
print(f"batches sent    {int(metrics.get('tidegate_batches_sent_total', 0))} "
      f"(acked {int(metrics.get('tidegate_batches_acked_total', 0))}, "
      f"retried {int(metrics.get('tidegate_batches_retried_total', 0))})")
print(f"bytes on wire   {int(metrics.get('tidegate_uplink_bytes_total', 0))} "
      f"({metrics.get('tidegate_uplink_bytes_total', 0) / max(len(landed), 1):.1f} per event)")
print(f"landed          {len(landed)} (unique {len(got)}, duplicates {dups}, missing {missing}, unknown {extra})")
raw_emails = {json.loads(l)["payload"]["user"]["email"] for l in open("published.ndjson")}
landed_text = open("landed.ndjson").read()
leaked = sum(1 for e in raw_emails if e in landed_text)
print(f"privacy         {len(raw_emails)} distinct raw emails published, {leaked} found in landed data")
aggregates = [json.loads(l) for l in open("aggregates.ndjson")]
counted = sum(a["measures"]["/temp"]["count"] for a in aggregates)
print(f"aggregates      {len(aggregates)} windows (10 s per device), counts add up to {counted} "
      f"of {len(published)} events, {sum(a['revision'] > 0 for a in aggregates)} revised")
if aggregates:
    print(f"  e.g.          {json.dumps(aggregates[0], separators=(',', ':'))}")
print(f"end to end      {len(landed) / (end - start):.0f} events/s over {end - start:.1f}s "
      "(first publish to last landing, outage included)")
ok = (missing == 0 and dups == 0 and extra == 0 and len(published) > 0 and leaked == 0
      and counted == len(published))
print("RESULT          " + ("every published event landed exactly once" if ok else "MISMATCH"))
sys.exit(0 if ok else 1)
PY
