#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How long a remote-config push takes to reach and apply on a fleet, through each channel.

Starts on loopback, real parts only (the parts of bench/fleet.py): a local mosquitto for the
devices, N tidegate agents, and per channel:
- opamp: one `tidegate-collector serve --config-dir DIR` over TLS, which is also every agent's
  HTTPS uplink; each agent polls it every --poll-interval. The push is the placing of
  DIR/<agent_id>.json for every agent (renamed into place); an agent is done when
  `tidegate-collector agents` shows config_status "applied" with the bundle's hash.
- mqtt: the TLS cloud mosquitto with the shipped ACL, every agent's MQTT uplink; the push is
  a retained publish on tidegate/<agent_id>/config for every agent (mosquitto_pub, as the
  config publisher); an agent is done when its status topic says "applied" for the version.

Each agent gets its own bundle (its config names its id and state_dir), signed beforehand with
`tidegate config sign`; the bundle adds a privacy drop rule (applied live). Prints, per
channel, the time from the first bundle placed or published to each agent's APPLIED: min,
median, max (all N). Exit status 0 if every agent applied, 1 if not, 2 for bad usage.

  python3 bench/config_push.py --build-dir build --agents 20 --channel opamp --poll-interval 5s
  python3 bench/config_push.py --build-dir build --agents 20 --channel mqtt
"""

import argparse
import hashlib
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import Certs, Fleet, die, finish, free_port, log, wait_for  # noqa: E402

DROP_RULE = "privacy:\n  rules:\n    - match: fleet/+/+/telemetry\n      drop: [/user/email]\n"


class PushFleet(Fleet):
    def opamp_agent_config(self, agent):
        d = self.work / agent
        (d / "state").mkdir(parents=True)
        port = free_port()
        (d / "tidegate.yaml").write_text(f"""agent:
  id: {agent}
  state_dir: {d}/state
  metrics_listen: 127.0.0.1:{port}
source:
  mqtt:
    host: 127.0.0.1
    port: {self.local_port}
    client_id: {agent}-source
    topics:
      - {{filter: fleet/{agent}/+/telemetry, qos: 1, priority: 5}}
uplink:
  url: https://localhost:{self.collector_port}/v1/batches
  tls: {{ca_file: {self.certs.ca}}}
remote_config:
  enabled: true
  channel: opamp
  url: https://localhost:{self.collector_port}/v1/opamp
  poll_interval: {self.args.poll_interval}
  signing_public_key: {self.work}/keys/signing.pub
