#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tidegate's end-to-end benchmark: one command, real parts on loopback. See --help.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'HELP'
NAME
    bench/run.sh - tidegate's end-to-end benchmark on loopback, with baselines

SYNOPSIS
    bash bench/run.sh [--smoke] [--full] [--scenarios "NAME..."] [--runs N] [--out FILE]
                      [--keep] [--no-stages] [--help]

DESCRIPTION
    Starts real parts on 127.0.0.1 (a mosquitto broker, tidegate-collector serve over TLS with
    certificates made for the run, tidegate run) and drives them with
    tidegate-bench-publisher, a C++ libmosquitto publisher of the simulator's default events
    (tools/sim's EventGenerator: ~300 bytes of JSON with PII; payloads are pregenerated, each
    message only gets a unique msg_id patched in) that publishes as fast as the broker takes
    them with at most WINDOW messages unacknowledged. The baseline is the same publisher
    against tidegate-bench-null-sub, a C++ subscriber that only counts.

    The agent runs the full pipeline: privacy on the 3 personal-data fields (tokenize
    /user/email, encrypt /user/phone, mask /ip), one 60 s tumbling aggregation per device
    (count/avg/p95 of /temp, min/max/avg of /humidity, last /battery), the SQLite buffer, and
    the HTTPS uplink (batch linger 200 ms, zstd 1: the defaults) to the collector.

    Each scenario runs RUNS times, alternating with its baseline in the same rounds so that
    machine noise hits both; medians and min-max are reported, and ratios to the baseline's
    median. A fresh broker, collector and agent (state dir) are started for every run.

SCENARIOS
    qos0, qos1   Full pipeline at QoS 0 / QoS 1, COUNT events, vs the null subscriber at the
                 same QoS. Figures: events/s ingested (publish start to the last event's
                 ingest_time) and landed (to the last batch's received_at at the collector);
                 agent CPU us/event (/proc/PID/stat utime+stime from the first publish until
                 the last event landed); peak RSS (VmHWM), idle RSS (VmRSS IDLE_WAIT s after
                 the last landing) split into anonymous memory (RssAnon: heap, stacks,
                 caches) and the mapped pages of the binary and its shared libraries
                 (RssFile), threads; wire bytes/event (tidegate_uplink_bytes_total);
                 p50/p99 latency publish->ingest (the agent's ingest_time: the MQTT callback,
                 before the group commit, which follows within buffer.commit_interval, 50 ms)
                 and publish->landing (the collector's batches.received_at), by joining the
                 publisher's per-message log with the landed rows on msg_id; and a check that
                 every published event landed exactly once.
    offline      Ingest only at QoS 1 (uplink URL unreachable) vs the null QoS 1 subscriber:
                 events/s until tidegate_ingested_total reaches COUNT (polled every 50 ms).
    uniform, zipf
                 Full pipeline at QoS 1 over DEVICES devices drawn uniform or Zipf(ZIPF_S),
                 alternated; zipf's ratio is against uniform. Also reports the aggregation's
                 open groups.
    drain1m      A backlog of DRAIN_COUNT events is built once with the uplink unreachable
                 (then copied for each run, and synced to disk before it starts); each run
                 restarts the agent on it with no broker, starts the collector and times
                 collector start -> last landing.
                 Also events/s from the first batch landed to the last (without the
                 collector's start and the agent's reconnect backoff, which dominate a
                 short drain) and the collector's CPU us/event (its utime+stime from
                 start to the last landing: TLS, decode, landing), and what the disk
                 under the work dir took meanwhile from every process (/proc/diskstats:
                 MB/s and bytes per event; none on a tmpfs), which bounds the drain.
    ready1m      Process start -> first 200 from GET /readyz with READY_COUNT events
                 buffered, vs an empty buffer (broker up, collector down).
    backlog5m    Builds BIG_COUNT buffered events (RSS sampled against events buffered) and
                 drains them; compares peak RSS with the DRAIN_COUNT backlog: memory must not
                 grow with the backlog. RUNS_LONG runs (1).
    plugin       The design of an ingest inside the gateway's mosquitto, evaluated before it
                 is built: the broker loads bench/broker_plugin_probe.cc, which sees each
                 QoS 1 message in the broker's thread before its PUBACK (no subscriber, no
                 hop), and in a second variant (plugin_commit) also commits each one to
                 SQLite before returning, as "stored before the device's PUBACK" needs.
                 Both against the broker delivering to the null QoS 1 subscriber in the
                 same rounds. Figures: events/s (publish start to the last PUBACK; the
                 baseline: to the last delivery), broker CPU us/event, and CPU us/event
                 (the broker's, for the baseline broker + subscriber). Needs mosquitto-dev.
    full         Alias for "qos0 qos1". all: every scenario (the default).

    The per-stage table (STAGES=1, the default) runs the Google Benchmark micro-benchmarks
    (privacy_bench, aggregate_bench, stages_bench) and prints ns/event for parse, privacy,
    dedup, buffer commit, aggregation, batch encode, compress, the uplink's buffer read and
    acknowledgement (its rows deleted), and the collector's decode; send is not measured
    alone (drain1m measures it end to end).

OPTIONS
    --smoke          SMOKE=1: tiny counts, 1 run, every scenario and the stage table; no
                     timing thresholds; fails only if an event did not land, a process failed
                     or the JSON is malformed. ctest runs it (label bench).
    --full           FULL=1: the issue's counts (COUNT 500000, DRAIN_COUNT 1000000,
                     BIG_COUNT 5000000); takes long (tens of minutes on 2 cores).
    --scenarios S    SCENARIOS="S ...": the scenarios to run, in the order above.
    --runs N         RUNS=N (default 5; 1 with --smoke).
    --out FILE       OUT=FILE: the JSON result (default bench/results/<timestamp>.json); the
                     plot goes next to it with .png.
    --keep           KEEP=1: keep the work directory (logs, configs, databases).
    --no-stages      STAGES=0: skip the micro-benchmarks.
    -h, --help       This text.

