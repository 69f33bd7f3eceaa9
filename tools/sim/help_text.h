// SPDX-License-Identifier: Apache-2.0
// The text of tidegate-sim --help around the option list: what the tool is for, the payload
// and log formats, output lines that scripts parse, signals and exit codes. Kept apart from
// main.cc so the wiring stays readable. Constants only; thread-safe.
#pragma once

namespace tidegate::sim {

inline constexpr const char* kHelpDescription =
    "tidegate-sim publishes simulated IoT device telemetry to an MQTT broker, for demos,\n"
    "integration, aggregation and leak tests of the tidegate agent. Events are deterministic\n"
    "for a --seed (only timestamps follow the wall clock), and --log writes every message\n"
    "the broker acknowledged, so a test can check exactly-once delivery end to end.\n";

inline constexpr const char* kHelpFooter = R"(PAYLOAD
  One JSON object per message on the event's topic (see TOPICS), keys in this order:
    {"device_id":"dev-0007","msg_id":"5f0c6e1d2a9b3c47","ts":1764000000123,"seq":42,
     "temp":23.47,"humidity":45.3,"battery":87,
     "user":{"email":"maria.garcia7+alerts@mail.example.com","phone":"+44 20 7946 0123"},
     "ip":"10.12.0.7","note":"call me at +1 415 555 0134 after 5"}
  msg_id is unique per event and repeated by its duplicate; seq counts per device from 1;
  temp (18-30 C) and humidity walk per device; battery is an integer percentage. user, ip
  and note are left out with --no-pii. All personal data is fictional (example.com/.org/
  .net addresses, UK 020 7946 0xxx and US 555-01xx numbers, private IPv4 ranges).
  --broken-firmware F puts round(F x devices) devices (chosen by the seed) on a "new
  firmware" that breaks each of their events one of three ways, for schema tests:
  numbers_as_strings ("temp":"23.47","humidity":"45.3"), missing_required (no battery),
  out_of_range (humidity + 1000, e.g. 1045.3). The --log line says which: "broken":"...".

TOPICS
  By default every event goes to <prefix>/<device_id>/telemetry (--topic-prefix, default
  "devices"). --topic TEMPLATE[@WEIGHT] replaces that; {device} in TEMPLATE becomes the
  event's device id (dev-0007), and it is the only placeholder. Repeat --topic to mix
  topics: each event picks one at random in proportion to the weights (default 1), the
  same way for the same --seed, and the payload is the same whichever topic it goes to.
  A weight is the digits after the last '@'; a topic that itself ends in @<digits> needs an
  explicit weight (--topic 'a/b@5@1'). Wildcards (+, #) are refused.
    --topic 'site-1/{device}/alarms'                   every event on an alarms topic
    --topic '{device}/telemetry@95' --topic '{device}/alarms@5'    about 5% alarms

TLS AND AUTHENTICATION
  --ca-file FILE turns on TLS and verifies the broker against that CA (--tls alone uses
  the system's CAs); the broker's certificate must name --host. --cert-file and --key-file
  add a client certificate. --username and a password (--password-file FILE, the
  TIDEGATE_SIM_PASSWORD environment variable, or --password, which other users can see
  in the process list) are sent in the CONNECT. A TLS failure or refused credentials at
  start exit 1 naming the cause; the password is never printed.

LOG (--log FILE)
  One line per message the broker acknowledged (QoS 1: PUBACK, QoS 2: PUBCOMP; QoS 0:
  accepted by libmosquitto), in the order the acknowledgements arrived:
    {"topic":"devices/dev-0007/telemetry","qos":1,"duplicate":false,"payload":{...}}
  A new-firmware event (--broken-firmware) has ,"broken":"<how>" after "duplicate".
  payload is the published JSON object itself. A message never acknowledged is not logged.

OUTPUT
  stderr: the seed at start, then every 5 s and at the end
    tidegate-sim: published N (dups D, late L) acked A rate R/s
  stdout, at the end:
    published N events (D duplicates) in T s, R events/s
  N counts events (first copies); duplicates are extra messages; T runs from the first
  publish to the last acknowledgement.

SIGNALS
  SIGINT or SIGTERM: stop generating, release held offline events (unless the broker is
  unreachable), wait up to --ack-timeout for acknowledgements, close the log and exit. A
  second signal stops waiting.
  If the connection drops mid-run the client reconnects (1-10 s backoff) and carries on.

EXIT STATUS
  0  every published message was acknowledged (also after SIGINT/SIGTERM)
  1  runtime failure: the broker is unreachable or refuses the connection at start, a
     publish or log write fails, or messages are still unacknowledged after --ack-timeout
  2  bad usage: unknown flag or invalid value

EXAMPLES
  tidegate-sim --count 10000 --log /tmp/sent.ndjson
  tidegate-sim --rate 5000 --duration 4s --qos 0
  tidegate-sim --devices 50 --jitter 2s --dup-rate 0.01 --late-fraction 0.001 --seed 42
  tidegate-sim --offline-device 3 --offline-at 5s --offline-for 30s --duration 1m
  tidegate-sim --host broker.lan --port 8883 --ca-file ca.pem --username sim \
      --password-file sim.pass --topic 'plant/{device}/telemetry@9' \
      --topic 'plant/{device}/alarms@1' --count 1000)";

}  // namespace tidegate::sim
