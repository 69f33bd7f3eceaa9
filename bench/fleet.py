#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The fleet run: many agents, one cloud broker, two collectors, one PostgreSQL.

Starts on loopback, all real parts: a local mosquitto for the devices, N tidegate agents (each
with its own state directory, certificate and simulator), a TLS "cloud" mosquitto that
requires client certificates and confines each gateway to its own topics (the shipped
configs/mosquitto-cloud.acl), two `tidegate-collector serve --mqtt` in one shared
subscription group, and a PostgreSQL 15 cluster in a temporary directory they both land into.
One agent is "hot": its simulator publishes --hot-factor times the others' rate.

While the simulators publish, every agent's backlog (tidegate_buffer_records) is sampled each
second; optionally (--kill-collector) collector 1 is SIGKILLed mid-run and restarted. At the
end it checks that every published event landed exactly once (by agent and msg_id) and
prints: events/s from the first publish to the last landing, CPU per event of the cloud
broker, each collector, PostgreSQL and the agents, the batches the agents republished after
an ack timeout, and each agent's backlog over time. Exit status 0 if every event landed once,
1 if not, 2 for bad usage or a part that did not start.

CI runs it small (ctest fleet_smoke); by hand, e.g.:
  python3 bench/fleet.py --build-dir build --agents 20 --events 20000 --rate 500 --kill-collector
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[fleet] {message}", file=sys.stderr, flush=True)


def die(message, code=2):
    log(message)
    sys.exit(code)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Certs:
    """A CA and EC P-256 certificates made with the openssl CLI; CN is the identity."""

    def __init__(self, directory):
        self.dir = directory
        self.dir.mkdir(parents=True)
        self.ca = self.dir / "ca.pem"
        self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.dir / "ca.key",
                      "-out", self.ca, "-days", "2", "-subj", "/CN=tidegate fleet test CA")

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    def issue(self, name, server=False):
        key, csr, cert = (self.dir / f"{name}.key", self.dir / f"{name}.csr",
                          self.dir / f"{name}.pem")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
                      "-subj", f"/CN={name}")
        ext = self.dir / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else
                       "extendedKeyUsage=clientAuth\n")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.dir / "ca.key",
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key