ENVIRONMENT
    COUNT (50000; FULL 500000; SMOKE 2000)     events per qos0/qos1/offline/zipf/uniform run
    DRAIN_COUNT (100000; FULL 1000000; SMOKE 5000)   backlog of drain1m
    READY_COUNT (= DRAIN_COUNT)                  backlog of ready1m
    BIG_COUNT (500000; FULL 5000000; SMOKE 10000)     backlog of backlog5m
    RUNS (5), RUNS_LONG (1), DEVICES (1000), ZIPF_S (1.1), SEED (42), WINDOW (the
    publisher's unacknowledged messages; unset: 1000 at QoS 0, 300 at QoS 1), TIMEOUT (120 s: the longest
    any single wait may take; scaled up for large backlogs), IDLE_WAIT (1 s), PLOT (1),
    DEDUP_WINDOW (the agent's dedup.window; unset: its default 10m, 0: off), BUILD_DIR (build),
    BATCH_MAX_EVENTS (the agent's uplink.batch.max_events; unset: its default),
    DICTIONARY (a zstd dictionary: the agent's uplink.compression.dictionary and the
    collector's --dictionary; unset: none), KEEP_RAW (DIR: the collector keeps every body
    as received in DIR/<run>, to train a dictionary on with tidegate-collector dict train),
    LANDING_DIR (DIR: the collector's stores in DIR/<work dir>/<run>, on another disk or a
    tmpfs such as /dev/shm, as a collector on another machine has its own disk; unset: the
    work dir, on the same disk as the agent's buffer).

OUTPUT
    A table on stdout; the JSON result (machine: nproc, CPU model, kernel, load average;
    versions: git describe, mosquitto, compiler; the settings and seed; per scenario the
    description, medians with min-max and every run, the baseline and the ratios; the
    stage table) and a PNG (gnuplot) of events/s and agent RSS over time, sampled every
    100 ms, for the first qos1 agent run. Progress goes to stderr.

EXIT STATUS
    0 all ran and every published event landed; 1 a failure (named on stderr); 2 bad usage
    or missing binaries; 130 interrupted. Processes it started are stopped and its temporary
    directory removed in every case.

EXAMPLES
    bash bench/run.sh                                  # the default run, under 5 minutes
    SCENARIOS="qos1 zipf uniform" RUNS=3 bash bench/run.sh
    bash bench/run.sh --smoke                          # CI
HELP
}

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --smoke) export SMOKE=1 ;;
    --full) export FULL=1 ;;
    --keep) export KEEP=1 ;;
    --no-stages) export STAGES=0 ;;
    --scenarios) export SCENARIOS=${2:?--scenarios needs a value}; shift ;;
    --runs) export RUNS=${2:?--runs needs a value}; shift ;;
    --out) export OUT=${2:?--out needs a value}; shift ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

BIN=${BUILD_DIR:-$ROOT/build}/bin
missing=()
for b in tidegate tidegate-collector tidegate-bench-publisher tidegate-bench-null-sub; do
  [ -x "$BIN/$b" ] || missing+=("$BIN/$b")
done
if [ "${STAGES:-1}" = 1 ]; then
  for b in privacy_bench aggregate_bench stages_bench; do
    [ -x "$BIN/$b" ] || missing+=("$BIN/$b (needs libbenchmark-dev; or STAGES=0)")
  done
fi
if ((${#missing[@]})); then
  printf 'bench/run.sh: missing %s\n' "${missing[@]}" >&2
  echo "build first: cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j\$(nproc)" >&2
  exit 2
fi
for tool in mosquitto openssl python3; do
  command -v "$tool" >/dev/null || {
    echo "bench/run.sh: $tool not found: bash scripts/install-deps.sh" >&2
    exit 2
  }
done
exec python3 "$ROOT/bench/harness.py"
