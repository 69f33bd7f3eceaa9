#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end throughput on loopback with real parts: tidegate-sim publishes COUNT events at
# QoS 1 as fast as it can to a mosquitto broker; the agent ingests, buffers and uploads them
# to tidegate-collector over TLS. A run's figure is landed events / (first publish to last
# landing). Variants, RUNS each, reported as medians:
#   baseline  the broker delivering the same events to a null QoS 1 subscriber (mosquitto_sub)
#   agent     tidegate without privacy rules
#   privacy   tidegate with the simulator's PII fields tokenized, masked and scrubbed
#   aggregate tidegate with one aggregation over DEVICES devices (one group each) and 3
#             measures, forward_raw on; also reports the open groups, the aggregator's state
#             bytes per open group and the agent's peak RSS
# The agent variants each run the simulator over DEVICES devices (10000), so their figures
# compare like with like.
# Environment: COUNT (50000), RUNS (5), DEVICES (10000), VARIANTS ("baseline agent privacy
# aggregate"), BUILD_DIR (build). Needs a built tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BUILD_DIR:-$ROOT/build}/bin
COUNT=${COUNT:-50000}
RUNS=${RUNS:-5}
DEVICES=${DEVICES:-10000}
VARIANTS=${VARIANTS:-baseline agent privacy aggregate}
WORK=$(mktemp -d /tmp/tidegate-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }

cd "$WORK"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 1 -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj /CN=localhost -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
  -extfile san.ext -out server.pem 2>/dev/null
"$BIN/tidegate" keys init --dir keys >/dev/null

MQTT_PORT=$(free_port)
cat >mosquitto.conf <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
set_tcp_nodelay true
CONF
[ "$(id -u)" = 0 ] && echo "user root" >>mosquitto.conf
mosquitto -c mosquitto.conf >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$MQTT_PORT"

run_baseline() {
  timeout 120 mosquitto_sub -p "$MQTT_PORT" -q 1 -t 'devices/#' -C "$COUNT" >/dev/null &
  local sub=$!
  sleep 0.5
  local start; start=$(now)
  "$BIN/tidegate-sim" --port "$MQTT_PORT" --rate 0 --count "$COUNT" --devices "$DEVICES" \
    --seed 7 >/dev/null 2>&1
  wait "$sub"
  python3 -c "print(int($COUNT / ($(now) - $start)))"
}

run_agent() {  # $1: plain | privacy | aggregate
  local dir="$WORK/run-$RANDOM"; mkdir -p "$dir"
  local cport mport; cport=$(free_port); mport=$(free_port)
  "$BIN/tidegate-collector" serve --listen "127.0.0.1:$cport" --data-dir "$dir/collector" \
    --tls-cert server.pem --tls-key server.key >/dev/null 2>&1 &
  local collector=$!
  wait_port "$cport"
  {
    echo "agent: {id: bench, state_dir: $dir/state, log_level: warn, metrics_listen: 127.0.0.1:$mport}"
    echo "source: {mqtt: {port: $MQTT_PORT, client_id: bench-$RANDOM, topics: [{filter: devices/+/telemetry, qos: 1}]}}"
    echo "uplink: {url: https://localhost:$cport/v1/batches, tls: {ca_file: $WORK/ca.pem}, batch: {linger: 50ms}}"
    if [ "$1" = aggregate ]; then
      echo "aggregate: [{name: telemetry_1m, match: devices/+/telemetry, group_by: [device_id],"
      echo "  window: {tumbling: 1m}, measures: {/temp: [count, avg, p95], /humidity: [min, max, avg],"
      echo "  /battery: [last]}, watermark: {max_out_of_order: 5s, idle_timeout: 5m}}]"
    fi
    if [ "$1" = privacy ]; then
      echo "privacy: {key_file: $WORK/keys/token.keys, rules: [{match: devices/+/telemetry,"
      echo "  tokenize: [/user/email, /user/phone], mask: {/ip: ipv4_prefix_24}, scrub: [/note]}]}"
    fi
  } >"$dir/agent.yaml"
  "$BIN/tidegate" run -c "$dir/agent.yaml" 2>"$dir/agent.log" &
  local agent=$!
  wait_port "$mport"; sleep 0.5
  local start; start=$(now)
  "$BIN/tidegate-sim" --port "$MQTT_PORT" --rate 0 --count "$COUNT" --devices "$DEVICES" \
    --seed 7 >/dev/null 2>&1
  for _ in $(seq 1200); do
    local landed
    landed=$(curl -sk "https://127.0.0.1:$cport/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
    [ "$landed" -ge "$COUNT" ] && break
    sleep 0.05
  done
  python3 -c "print(int($COUNT / ($(now) - $start)))"
  if [ "$1" = aggregate ]; then
    local page; page=$(curl -s "http://127.0.0.1:$mport/metrics")
    local groups bytes
    groups=$(awk '/^tidegate_aggregate_open_groups/ {print $2}' <<<"$page")
    bytes=$(awk '/^tidegate_aggregate_state_bytes/ {print $2}' <<<"$page")
    echo "  aggregate run: open groups $groups, state $bytes bytes ($((bytes / (groups > 0 ? groups : 1))) per group), agent peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$agent/status")" >&2
  else
    echo "  $1 run: agent peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$agent/status")" >&2
  fi
  kill "$agent" "$collector"; wait "$agent" "$collector" 2>/dev/null || true
}

median() { python3 -c "import statistics,sys; print(int(statistics.median(map(int, sys.argv[1:]))))" "$@"; }
declare -A results
for variant in $VARIANTS; do
  vals=()
  for _ in $(seq "$RUNS"); do
    case $variant in
      baseline) vals+=("$(run_baseline)") ;;
      agent) vals+=("$(run_agent plain)") ;;
      privacy) vals+=("$(run_agent privacy)") ;;
      aggregate) vals+=("$(run_agent aggregate)") ;;
    esac
  done
  results[$variant]=$(median "${vals[@]}")
  echo "$variant: runs ${vals[*]} events/s, median ${results[$variant]}" >&2
done
python3 - "$COUNT" "$RUNS" "$DEVICES" "${results[baseline]:-0}" "${results[agent]:-0}" \
  "${results[privacy]:-0}" "${results[aggregate]:-0}" <<'PY'
import sys
n, r, d, b, a, p, g = map(int, sys.argv[1:])
print(f"e2e, {n} QoS 1 events from {d} devices, median of {r} runs (events/s):")
if b: print(f"  broker -> null subscriber (baseline)  {b}")
ratio = lambda x: f" ({x / b:.2f}x baseline)" if b else ""
if a: print(f"  tidegate, no privacy rules            {a}{ratio(a)}")
if p: print(f"  tidegate, privacy on 4 PII fields     {p}{ratio(p)}" + (f", {100 * (a - p) / a:.1f}% below no-privacy" if a else ""))
if g: print(f"  tidegate, aggregation {d} groups x 3 measures  {g}{ratio(g)}" + (f", {100 * (a - g) / a:.1f}% below no-aggregation" if a else ""))
PY