class Fleet:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.build_dir).resolve() / "bin"
        for tool in ("tidegate", "tidegate-collector", "tidegate-sim"):
            if not (self.bin / tool).is_file():
                die(f"{self.bin / tool} not found: build first (--build-dir)")
        for tool in ("mosquitto", "openssl", "pgrep"):
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
                die(f"{tool} not found: run scripts/install-deps.sh")
        if not (PG_BIN / "initdb").exists():
            die(f"{PG_BIN}/initdb not found: install postgresql-15 (scripts/install-deps.sh)")
        self.work = Path(args.work_dir) if args.work_dir else Path(
            tempfile.mkdtemp(prefix="tidegate-fleet-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)  # PostgreSQL runs as nobody when this runs as root
        self.procs = {}  # name -> Popen
        self.agents = [f"gw-{i:03d}" for i in range(1, args.agents + 1)]
        self.hot = self.agents[0]

    # --- processes -------------------------------------------------------------------------

    def spawn(self, name, argv, **kwargs):
        logf = open(self.work / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([str(a) for a in argv], stdout=logf,
                                            stderr=subprocess.STDOUT, **kwargs)
        return self.procs[name]

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self):
        for name in reversed(list(self.procs)):
            self.stop(name, timeout=15)
        if (self.work / "pg" / "data").exists():
            self.pg_ctl("stop", "-m", "fast")

    # --- PostgreSQL --------------------------------------------------------------------------

    def as_pg_user(self):
        """PostgreSQL refuses to run as root: then it runs as nobody."""
        if os.geteuid() != 0:
            return []
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]

    def pg_ctl(self, *args):
        pg = self.work / "pg"
        return subprocess.run(self.as_pg_user() + [PG_BIN / "pg_ctl", "-D", pg / "data",
                                                   "-l", pg / "postgres.log", "-w", *args],
                              capture_output=True, text=True)

    def start_postgres(self):
        pg = self.work / "pg"
        pg.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(pg, nobody.pw_uid, nobody.pw_gid)
        self.pg_port = free_port()
        init = subprocess.run(self.as_pg_user() + [PG_BIN / "initdb", "-D", pg / "data", "-U",
                                                   "tidegate", "--auth=trust", "-E", "UTF8"],
                              capture_output=True, text=True)
        if init.returncode != 0:
            die(f"initdb failed: {init.stderr}")
        started = self.pg_ctl("start", "-o",
                              f"-h 127.0.0.1 -p {self.pg_port} -k {pg} -c max_connections=100")
        if started.returncode != 0:
            die(f"postgres did not start: {started.stderr}")
        subprocess.run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U",
                        "tidegate", "landing"], check=True)
        self.store_url = f"postgresql://tidegate@127.0.0.1:{self.pg_port}/landing"
        self.pg_pid = int((pg / "data" / "postmaster.pid").read_text().split()[0])

    def postgres_cpu(self):
        return cpu_seconds(self.pg_pid) + sum(cpu_seconds(p) for p in children_of(self.pg_pid))

    # --- brokers -----------------------------------------------------------------------------

    def start_local_broker(self):
        d = self.work / "local-broker"
        d.mkdir()
        self.local_port = free_port()
        (d / "mosquitto.conf").write_text(
            f"listener {self.local_port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {d}/\nautosave_interval 5\n"
            "max_queued_messages 0\nmax_inflight_messages 100\nuser root\n")
        self.spawn("local-broker", ["mosquitto", "-c", d / "mosquitto.conf"])
        wait_for(lambda: port_open(self.local_port), 10, "the local broker")

    def start_cloud_broker(self):
        d = self.work / "cloud-broker"
        d.mkdir()
        self.cloud_port = free_port()
        cert, key = self.certs.issue("cloud-broker", server=True)
        acl = (ROOT / "configs" / "mosquitto-cloud.acl").read_text()
        (d / "acl").write_text(acl)
        # The shipped configs/mosquitto-cloud.conf with this run's paths and port.
        (d / "mosquitto.conf").write_text(
            "per_listener_settings false\nallow_anonymous false\n"
            f"listener {self.cloud_port} 127.0.0.1\nprotocol mqtt\n"
            f"cafile {self.certs.ca}\ncertfile {cert}\nkeyfile {key}\n"
            "require_certificate true\nuse_identity_as_username true\ntls_version tlsv1.2\n"
            f"acl_file {d}/acl\nmax_packet_size 16777216\npersistence true\n"
            f"persistence_location {d}/\nautosave_interval 5\nmax_queued_messages 100000\n"
            "max_queued_bytes 0\nset_tcp_nodelay true\nuser root\n")
        self.spawn("cloud-broker", ["mosquitto", "-c", d / "mosquitto.conf"])
        wait_for(lambda: port_open(self.cloud_port), 10, "the cloud broker")

    # --- collectors --------------------------------------------------------------------------

    def start_collector(self, index):
        name = f"tidegate-collector-{index}"
        cert, key = self.certs.dir / f"{name}.pem", self.certs.dir / f"{name}.key"
        if not cert.exists():
            cert, key = self.certs.issue(name)
        ready = self.work / f"{name}.ready"
        ready.unlink(missing_ok=True)
        self.spawn(name, [self.bin / "tidegate-collector", "serve", "--listen", "127.0.0.1:0",
                          "--ready-file", ready, "--store", self.store_url,
                          "--mqtt", f"mqtts://127.0.0.1:{self.cloud_port}", "--group", "fleet",
                          "--mqtt-ca", self.certs.ca, "--mqtt-cert", cert, "--mqtt-key", key,
                          "--mqtt-client-id", name])
        wait_for(ready.exists, 30, f"{name} to listen")

    # --- agents ------------------------------------------------------------------------------

    def agent_config(self, agent):
        d = self.work / agent
        (d / "state").mkdir(parents=True)
        cert, key = self.certs.issue(agent)
        port = free_port()
        (d / "tidegate.yaml").write_text(f"""agent:
  id: {agent}
  state_dir: {d}/state
  log_level: info
  metrics_listen: 127.0.0.1:{port}
source:
  mqtt:
    host: 127.0.0.1
    port: {self.local_port}
    client_id: {agent}-source
    topics:
      - {{filter: fleet/{agent}/+/telemetry, qos: 1, priority: 5}}
events:
  format: json
  device_id: {{field: /device_id}}
  event_time: {{field: /ts, format: unix_ms}}
  id: {{field: /msg_id}}
dedup:
  window: 10m
buffer:
  max_bytes: 256MiB
uplink:
  transport: mqtt
  url: mqtts://127.0.0.1:{self.cloud_port}
  tls: {{ca_file: {self.certs.ca}, cert_file: {cert}, key_file: {key}}}
  batch: {{max_events: 1000, linger: 200ms}}
  retry: {{initial: 200ms, max: 5s}}
  mqtt: {{client_id: {agent}, max_inflight: 4, ack_timeout: {self.args.ack_timeout}}}
""")
        return port

    def metrics(self, agent):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port[agent]}/metrics",
                                        timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    values[name] = float(value)
                except ValueError:
                    pass
        return values

    def ready(self, agent):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port[agent]}/readyz",
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def start_agent(self, agent):
        self.spawn(agent, [self.bin / "tidegate", "run", "-c",
                           self.work / agent / "tidegate.yaml"])

    def start_sim(self, agent):
        factor = self.args.hot_factor if agent == self.hot else 1
        self.spawn(f"sim-{agent}", [
            self.bin / "tidegate-sim", "--port", self.local_port, "--client-id", f"sim-{agent}",
            "--topic", f"fleet/{agent}/{{device}}/telemetry", "--devices", "20",
            "--count", self.args.events * factor, "--rate", self.args.rate * factor,
            "--seed", self.args.seed + self.agents.index(agent),
            "--log", self.work / agent / "published.ndjson"])

    # --- the run -----------------------------------------------------------------------------

    def run(self):
        a = self.args
        log(f"work dir {self.work}; {a.agents} agents ({self.hot} hot x{a.hot_factor}), "
            f"{a.events} events each at {a.rate}/s, seed {a.seed}")
        self.certs = Certs(self.work / "certs")
        self.start_postgres()
        self.start_local_broker()
        self.start_cloud_broker()
        for i in (1, 2):
            self.start_collector(i)
        self.metrics_port = {agent: self.agent_config(agent) for agent in self.agents}
        for agent in self.agents:
            self.start_agent(agent)
        wait_for(lambda: all(self.ready(agent) for agent in self.agents), 120,
                 "every agent's /readyz")
        log("every part is up; publishing")

        cpu0 = self.cpu_sample()
        start = time.monotonic()
        for agent in self.agents:
            self.start_sim(agent)
        backlog = {agent: [] for agent in self.agents}
        killed = False
        total = a.events * (a.agents - 1 + a.hot_factor)
        while True:
            now = time.monotonic() - start
            samples = {agent: self.metrics(agent) or {} for agent in self.agents}
            for agent, m in samples.items():
                backlog[agent].append((round(now, 1), int(m.get("tidegate_buffer_records", -1))))
            sims_done = all(self.procs[f"sim-{agent}"].poll() is not None
                            for agent in self.agents)
            if a.kill_collector and not killed and now >= a.kill_after:
                log(f"SIGKILL tidegate-collector-1 at {now:.1f} s; restarting it")
                self.stop("tidegate-collector-1", signal.SIGKILL)
                self.start_collector(1)
                killed = True
            # Done when every published event was acknowledged by a collector (the simulators'
            # logs list what the broker took) and no buffer holds anything.
            if sims_done and all(m.get("tidegate_buffer_records", 1) == 0
                                 for m in samples.values()):
                acked = sum(m.get("tidegate_events_acked_total", 0) for m in samples.values())
                if acked >= self.published_count():
                    break
            if now > a.timeout:
                log(f"timed out after {a.timeout} s with backlog "
                    f"{ {k: v[-1][1] for k, v in backlog.items()} }")
                break
            time.sleep(1)
        elapsed = time.monotonic() - start
        cpu1 = self.cpu_sample()
        for agent in self.agents:
            code = self.procs[f"sim-{agent}"].wait()
            if code != 0:
                log(f"simulator of {agent} exited {code} (see {self.work}/sim-{agent}.log)")
        # Republished after uplink.mqtt.ack_timeout (a collector took the batch and no ack
        # came): what the killed collector cost.
        retried = sum((self.metrics(agent) or {}).get("tidegate_uplink_ack_timeouts_total", 0)
                      for agent in self.agents)
        check = self.check_exactly_once()
        cpu = {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1}
        landed = check["landed"]
        result = {
            "agents": a.agents, "hot_agent": self.hot, "hot_factor": a.hot_factor,
            "events_published": check["published"], "events_landed": landed,
            "missing": check["missing"], "duplicates": check["duplicates"],
            "unknown": check["unknown"], "seconds": round(elapsed, 1),
            "events_per_second": round(landed / elapsed) if elapsed else 0,
            "batches_republished": int(retried), "collector_killed": killed,
            "cpu_us_per_event": {k: round(v * 1e6 / max(landed, 1), 1) for k, v in cpu.items()},
            "backlog_max": {k: max(n for _, n in v) for k, v in backlog.items()},
            "drained_at_s": {k: next((t for t, n in reversed(v) if n != 0), 0.0)
                             for k, v in backlog.items()},
            "seed": a.seed,
        }
        (self.work / "result.json").write_text(json.dumps(result, indent=1) + "\n")
        (self.work / "backlog.json").write_text(json.dumps(backlog) + "\n")
        self.print_summary(result, total)
        return result

    def published_count(self):
        return sum(len((self.work / agent / "published.ndjson").read_bytes().splitlines())
                   for agent in self.agents if (self.work / agent / "published.ndjson").exists())

    def cpu_sample(self):
        sample = {"cloud_broker": cpu_seconds(self.procs["cloud-broker"].pid),
                  "local_broker": cpu_seconds(self.procs["local-broker"].pid),
                  "postgresql": self.postgres_cpu(),
                  "agents_total": sum(cpu_seconds(self.procs[a].pid) for a in self.agents)}
        for i in (1, 2):
            sample[f"collector_{i}"] = cpu_seconds(self.procs[f"tidegate-collector-{i}"].pid)
        return sample

    def check_exactly_once(self):
        published = {}  # (agent, msg_id) -> 0
        for agent in self.agents:
            path = self.work / agent / "published.ndjson"
            for line in path.read_text().splitlines() if path.exists() else []:
                published[(agent, json.loads(line)["payload"]["msg_id"])] = 0
        dump = subprocess.run([self.bin / "tidegate-collector", "dump", "--store", self.store_url,
                               "events"], capture_output=True, text=True)
        if dump.returncode != 0:
            die(f"dump failed: {dump.stderr}", 1)
        unknown = landed = 0
        for line in dump.stdout.splitlines():
            event = json.loads(line)
            landed += 1
            key = (event["agent_id"], event["payload"].get("msg_id"))
            if key in published:
                published[key] += 1
            else:
                unknown += 1
        return {"published": len(published), "landed": landed, "unknown": unknown,
                "missing": sum(1 for n in published.values() if n == 0),
                "duplicates": sum(n - 1 for n in published.values() if n > 1)}

    def print_summary(self, r, total):
        print(f"fleet: {r['agents']} agents, {r['events_published']} events published "
              f"(expected {total}), {r['events_landed']} landed, missing {r['missing']}, "
              f"duplicates {r['duplicates']}, unknown {r['unknown']}")
        print(f"fleet: {r['events_per_second']} events/s over {r['seconds']} s; "
              f"{r['batches_republished']} batches republished"
              f"{' (collector 1 killed and restarted)' if r['collector_killed'] else ''}")
        print("fleet: CPU per landed event (us): " +
              ", ".join(f"{k} {v}" for k, v in r["cpu_us_per_event"].items()))
        normal = [a for a in self.agents if a != self.hot]
        print(f"fleet: hot agent {self.hot}: backlog max {r['backlog_max'][self.hot]}, drained at "
              f"{r['drained_at_s'][self.hot]} s; the others: backlog max "
              f"{max(r['backlog_max'][a] for a in normal) if normal else '-'}, last drained at "
              f"{max(r['drained_at_s'][a] for a in normal) if normal else '-'} s")
        print(f"fleet: figures in {self.work}/result.json, backlog samples in backlog.json")