""")
        return port

    def mqtt_agent_config(self, agent):
        port = self.agent_config(agent)  # bench/fleet.py's: MQTT uplink to the cloud broker
        with open(self.work / agent / "tidegate.yaml", "a") as f:
            f.write(f"remote_config:\n  enabled: true\n  channel: mqtt\n"
                    f"  signing_public_key: {self.work}/keys/signing.pub\n")
        return port

    def start_config_collector(self):
        cert, key = self.certs.issue("collector", server=True)
        self.bundles = self.work / "bundles"
        self.bundles.mkdir()
        self.store = self.work / "collector"
        self.store.mkdir()
        ready = self.work / "collector.ready"
        self.spawn("collector", [self.bin / "tidegate-collector", "serve", "--listen",
                                 "127.0.0.1:0", "--ready-file", ready, "--store", self.store,
                                 "--tls-cert", cert, "--tls-key", key,
                                 "--config-dir", self.bundles])
        wait_for(lambda: ready.exists() and "\n" in ready.read_text(), 30, "the collector")
        self.collector_port = int(ready.read_text().split("\n")[0])

    def sign(self, agent, version):
        config = self.work / agent / "tidegate.yaml"
        text = config.read_text() + DROP_RULE
        source = self.work / agent / f"bundle-v{version}.yaml"
        source.write_text(text)
        out = subprocess.run([self.bin / "tidegate", "config", "sign", "--key",
                              self.work / "keys" / "signing.key", "--version", str(version),
                              "--agent", agent, source], capture_output=True, text=True)
        if out.returncode != 0:
            die(f"config sign failed: {out.stderr}")
        return out.stdout

    def agents_report(self):
        out = subprocess.run([self.bin / "tidegate-collector", "agents", "--store", self.store],
                             capture_output=True, text=True)
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def run(self):
        a = self.args
        self.certs = Certs(self.work / "certs")
        subprocess.run([self.bin / "tidegate", "keys", "init", "--dir", self.work / "keys"],
                       check=True, capture_output=True)
        self.start_local_broker()
        if a.channel == "opamp":
            self.start_config_collector()
            self.metrics_port = {g: self.opamp_agent_config(g) for g in self.agents}
        else:
            self.start_cloud_broker()
            self.metrics_port = {g: self.mqtt_agent_config(g) for g in self.agents}
        for agent in self.agents:
            self.start_agent(agent)
        wait_for(lambda: all(self.metrics(g) is not None for g in self.agents), 120,
                 "every agent's /metrics")
        if a.channel == "opamp":
            wait_for(lambda: len(self.agents_report()) == len(self.agents), 120,
                     "every agent's first OpAMP report")
        bundles = {agent: self.sign(agent, 2) for agent in self.agents}
        log(f"{len(self.agents)} agents up; pushing through {a.channel}")
        return self.push_opamp(bundles) if a.channel == "opamp" else self.push_mqtt(bundles)

    def push_opamp(self, bundles):
        hashes = {g: hashlib.sha256(b.encode()).hexdigest() for g, b in bundles.items()}
        start = time.monotonic()
        for agent, bundle in bundles.items():
            tmp = self.bundles / f".{agent}.tmp"
            tmp.write_text(bundle)
            tmp.rename(self.bundles / f"{agent}.json")
        done = {}
        while len(done) < len(self.agents) and time.monotonic() - start < self.args.timeout:
            now = time.monotonic() - start
            for row in self.agents_report():
                agent = row.get("id")
                if (agent in hashes and agent not in done and row.get("config_status") ==
                        "applied" and row.get("config_hash") == hashes[agent]):
                    done[agent] = now
            time.sleep(0.05)
        return done

    def push_mqtt(self, bundles):
        cert, key = self.certs.issue("tidegate-config-publisher")
        tls = ["-h", "127.0.0.1", "-p", str(self.cloud_port), "--cafile", str(self.certs.ca),
               "--cert", str(cert), "--key", str(key)]
        status_log = self.work / "status.log"
        watcher = subprocess.Popen(["mosquitto_sub", *tls, "-i", "status-watcher", "-q", "1",
                                    "-t", "tidegate/+/config/status", "-v"],
                                   stdout=subprocess.PIPE, text=True, errors="replace",
                                   bufsize=1)
        done = {}
        try:
            time.sleep(1)  # lets the watcher subscribe first: only the figures depend on it
            start = time.monotonic()
            for agent, bundle in bundles.items():
                subprocess.run(["mosquitto_pub", *tls, "-i", "config-publisher", "-q", "1", "-r",
                                "-t", f"tidegate/{agent}/config", "-s"], input=bundle, text=True,
                               check=True)
            # A thread reads the watcher's lines (a select on a buffered pipe could miss lines
            # already read into the buffer); the statuses are retained, so a late subscription
            # only delays the figures.
            lines = queue.Queue()
            threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout],
                             daemon=True).start()
            with open(status_log, "w") as out:
                while len(done) < len(self.agents) and time.monotonic() - start < self.args.timeout:
                    try:
                        line = lines.get(timeout=1)
                    except queue.Empty:
                        continue
                    out.write(line)
                    topic, _, payload = line.partition(" ")
                    agent = topic.split("/")[1] if topic.count("/") == 3 else ""
                    if agent in bundles and agent not in done and '"status":"applied"' in payload \
                            and '"version":2' in payload:
                        done[agent] = time.monotonic() - start
        finally:
            watcher.terminate()
            watcher.wait()
        return done


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default="build", help="tree with bin/ (default: build)")
    p.add_argument("--work-dir", help="keep everything here (default: a temporary dir)")
    p.add_argument("--agents", type=int, default=20, help="agents (default 20)")
    p.add_argument("--channel", choices=("opamp", "mqtt"), default="opamp")
    p.add_argument("--poll-interval", default="5s", help="remote_config.poll_interval (opamp)")
    p.add_argument("--timeout", type=float, default=300, help="give up after (default 300 s)")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    args = p.parse_args()
    # What bench/fleet.py's Fleet reads.
    args.events, args.rate, args.hot_factor, args.ack_timeout, args.seed = 1, 1, 1, "10s", 1
    if args.agents < 1:
        p.error("--agents >= 1")
    fleet = PushFleet(args)
    done = {}
    try:
        done = fleet.run()
    finally:
        fleet.stop_all()
    times = sorted(done.values())
    ok = len(done) == args.agents
    if times:
        print(f"config push ({args.channel}"
              f"{', poll ' + args.poll_interval if args.channel == 'opamp' else ''}): "
              f"{len(done)}/{args.agents} agents APPLIED; from the first bundle placed to "
              f"APPLIED: min {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s, "
              f"max {times[-1]:.2f} s")
    else:
        print(f"config push ({args.channel}): no agent applied")
    finish(fleet, args, ok)


if __name__ == "__main__":
    main()