def finish(fleet, args, ok):
    """Removes the work directory after a good run (unless kept) and exits 0, else 1."""
    if ok and not args.keep and not args.work_dir:
        shutil.rmtree(fleet.work, ignore_errors=True)
    elif not ok:
        log(f"FAILED; everything is in {fleet.work}")
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every part listens on 127.0.0.1 only. Needs a build (--build-dir) and the "
        "packages of scripts/install-deps.sh (mosquitto, openssl, postgresql-15).")
    p.add_argument("--build-dir", default="build", help="tree with bin/ (default: build)")
    p.add_argument("--work-dir", help="keep everything here (default: a new temporary dir, "
                   "removed on success unless --keep)")
    p.add_argument("--agents", type=int, default=20, help="agents (default 20, at least 2)")
    p.add_argument("--events", type=int, default=5000, help="events per agent (default 5000; "
                   "the hot agent publishes --hot-factor times as many)")
    p.add_argument("--rate", type=float, default=200, help="events/s per agent (default 200)")
    p.add_argument("--hot-factor", type=int, default=5, help="the hot agent's multiple (5)")
    p.add_argument("--ack-timeout", default="10s", help="uplink.mqtt.ack_timeout (10s)")
    p.add_argument("--kill-collector", action="store_true",
                   help="SIGKILL collector 1 after --kill-after seconds and restart it")
    p.add_argument("--kill-after", type=float, default=5, help="seconds (default 5)")
    p.add_argument("--timeout", type=float, default=600, help="give up after (default 600 s)")
    p.add_argument("--seed", type=int, default=20261205, help="simulator seeds start here")
    p.add_argument("--keep", action="store_true", help="keep the work dir on success")
    args = p.parse_args()
    if args.agents < 2 or args.events < 1 or args.rate <= 0 or args.hot_factor < 1:
        p.error("--agents >= 2, --events >= 1, --rate > 0 and --hot-factor >= 1")
    fleet = Fleet(args)
    ok = False
    try:
        result = fleet.run()
        ok = result["missing"] == 0 and result["duplicates"] == 0 and result["unknown"] == 0
    except (RuntimeError, subprocess.CalledProcessError) as e:
        log(f"failed: {e}; logs in {fleet.work}")
    finally:
        fleet.stop_all()
    finish(fleet, args, ok)


if __name__ == "__main__":
    main()
