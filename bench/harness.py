#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The engine of bench/run.sh (read `bench/run.sh --help` for what it measures and the knobs).

Starts real parts on loopback (mosquitto, tidegate-collector over TLS, tidegate run, the bench
publisher and null subscriber), runs the selected scenarios RUNS times each, alternating with
their baseline, and writes a JSON result, a PNG plot and a table. Every wait has a timeout with
a message naming what did not happen; every process it starts is stopped on exit (by its pid),
and the work directory is removed unless KEEP=1.
"""
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ALL_SCENARIOS = ["qos0", "qos1", "offline", "zipf", "uniform", "drain1m", "ready1m", "backlog5m",
                 "plugin"]
ALIASES = {"full": ["qos0", "qos1"], "all": ALL_SCENARIOS}
CLK_TCK = os.sysconf("SC_CLK_TCK")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def env_int(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value.replace("_", "")) if value else default
    except ValueError:
        raise BenchError(f"{name}={value!r} is not an integer")


def env_float(name, default):
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise BenchError(f"{name}={value!r} is not a number")


class Settings:
    def __init__(self):
        self.smoke = os.environ.get("SMOKE", "") == "1"
        self.full = os.environ.get("FULL", "") == "1"
        quick = {"COUNT": 50_000, "DRAIN_COUNT": 100_000, "BIG_COUNT": 500_000}
        big = {"COUNT": 500_000, "DRAIN_COUNT": 1_000_000, "BIG_COUNT": 5_000_000}
        tiny = {"COUNT": 2_000, "DRAIN_COUNT": 5_000, "BIG_COUNT": 10_000}
        base = tiny if self.smoke else big if self.full else quick
        self.count = env_int("COUNT", base["COUNT"])
        self.drain_count = env_int("DRAIN_COUNT", base["DRAIN_COUNT"])
        self.ready_count = env_int("READY_COUNT", self.drain_count)
        self.big_count = env_int("BIG_COUNT", base["BIG_COUNT"])
        self.runs = env_int("RUNS", 1 if self.smoke else 5)
        self.runs_long = env_int("RUNS_LONG", 1)
        self.devices = env_int("DEVICES", 1000)
        self.zipf_s = env_float("ZIPF_S", 1.1)
        self.seed = env_int("SEED", 42)
        # The publisher's unacknowledged messages. Unset: 1000 at QoS 0, 300 at QoS 1, where
        # libmosquitto walks its list of messages in flight at every PUBACK (both of the
        # publisher's threads in `perf`): with 1000 the publisher took 15-20 us of CPU per
        # message, with 300 7 to 12, and the broker delivered a third more.
        self.window = env_int("WINDOW", 0)
        self.timeout = env_int("TIMEOUT", 120)
        self.idle_wait = env_float("IDLE_WAIT", 0.3 if self.smoke else 1.0)
        self.keep = os.environ.get("KEEP", "") == "1"
        # The agent's dedup.window ("" = its default, 10m); 0 turns ingest dedup off.
        self.dedup_window = os.environ.get("DEDUP_WINDOW", "")
        self.batch_max_events = os.environ.get("BATCH_MAX_EVENTS", "")
        # A zstd dictionary for uplink.compression.dictionary and serve --dictionary ("": none).
        self.dictionary = os.path.abspath(os.environ["DICTIONARY"]) if os.environ.get(
            "DICTIONARY") else ""
        # serve --keep-raw DIR/<run>: the bodies as received, to train a dictionary on.
        self.keep_raw = os.path.abspath(os.environ["KEEP_RAW"]) if os.environ.get(
            "KEEP_RAW") else ""
        # The collector's data dirs under LANDING_DIR/<work>/<run>, not the work dir: a store on
        # another disk, as a collector on another machine has ("": the work dir's disk).
        self.landing_dir = os.path.abspath(os.environ["LANDING_DIR"]) if os.environ.get(
            "LANDING_DIR") else ""
        self.stages = os.environ.get("STAGES", "1") == "1"
        self.plot = os.environ.get("PLOT", "1") == "1"
        self.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.build = os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(self.root, "build")))
        self.bin = os.path.join(self.build, "bin")
        names = os.environ.get("SCENARIOS", " ".join(ALL_SCENARIOS)).split()
        self.scenarios = []
        for name in names:
            for s in ALIASES.get(name, [name]):
                if s not in ALL_SCENARIOS:
                    raise BenchError(f"unknown scenario {s!r}; known: {' '.join(ALL_SCENARIOS)}"
                                     " (and the aliases full, all)")
                if s not in self.scenarios:
                    self.scenarios.append(s)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.out = os.environ.get("OUT") or os.path.join(self.root, "bench", "results",
                                                         f"{stamp}.json")

    def as_json(self):
        keys = ["smoke", "full", "count", "drain_count", "ready_count", "big_count", "runs",
                "runs_long", "devices", "zipf_s", "seed", "window", "timeout", "idle_wait",
                "dedup_window", "batch_max_events", "landing_dir", "scenarios"]
        return {k: getattr(self, k) for k in keys}


# ---------------------------------------------------------------- processes and probes


class Procs:
    """Every process the harness starts, stopped by pid at the end (or when asked)."""

    def __init__(self):
        self.live = []

    def start(self, argv, out_path, err_path=None, **kw):
        out = open(out_path, "wb")
        err = open(err_path, "wb") if err_path else subprocess.STDOUT
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, **kw)
        proc.log_path = err_path or out_path
        self.live.append(proc)
        return proc

    def stop(self, proc, timeout=15):
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} ({os.path.basename(proc.args[0])}) ignored SIGTERM for "
                    f"{timeout}s: killing it")
                proc.kill()
                proc.wait()
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self):
        for proc in list(reversed(self.live)):
            self.stop(proc, timeout=5)


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(pred, timeout, what, watch=(), interval=0.05):
    """Polls pred every interval s; BenchError naming `what` at the timeout or if a watched
    process exits."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        for proc in watch:
            if proc.poll() is not None:
                raise BenchError(f"{os.path.basename(proc.args[0])} (pid {proc.pid}) exited "
                                 f"with {proc.returncode} while waiting for {what}; its log:\n"
                                 f"{tail(proc.log_path)}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def http_get(url, timeout=2.0):
    try:
        with NO_PROXY.open(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def landed_events(port, cafile):
    """Events the collector has landed (GET /v1/stats over TLS), or -1."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx)).open(
                f"https://localhost:{port}/v1/stats", timeout=2) as r:
            return json.loads(r.read())["events"]
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return -1


def scrape(port):
    """The agent's /metrics as {name: value}; labelled series are also summed under the
    bare name."""
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return {}
    out = {}
    for line in body.splitlines():
        if not line or line[0] == "#":
            continue
        key, _, value = line.rpartition(" ")
        try:
            v = float(value)
        except ValueError:
            continue
        out[key] = v
        bare = key.split("{", 1)[0]
        if bare != key:
            out[bare] = out.get(bare, 0.0) + v
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def disk_sectors_written(path):
    """Sectors (512 bytes) written so far to the block device holding path, by every process,
    from /proc/diskstats; None on a filesystem without one (a tmpfs)."""
    dev = os.stat(path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if int(fields[0]) == major and int(fields[1]) == minor:
                return int(fields[9])
    return None


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0])
    return out


class Sampler(threading.Thread):
    """Every 100 ms: the agent's RSS and CPU from /proc and its ingest and ack counters."""

    def __init__(self, pid, metrics_port, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.port, self.interval = pid, metrics_port, interval
        self.rows, self.stop_flag = [], threading.Event()
        self.latest = {}

    def run(self):
        while not self.stop_flag.is_set():
            t = time.time()
            try:
                rss = proc_status(self.pid).get("VmRSS", 0)
                ticks = cpu_ticks(self.pid)
            except OSError:
                break
            m = scrape(self.port)
            if m:
                self.latest = m
            self.rows.append((t, rss, ticks, m.get("tidegate_ingested_total", -1),
                              m.get("tidegate_events_acked_total", -1)))
            self.stop_flag.wait(self.interval)

    def stop(self):
        self.stop_flag.set()
        self.join(5)


def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "runs": vals}


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, round(p / 100 * (len(sorted_vals) - 1))))
    return sorted_vals[k]


# ---------------------------------------------------------------- the stack


class Stack:
    """Certificates, keys, and starting the broker, collector, agent and load tools."""

    def __init__(self, settings, procs, work):
        self.s, self.procs, self.work = settings, procs, work
        self.n = 0
        self.make_certs()

    def sh(self, argv):
        r = subprocess.run(argv, cwd=self.work, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise BenchError(f"{' '.join(argv)} failed: {r.stderr.decode(errors='replace')}")

    def make_certs(self):
        for argv in (
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"],
            ["openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=bench-ca",
             "-days", "2", "-out", "ca.pem"],
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
             "server.key"],
            ["openssl", "req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out",
             "server.csr"],
        ):
            self.sh(argv)
        with open(os.path.join(self.work, "san.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self.sh(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
                 "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out",
                 "server.pem"])
        os.chmod(os.path.join(self.work, "server.key"), 0o600)
        self.sh([os.path.join(self.s.bin, "tidegate"), "keys", "init", "--dir", "keys"])

    def rundir(self, label):
        self.n += 1
        d = os.path.join(self.work, f"{self.n:03d}-{label}")
        os.makedirs(d)
        return d

    def broker(self, d, extra_conf=""):
        port = free_port()
        conf = os.path.join(d, "mosquitto.conf")
        with open(conf, "w") as f:
            # configs/mosquitto-tidegate.conf's limits, plus a larger in-flight window so the
            # broker is not the QoS 1 bottleneck; no persistence: a fresh broker per run.
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "max_queued_messages 1000000\nmax_queued_bytes 0\n"
                    "max_inflight_messages 1000\nset_tcp_nodelay true\n")
            if os.getuid() == 0:
                f.write("user root\n")
            f.write(extra_conf)
        proc = self.procs.start(["mosquitto", "-c", conf], os.path.join(d, "mosquitto.log"))
        wait_until(lambda: port_open(port), 10, f"mosquitto on port {port}", [proc])
        return proc, port

    def landing(self, d):
        """The collector's data dir for the run in d."""
        if self.s.landing_dir:
            return os.path.join(self.s.landing_dir, os.path.basename(self.work), os.path.basename(d))
        return os.path.join(d, "landing")

    def collector(self, d, port):
        extra = ["--dictionary", self.s.dictionary] if self.s.dictionary else []
        if self.s.keep_raw:
            extra += ["--keep-raw", os.path.join(self.s.keep_raw, os.path.basename(d))]
        proc = self.procs.start(
            [os.path.join(self.s.bin, "tidegate-collector"), "serve", "--listen",
             f"127.0.0.1:{port}", "--data-dir", self.landing(d), "--tls-cert",
             os.path.join(self.work, "server.pem"), "--tls-key",
             os.path.join(self.work, "server.key")] + extra,
            os.path.join(d, "collector.out"), os.path.join(d, "collector.log"))
        wait_until(lambda: port_open(port), 15, f"tidegate-collector on port {port}", [proc])
        return proc

    def agent_config(self, d, state_dir, mqtt_port, collector_port, qos, metrics_port,
                     max_bytes="4GiB"):
        w = self.work
        dedup = f"dedup: {{window: {self.s.dedup_window}}}\n" if self.s.dedup_window else ""
        dictionary = (f"  compression: {{dictionary: {self.s.dictionary}}}\n"
                      if self.s.dictionary else "")
        batch = (f"  batch: {{max_events: {self.s.batch_max_events}}}\n"
                 if self.s.batch_max_events else "")
        text = f"""agent: {{id: bench, state_dir: {state_dir}, log_level: warn,
  metrics_listen: 127.0.0.1:{metrics_port}}}
source:
  mqtt:
    port: {mqtt_port}
    client_id: bench-agent-{self.n}
    topics: [{{filter: devices/+/telemetry, qos: {qos}}}]
privacy:
  key_file: {w}/keys/token.keys
  recipient_public_key: {w}/keys/recipient.pub
  rules:
    - match: devices/+/telemetry
      tokenize: [/user/email]
      encrypt: [/user/phone]
      mask: {{/ip: ipv4_prefix_24}}
aggregate:
  - name: telemetry_1m
    match: devices/+/telemetry
    group_by: [device_id]
    window: {{tumbling: 1m}}
    measures: {{/temp: [count, avg, p95], /humidity: [min, max, avg], /battery: [last]}}
    watermark: {{max_out_of_order: 5s, idle_timeout: 5m}}
buffer: {{max_bytes: {max_bytes}}}
{dedup}uplink:
  url: https://localhost:{collector_port}/v1/batches
  tls: {{ca_file: {w}/ca.pem}}
  retry: {{initial: 100ms, max: 500ms}}
{batch}{dictionary}"""
        path = os.path.join(d, "agent.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def agent(self, d, config, metrics_port, wait=True):
        proc = self.procs.start([os.path.join(self.s.bin, "tidegate"), "run", "-c", config],
                                os.path.join(d, "agent.out"), os.path.join(d, "agent.log"))
        if wait:
            wait_until(lambda: port_open(metrics_port), 30, "the agent's metrics port", [proc])
            wait_until(lambda: scrape(metrics_port).get("tidegate_mqtt_connected") == 1, 30,
                       "the agent to connect to the broker", [proc])
        return proc

    def null_sub(self, d, port, qos, count):
        out = os.path.join(d, "null-sub.out")
        proc = self.procs.start(
            [os.path.join(self.s.bin, "tidegate-bench-null-sub"), "--port", str(port), "--qos",
             str(qos), "--count", str(count), "--timeout", str(self.s.timeout)],
            out, os.path.join(d, "null-sub.log"))
        wait_until(lambda: open(out).read().startswith("ready"), 10,
                   "the null subscriber's subscription", [proc])
        return proc, out

    def publish(self, d, port, qos, count, dist="uniform", log_path=None, timeout=None):
        timeout = timeout or self.s.timeout
        argv = [os.path.join(self.s.bin, "tidegate-bench-publisher"), "--port", str(port),
                "--qos", str(qos), "--count", str(count), "--devices", str(self.s.devices),
                "--dist", dist, "--zipf-s", str(self.s.zipf_s), "--seed", str(self.s.seed),
                "--window", str(self.s.window or (300 if qos == 1 else 1000)),
                "--timeout", str(timeout),
                "--client-id", f"bench-pub-{self.n}"]
        if log_path:
            argv += ["--log", log_path]
        out = os.path.join(d, "publisher.out")
        proc = self.procs.start(argv, out, os.path.join(d, "publisher.log"))
        try:
            proc.wait(timeout + 60)
        except subprocess.TimeoutExpired:
            raise BenchError(f"the publisher did not finish within {timeout + 60}s")
        self.procs.stop(proc)
        lines = open(out).read().splitlines()
        if proc.returncode != 0 or not lines:
            raise BenchError(f"the publisher failed (exit {proc.returncode}):\n"
                             f"{tail(proc.log_path)}")
        return json.loads(lines[-1])


def landing_analysis(db_path, pub_log, expected):
    """Joins the landed events with the publish log by msg_id: exactly-once check and the
    publish->ingest and publish->landing latencies (ms)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT json_extract(payload, '$.msg_id')) FROM events"
        ).fetchone()
        first_ingest, last_ingest = conn.execute(
            "SELECT min(ingest_time), max(ingest_time) FROM events").fetchone()
        first_landed, last_landed = conn.execute(
            "SELECT min(received_at), max(received_at) FROM batches").fetchone()
        result = {"landed": total, "landed_unique": distinct, "last_ingest_ms": last_ingest,
                  "first_landed_ms": first_landed, "last_landed_ms": last_landed}
        if pub_log:
            conn.execute("CREATE TEMP TABLE pub (id TEXT PRIMARY KEY, t INTEGER)")
            with open(pub_log) as f:
                conn.executemany("INSERT INTO pub VALUES (?, ?)",
                                 (line.split() for line in f))
            rows = conn.execute(
                "SELECT e.ingest_time - p.t, b.received_at - p.t FROM events e"
                " JOIN pub p ON p.id = json_extract(e.payload, '$.msg_id')"
                " JOIN batches b ON b.batch_id = e.batch_id").fetchall()
            ing = sorted(r[0] for r in rows)
            land = sorted(r[1] for r in rows)
            result.update({"matched": len(rows), "ingest_p50_ms": percentile(ing, 50),
                           "ingest_p99_ms": percentile(ing, 99),
                           "landing_p50_ms": percentile(land, 50),
                           "landing_p99_ms": percentile(land, 99)})
        return result
    finally:
        conn.close()


# ---------------------------------------------------------------- runs


class Bench:
    def __init__(self, settings, procs, work):
        self.s, self.procs, self.work = settings, procs, work
        self.stack = Stack(settings, procs, work)
        self.failures = []
        self.plot_rows = None
        self.templates = {}  # backlog size -> (state dir, build figures)

    def wait_budget(self, count):
        return max(self.s.timeout, count // 2000)

    def check_complete(self, label, analysis, count):
        if analysis["landed"] != count or analysis["landed_unique"] != count:
            msg = (f"{label}: published {count}, landed {analysis['landed']} "
                   f"({analysis['landed_unique']} distinct msg_ids)")
            log("MISMATCH " + msg)
            self.failures.append(msg)
            return False
        return True

    def wait_landed(self, cport, count, what, watch):
        """The agent's acked counter also counts window results: confirm with the collector's
        own count (a TLS request, so polled only every 100 ms and only at the end)."""
        ca = os.path.join(self.work, "ca.pem")
        wait_until(lambda: landed_events(cport, ca) >= count, self.wait_budget(count), what,
                   watch, interval=0.1)

    def baseline_run(self, qos, dist="uniform"):
        d = self.stack.rundir(f"baseline-q{qos}")
        broker, port = self.stack.broker(d)
        sub, out = self.stack.null_sub(d, port, qos, self.s.count)
        b0 = cpu_ticks(broker.pid)
        pub = self.stack.publish(d, port, qos, self.s.count, dist)
        try:
            sub.wait(self.s.timeout + 10)
        except subprocess.TimeoutExpired:
            raise BenchError("the null subscriber did not exit after its timeout")
        b1 = cpu_ticks(broker.pid)
        res = json.loads(open(out).read().splitlines()[-1])
        self.procs.stop(sub)
        self.procs.stop(broker)
        if res["received"] != self.s.count:
            self.failures.append(f"baseline QoS {qos}: published {self.s.count}, "
                                 f"the null subscriber got {res['received']}")
        secs = max(1e-3, res["last_ms"] / 1e3 - pub["first_publish_ms"] / 1e3)
        return {"events_per_s": res["received"] / secs, "cpu_us_per_event": res["cpu_us_per_msg"],
                "broker_cpu_us_per_event": (b1 - b0) / CLK_TCK * 1e6 / self.s.count,
                "publisher_cpu_us_per_event": pub.get("cpu_us_per_msg"),
                "publisher_rate": pub["rate"]}

    def agent_run(self, label, qos, dist="uniform", uplink=True, plot=False):
        d = self.stack.rundir(label)
        count = self.s.count
        broker, mport = self.stack.broker(d)
        cport, metrics = free_port(), free_port()
        coll = self.stack.collector(d, cport) if uplink else None
        cfg = self.stack.agent_config(d, os.path.join(d, "state"), mport, cport, qos, metrics)
        agent = self.stack.agent(d, cfg, metrics)
        watch = [agent] + ([coll] if coll else [])
        sampler = Sampler(agent.pid, metrics)
        sampler.start()
        cpu0 = cpu_ticks(agent.pid)
        broker0 = cpu_ticks(broker.pid)
        pub_log = os.path.join(d, "published.txt") if uplink else None
        pub = self.stack.publish(d, mport, qos, count, dist, pub_log)
        counter = "tidegate_events_acked_total" if uplink else "tidegate_ingested_total"
        what = f"{count} events to be {'landed' if uplink else 'ingested'} ({label})"
        wait_until(lambda: scrape(metrics).get(counter, 0) >= count, self.wait_budget(count),
                   what, watch)
        if uplink:
            self.wait_landed(cport, count, what, watch)
        t_done = time.time()
        cpu1 = cpu_ticks(agent.pid)
        broker1 = cpu_ticks(broker.pid)  # it delivered everything; idle since
        m = scrape(metrics)
        peak = proc_status(agent.pid)
        time.sleep(self.s.idle_wait)
        idle = proc_status(agent.pid)
        sampler.stop()
        for p in (agent, coll, broker):
            self.procs.stop(p)
        first = pub["first_publish_ms"] / 1e3
        r = {"agent_cpu_us_per_event": (cpu1 - cpu0) / CLK_TCK * 1e6 / count,
             "peak_rss_mb": peak["VmHWM"] / 1024, "idle_rss_mb": idle["VmRSS"] / 1024,
             # What idle RSS is made of: the heap, stacks and caches, against the pages of the
             # binary and its shared libraries (file-backed, shared with other processes).
             "idle_rss_anon_mb": idle["RssAnon"] / 1024, "idle_rss_file_mb": idle["RssFile"] / 1024,
             "threads": peak["Threads"], "publisher_rate": pub["rate"],
             # The rest of the machine's CPU per event, to set against the baseline's: on 2
             # cores the broker and the publisher share them with the agent.
             "broker_cpu_us_per_event": (broker1 - broker0) / CLK_TCK * 1e6 / count,
             "publisher_cpu_us_per_event": pub.get("cpu_us_per_msg"),
             "aggregate_open_groups": m.get("tidegate_aggregate_open_groups"),
             "aggregate_state_bytes": m.get("tidegate_aggregate_state_bytes")}
        if uplink:
            a = landing_analysis(os.path.join(self.stack.landing(d), "landing.db"), pub_log, count)
            r["complete"] = self.check_complete(label, a, count)
            r["events_per_s"] = count / max(1e-3, a["last_ingest_ms"] / 1e3 - first)
            r["landed_per_s"] = count / max(1e-3, a["last_landed_ms"] / 1e3 - first)
            r["wire_bytes_per_event"] = m.get("tidegate_uplink_bytes_total", 0) / count
            for k in ("ingest_p50_ms", "ingest_p99_ms", "landing_p50_ms", "landing_p99_ms"):
                r[k] = a.get(k)
        else:
            r["events_per_s"] = count / max(1e-3, t_done - first)
            r["complete"] = m.get("tidegate_ingested_total", 0) == count
        if plot:
            self.plot_rows = (label, first, sampler.rows)
        return r

    def alternate(self, runs, named):
        """Runs each (name, fn) in turn, RUNS rounds: noise hits every side alike."""
        out = {name: [] for name, _ in named}
        for i in range(runs):
            for name, fn in named:
                log(f"  run {i + 1}/{runs}: {name}")
                out[name].append(fn())
        return out

    def build_backlog(self, count, label, rss_points=10):
        """Publishes count events with the uplink unreachable; the agent's state dir then
        holds them. Returns the stopped agent's state dir and the build's figures."""
        d = self.stack.rundir(label)
        broker, mport = self.stack.broker(d)
        metrics = free_port()
        state = os.path.join(d, "state")
        cfg = self.stack.agent_config(d, state, mport, free_port(), 1, metrics, "32GiB")
        agent = self.stack.agent(d, cfg, metrics)
        sampler = Sampler(agent.pid, metrics, interval=0.2)
        sampler.start()
        pub = self.stack.publish(d, mport, 1, count, timeout=self.wait_budget(count))
        wait_until(lambda: scrape(metrics).get("tidegate_ingested_total", 0) >= count,
                   self.wait_budget(count), f"{count} events to be buffered ({label})", [agent])
        m = scrape(metrics)
        peak = proc_status(agent.pid)
        sampler.stop()
        self.procs.stop(agent)
        self.procs.stop(broker)
        # RSS against events buffered, at each tenth of the way.
        curve, next_mark = [], 0
        for t, rss, _, ingested, _ in sampler.rows:
            if ingested >= next_mark * count / rss_points:
                curve.append({"buffered": int(ingested), "rss_mb": round(rss / 1024, 1)})
                next_mark += 1
        disk = sum(os.path.getsize(os.path.join(state, f)) for f in os.listdir(state))
        fig = {"events": count, "buffered": m.get("tidegate_buffer_events"),
               "ingest_per_s": count / max(1e-3, time.time() - pub["first_publish_ms"] / 1e3),
               "peak_rss_mb": peak["VmHWM"] / 1024, "rss_curve": curve,
               "rss_anon_mb_at_end": peak.get("RssAnon", 0) / 1024,
               "rss_file_mb_at_end": peak.get("RssFile", 0) / 1024,
               "disk_bytes_per_event": disk / count}
        log(f"  backlog of {count}: peak RSS {fig['peak_rss_mb']:.1f} MB, "
            f"{fig['disk_bytes_per_event']:.0f} bytes/event on disk")
        return state, fig

    def template(self, count):
        if count not in self.templates:
            log(f"building a backlog of {count} events (uplink unreachable)")
            self.templates[count] = self.build_backlog(count, f"backlog-{count}")
        return self.templates[count]

    def drain_run(self, template, count, copy=True):
        d = self.stack.rundir("drain")
        state = os.path.join(d, "state")
        if copy:
            shutil.copytree(template, state)
        else:
            os.rename(template, state)
        # The backlog on disk before the drain starts, as a gateway's is after an outage:
        # otherwise the kernel writes the copy (or the build's last pages) back during the
        # drain, competing with it for the disk (about 430 MB for 1,000,000 events).
        os.sync()
        cport, metrics = free_port(), free_port()
        # No broker in the loop: the source points at a closed port.
        cfg = self.stack.agent_config(d, state, free_port(), cport, 1, metrics, "32GiB")
        agent = self.stack.agent(d, cfg, metrics, wait=False)
        wait_until(lambda: port_open(metrics), 60, "the agent's metrics port (drain)", [agent])
        cpu0 = cpu_ticks(agent.pid)
        sectors0 = disk_sectors_written(d)
        t0 = time.time()
        coll = self.stack.collector(d, cport)
        what = f"{count} buffered events to land"
        wait_until(lambda: scrape(metrics).get("tidegate_events_acked_total", 0) >= count,
                   self.wait_budget(count), what, [agent, coll])
        self.wait_landed(cport, count, what, [agent, coll])
        cpu1 = cpu_ticks(agent.pid)
        t1 = time.time()
        sectors1 = disk_sectors_written(d)
        coll_cpu = cpu_ticks(coll.pid)  # since its start: decode, landing, TLS
        m = scrape(metrics)
        peak = proc_status(agent.pid)
        time.sleep(self.s.idle_wait)
        idle = proc_status(agent.pid)
        for p in (agent, coll):
            self.procs.stop(p)
        a = landing_analysis(os.path.join(self.stack.landing(d), "landing.db"), None, count)
        complete = self.check_complete("drain", a, count)
        shutil.rmtree(state, ignore_errors=True)
        # From the first batch's arrival: without the collector's start and the agent's
        # reconnect backoff, which dominate a short drain.
        landing_s = (a["last_landed_ms"] - a["first_landed_ms"]) / 1e3
        return {"events_per_s": count / max(1e-3, a["last_landed_ms"] / 1e3 - t0),
                "landing_events_per_s": count / max(1e-3, landing_s),
                "agent_cpu_us_per_event": (cpu1 - cpu0) / CLK_TCK * 1e6 / count,
                "collector_cpu_us_per_event": coll_cpu / CLK_TCK * 1e6 / count,
                "peak_rss_mb": peak["VmHWM"] / 1024, "idle_rss_mb": idle["VmRSS"] / 1024,
                "threads": peak["Threads"],
                "wire_bytes_per_event": m.get("tidegate_uplink_bytes_total", 0) / count,
                # What the disk under the work dir took meanwhile, from every process (the
                # collector's store too, unless LANDING_DIR is elsewhere): the drain's bound.
                "disk_write_mb_per_s": None if sectors0 is None else
                (sectors1 - sectors0) * 512 / 1e6 / max(1e-3, t1 - t0),
                "disk_write_bytes_per_event": None if sectors0 is None else
                (sectors1 - sectors0) * 512 / count,
                "complete": complete}

    def ready_run(self, template):
        d = self.stack.rundir("ready")
        state = os.path.join(d, "state")
        if template:
            shutil.copytree(template, state)
            os.sync()  # on disk before the agent starts, as in drain_run
        broker, mport = self.stack.broker(d)
        metrics = free_port()
        cfg = self.stack.agent_config(d, state, mport, free_port(), 1, metrics, "32GiB")
        t0 = time.monotonic()
        agent = self.stack.agent(d, cfg, metrics, wait=False)
        # Polled every 5 ms: the default 50 ms would quantize a figure whose target is 200 ms.
        wait_until(lambda: http_get(f"http://127.0.0.1:{metrics}/readyz", 1)[0] == 200, 120,
                   "GET /readyz to answer 200", [agent], interval=0.005)
        ready_s = time.monotonic() - t0
        peak = proc_status(agent.pid)
        self.procs.stop(agent)
        self.procs.stop(broker)
        shutil.rmtree(state, ignore_errors=True)
        return {"ready_s": ready_s, "peak_rss_mb": peak["VmHWM"] / 1024}

    # ------------------------------------------------------------ scenarios

    def scenario_qos(self, qos):
        plot = self.plot_rows is None and (qos == 1 or "qos1" not in self.s.scenarios)
        first = [plot]

        def agent():
            p, first[0] = first[0], False
            return self.agent_run(f"agent-q{qos}", qos, plot=p)

        runs = self.alternate(self.s.runs, [("baseline", lambda: self.baseline_run(qos)),
                                            ("agent", agent)])
        return figures(runs["agent"], runs["baseline"],
                       f"full pipeline at QoS {qos} (privacy on 3 fields, 60 s aggregation per "
                       f"device, HTTPS uplink) vs the broker delivering to a null QoS {qos} "
                       "subscriber")

    def scenario_offline(self):
        runs = self.alternate(self.s.runs, [
            ("baseline", lambda: self.baseline_run(1)),
            ("agent", lambda: self.agent_run("agent-offline", 1, uplink=False))])
        return figures(runs["agent"], runs["baseline"],
                       "ingest only at QoS 1 (uplink unreachable: privacy, aggregation, buffer) "
                       "vs the null QoS 1 subscriber")

    def scenario_devices(self, names):
        named = [(n, (lambda n=n: self.agent_run(f"agent-{n}", 1, dist=n))) for n in names]
        runs = self.alternate(self.s.runs, named)
        out = {}
        for n in names:
            other = "uniform" if n == "zipf" else "zipf"
            base = runs.get(other) if n == "zipf" else None
            out[n] = figures(runs[n], base,
                             f"full pipeline at QoS 1, {self.s.devices} devices "
                             + (f"Zipf s={self.s.zipf_s}" if n == "zipf" else "uniform")
                             + (" vs uniform devices in the same rounds" if base else ""))
        return out

    def hop_run(self):
        """The broker delivering to the null QoS 1 subscriber: the hop a broker plugin removes."""
        r = self.baseline_run(1)
        return {"events_per_s": r["events_per_s"],
                "broker_cpu_us_per_event": r["broker_cpu_us_per_event"],
                "subscriber_cpu_us_per_event": r["cpu_us_per_event"],
                "cpu_us_per_event": r["broker_cpu_us_per_event"] + r["cpu_us_per_event"]}

    def probe_run(self, commit):
        """The broker with bench/broker_plugin_probe.cc and no subscriber: every message seen
        in the broker's thread before its PUBACK, and with commit also committed to SQLite."""
        probe = os.path.join(self.s.bin, "tidegate-bench-broker-probe.so")
        if not os.path.exists(probe):
            raise BenchError(f"{probe} is missing: install mosquitto-dev and rebuild")
        d = self.stack.rundir("probe-commit" if commit else "probe")
        count_file = os.path.join(d, "probe-count")
        conf = f"plugin {probe}\nplugin_opt_count_file {count_file}\n"
        if commit:
            conf += f"plugin_opt_commit_db {os.path.join(d, 'probe.db')}\n"
        broker, port = self.stack.broker(d, conf)
        b0 = cpu_ticks(broker.pid)
        pub = self.stack.publish(d, port, 1, self.s.count)  # returns once all are acknowledged
        b1 = cpu_ticks(broker.pid)
        self.procs.stop(broker)  # the probe writes its count as the broker stops
        seen = open(count_file).read().split() if os.path.exists(count_file) else []
        received = int(seen[1]) if len(seen) >= 4 else -1
        failed = int(seen[3]) if len(seen) >= 4 else -1
        if received != self.s.count or failed != 0:
            self.failures.append(f"plugin probe{' (commit)' if commit else ''}: published "
                                 f"{self.s.count}, the probe saw {received}, failed commits "
                                 f"{failed}")
        secs = max(1e-3, pub["last_ack_ms"] / 1e3 - pub["first_publish_ms"] / 1e3)
        broker_us = (b1 - b0) / CLK_TCK * 1e6 / self.s.count
        return {"events_per_s": self.s.count / secs, "broker_cpu_us_per_event": broker_us,
                "cpu_us_per_event": broker_us}

    def scenario_plugin(self):
        runs = self.alternate(self.s.runs, [("hop", self.hop_run),
                                            ("probe", lambda: self.probe_run(False)),
                                            ("commit", lambda: self.probe_run(True))])
        return {
            "plugin": figures(runs["probe"], runs["hop"],
                              "QoS 1: the broker with a plugin that sees each message in its own "
                              "thread (no subscriber) vs the broker delivering to the null "
                              "subscriber; CPU us/event is the broker's vs broker + subscriber"),
            "plugin_commit": figures(runs["commit"], runs["hop"],
                                     "QoS 1: the same plugin also committing each message to "
                                     "SQLite before the PUBACK (one transaction each, WAL, "
                                     "synchronous=NORMAL) vs the broker delivering to the null "
                                     "subscriber"),
        }

    def scenario_drain(self):
        state, build = self.template(self.s.drain_count)
        runs = [self.drain_run(state, self.s.drain_count) for _ in range(self.s.runs)]
        f = figures(runs, None, f"drain of {self.s.drain_count} buffered events after an outage "
                    "(collector started, no broker), from collector start to last landing")
        f["backlog_build"] = build
        return f

    def scenario_ready(self):
        state, _ = self.template(self.s.ready_count)
        runs = self.alternate(self.s.runs, [("baseline", lambda: self.ready_run(None)),
                                            ("agent", lambda: self.ready_run(state))])
        return figures(runs["agent"], runs["baseline"],
                       f"process start to GET /readyz 200 with {self.s.ready_count} events "
                       "buffered vs an empty buffer")

    def scenario_big(self):
        small_state, small = self.template(self.s.drain_count)
        log(f"building a backlog of {self.s.big_count} events (uplink unreachable)")
        state, build = self.build_backlog(self.s.big_count, "backlog-big")
        runs = [self.drain_run(state, self.s.big_count, copy=False)]
        for _ in range(self.s.runs_long - 1):
            state, _ = self.build_backlog(self.s.big_count, "backlog-big")
            runs.append(self.drain_run(state, self.s.big_count, copy=False))
        f = figures(runs, None, f"memory with {self.s.big_count} buffered events (build with the "
                    f"uplink unreachable, then drain) next to {self.s.drain_count}")
        f["backlog_build"] = build
        f["small_backlog_build"] = small
        f["peak_rss_ratio_vs_small"] = build["peak_rss_mb"] / small["peak_rss_mb"]
        return f

    def run(self):
        results = {}
        order = [s for s in ALL_SCENARIOS if s in self.s.scenarios]
        for name in order:
            if name in results:
                continue
            log(f"scenario {name}")
            if name in ("qos0", "qos1"):
                results[name] = self.scenario_qos(int(name[-1]))
            elif name == "offline":
                results[name] = self.scenario_offline()
            elif name in ("zipf", "uniform"):
                both = [n for n in ("uniform", "zipf") if n in self.s.scenarios]
                results.update(self.scenario_devices(both))
            elif name == "drain1m":
                results[name] = self.scenario_drain()
            elif name == "ready1m":
                results[name] = self.scenario_ready()
            elif name == "backlog5m":
                results[name] = self.scenario_big()
            elif name == "plugin":
                results.update(self.scenario_plugin())
        return results


def figures(runs, baseline_runs, description):
    out = {"description": description, "runs": runs, "figures": {}}
    keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))
            and not isinstance(runs[0][k], bool)]
    for k in keys:
        out["figures"][k] = summary([r.get(k) for r in runs])
    out["complete"] = all(r.get("complete", True) for r in runs)
    if baseline_runs:
        out["baseline_runs"] = baseline_runs
        out["baseline"] = {k: summary([r.get(k) for r in baseline_runs])
                           for k in baseline_runs[0] if isinstance(baseline_runs[0][k], (int, float))}
        ratio = {}
        for k in ("events_per_s", "ready_s", "agent_cpu_us_per_event", "peak_rss_mb",
                  "cpu_us_per_event"):
            a = out["figures"].get(k)
            b = out["baseline"].get(k) or (out["baseline"].get("cpu_us_per_event")
                                           if k == "agent_cpu_us_per_event" else None)
            if a and b and b["median"]:
                ratio[k] = a["median"] / b["median"]
        out["ratio_to_baseline"] = ratio
    return out


# ---------------------------------------------------------------- stages, output


def stages(settings, work, scenarios=None):
    """The per-stage table from the Google Benchmark micro-benchmarks, in ns/event. With a
    drain1m result, send is derived from it: what the agent spent per drained event beyond
    the micro-benchmarked read, encode, compress and ack (TLS, HTTP, the in-flight record)."""
    b = settings.bin
    reps = 1 if settings.smoke else 3
    min_time = "0.01" if settings.smoke else "0.3"
    plan = [("privacy_bench", "BM_Parse$|BM_ParseAndPrivacy/encrypt_phone:1"),
            ("aggregate_bench", "BM_AggregateProcess"), ("stages_bench", ".")]
    ns = {}
    for binary, flt in plan:
        path = os.path.join(b, binary)
        if not os.access(path, os.X_OK):
            return {"skipped": f"{path} missing (Google Benchmark: apt-get install "
                               "libbenchmark-dev, then rebuild)"}
        out = os.path.join(work, binary + ".json")
        r = subprocess.run([path, f"--benchmark_filter={flt}", f"--benchmark_min_time={min_time}",
                            f"--benchmark_repetitions={reps}", "--benchmark_format=json",
                            f"--benchmark_out={out}"], capture_output=True, timeout=300)
        if r.returncode != 0:
            raise BenchError(f"{binary} failed: {r.stderr.decode(errors='replace')[-500:]}")
        for bm in json.load(open(out))["benchmarks"]:
            if reps > 1 and bm.get("aggregate_name") != "median":
                continue
            name = bm.get("run_name", bm["name"])
            if bm.get("items_per_second"):
                ns[name] = 1e9 / bm["items_per_second"]
    get = lambda k: next((v for n, v in ns.items() if n.startswith(k)), None)
    parse, privacy = get("BM_Parse"), get("BM_ParseAndPrivacy/encrypt_phone:1")
    encode, compress = get("BM_BatchEncode"), get("BM_Compress")
    rows = [("parse + validate", parse, "BM_Parse"),
            ("privacy (tokenize, encrypt, mask)", privacy - parse if privacy and parse else None,
             "BM_ParseAndPrivacy/encrypt_phone:1 - BM_Parse"),
            ("dedup", get("BM_Dedup"), "BM_Dedup"),
            ("buffer commit (1,000 per txn)", get("BM_BufferCommit"), "BM_BufferCommit"),
            ("aggregation (3 measures)", get("BM_AggregateProcess"), "BM_AggregateProcess"),
            ("batch encode (FlatBuffers)", encode - compress if encode and compress else None,
             "BM_BatchEncode - BM_Compress"),
            ("compress (zstd 1)", compress, "BM_Compress"),
            ("buffer read (1,000 per batch)", get("BM_BufferRead"), "BM_BufferRead"),
            ("buffer ack (1,000 deleted per txn)", get("BM_BufferAck"), "BM_BufferAck"),
            send_row(scenarios, [get("BM_BufferRead"), encode, get("BM_BufferAck")]),
            ("collector: decode (zstd + FlatBuffers)", get("BM_BatchDecode"), "BM_BatchDecode")]
    return {"ns_per_event": [{"stage": s, "ns": v, "source": src} for s, v, src in rows],
            "repetitions": reps, "raw": ns}


def send_row(scenarios, uplink_stages):
    drain = ((scenarios or {}).get("drain1m") or {}).get("figures", {})
    cpu = (drain.get("agent_cpu_us_per_event") or {}).get("median")
    if cpu is None or any(v is None for v in uplink_stages):
        return ("send", None, "skipped: needs the drain1m scenario in the same run")
    send = cpu * 1e3 - sum(uplink_stages)
    if send <= 0:  # a tiny drain (--smoke) is all start-up: nothing to derive from it
        return ("send", None, "skipped: drain1m's CPU per event is below its parts")
    return ("send (TLS, HTTP, in-flight record)", send,
            "drain1m agent CPU - buffer read - BM_BatchEncode - buffer ack")


def cmd_first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=10)
        text = (r.stdout or r.stderr).decode(errors="replace").strip()
        return text.splitlines()[0] if text else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def environment(settings):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    cache = {}
    try:
        for line in open(os.path.join(settings.build, "CMakeCache.txt")):
            k, _, v = line.strip().partition("=")
            cache[k.split(":")[0]] = v
    except OSError:
        pass
    compiler = cache.get("CMAKE_CXX_COMPILER")
    mosq = subprocess.run(["mosquitto", "-h"], capture_output=True).stdout.decode()
    return {
        "machine": {"nproc": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
                    "loadavg_at_start": os.getloadavg()},
        "versions": {
            "git_describe": cmd_first_line(["git", "-C", settings.root, "describe", "--always",
                                            "--dirty", "--tags"]),
            "mosquitto": next((l for l in mosq.splitlines() if "version" in l), None),
            "compiler": cmd_first_line([compiler, "--version"]) if compiler else None,
            "build_type": cache.get("CMAKE_BUILD_TYPE"),
            "gnuplot": cmd_first_line(["gnuplot", "--version"])}}


def make_plot(rows, png, work):
    label, first, samples = rows
    if not shutil.which("gnuplot"):
        return None, "gnuplot not installed (apt-get install gnuplot-nox)"
    data = os.path.join(work, "plot.dat")
    with open(data, "w") as f:
        for (t0, _, _, i0, a0), (t1, rss, _, i1, a1) in zip(samples, samples[1:]):
            dt = max(1e-3, t1 - t0)
            f.write(f"{t1 - first:.2f} {max(0, i1 - i0) / dt:.0f} {max(0, a1 - a0) / dt:.0f} "
                    f"{rss / 1024:.1f}\n")
    script = f"""set terminal png size 1100,500
set output '{png}'
set title 'tidegate bench: {label} (sampled every 100 ms)'
set xlabel 'seconds since first publish'
set ylabel 'events/s'
set y2label 'agent RSS (MB)'
set ytics nomirror
set y2tics
set key top right
plot '{data}' using 1:2 with lines title 'ingested/s', \\
     '{data}' using 1:3 with lines title 'landed/s', \\
     '{data}' using 1:4 axes x1y2 with lines lw 2 title 'agent RSS (MB)'
"""
    r = subprocess.run(["gnuplot"], input=script.encode(), capture_output=True, timeout=60)
    if r.returncode != 0:
        return None, "gnuplot failed: " + r.stderr.decode(errors="replace")[-300:]
    return png, None


def fmt(v, unit=""):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    return f"{v:.3g}{unit}" if abs(v) < 10 else f"{v:.1f}{unit}"


TABLE_ROWS = [("events_per_s", "events/s ingested (drain: landed)"),
              ("landed_per_s", "events/s landed"),
              ("landing_events_per_s", "events/s, first to last landing"),
              ("agent_cpu_us_per_event", "agent CPU us/event"),
              ("cpu_us_per_event", "CPU us/event"),
              ("broker_cpu_us_per_event", "broker CPU us/event"),
              ("publisher_cpu_us_per_event", "publisher CPU us/event"),
              ("subscriber_cpu_us_per_event", "subscriber CPU us/event"),
              ("collector_cpu_us_per_event", "collector CPU us/event"),
              ("peak_rss_mb", "peak RSS MB (VmHWM)"), ("idle_rss_mb", "idle RSS MB"),
              ("idle_rss_anon_mb", "  of which anonymous MB"),
              ("idle_rss_file_mb", "  of which binary and libraries MB"),
              ("threads", "threads"), ("wire_bytes_per_event", "wire bytes/event"),
              ("disk_write_mb_per_s", "disk writes MB/s (all processes)"),
              ("disk_write_bytes_per_event", "disk writes bytes/event"),
              ("ingest_p50_ms", "publish->ingest p50 ms"), ("ingest_p99_ms", "publish->ingest p99 ms"),
              ("landing_p50_ms", "publish->landing p50 ms"),
              ("landing_p99_ms", "publish->landing p99 ms"), ("ready_s", "READY s"),
              ("aggregate_open_groups", "aggregate open groups")]


def print_table(result):
    lines = []
    for name, sc in result["scenarios"].items():
        lines.append(f"\n== {name}: {sc['description']}")
        lines.append(f"   {'figure':32} {'median':>12} {'min-max':>23} {'baseline':>12} {'ratio':>6}")
        base = sc.get("baseline", {})
        for key, title in TABLE_ROWS:
            f = sc["figures"].get(key)
            if not f:
                continue
            b = base.get(key) or (base.get("cpu_us_per_event")
                                  if key == "agent_cpu_us_per_event" else None)
            ratio = sc.get("ratio_to_baseline", {}).get(key)
            lines.append(f"   {title:32} {fmt(f['median']):>12} "
                         f"{fmt(f['min']) + ' - ' + fmt(f['max']):>23} "
                         f"{fmt(b['median']) if b else '':>12} "
                         f"{(f'{ratio:.2f}x') if ratio else '':>6}")
        for key in ("backlog_build", "small_backlog_build"):
            if key in sc:
                bb = sc[key]
                curve = ", ".join(f"{p['buffered']}:{p['rss_mb']}" for p in bb["rss_curve"])
                lines.append(f"   {key}: {bb['events']} events, build peak RSS "
                             f"{bb['peak_rss_mb']:.1f} MB (at the end: anon "
                             f"{bb['rss_anon_mb_at_end']:.1f}, file {bb['rss_file_mb_at_end']:.1f}), "
                             f"{bb['disk_bytes_per_event']:.0f} "
                             f"disk bytes/event; RSS MB by events buffered: {curve}")
        if "peak_rss_ratio_vs_small" in sc:
            lines.append(f"   build peak RSS ratio big/small: {sc['peak_rss_ratio_vs_small']:.2f}")
        if not sc.get("complete", True):
            lines.append("   INCOMPLETE: not every published event landed (see failures)")
    st = result.get("stages")
    if st and "ns_per_event" in st:
        lines.append(f"\n== per-stage cost (Google Benchmark, median of {st['repetitions']}), "
                     "ns/event")
        for row in st["ns_per_event"]:
            lines.append(f"   {row['stage']:36} {fmt(row['ns']):>10}   {row['source']}")
    elif st:
        lines.append(f"\n== per-stage cost: {st['skipped']}")
    print("\n".join(lines))


def main():
    try:
        settings = Settings()
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    procs = Procs()
    work = tempfile.mkdtemp(prefix="tidegate-bench-")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    result = {"tool": "bench/run.sh", "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "config": settings.as_json(), "seed": settings.seed}
    result.update(environment(settings))
    code = 0
    try:
        log(f"work dir {work}; scenarios: {' '.join(settings.scenarios)}; seed {settings.seed}")
        bench = Bench(settings, procs, work)
        result["scenarios"] = bench.run()
        result["agent_config_example"] = bench.stack.agent_config(
            work, "STATE_DIR", "MQTT_PORT", "COLLECTOR_PORT", 1, "METRICS_PORT")
        result["agent_config_example"] = open(result["agent_config_example"]).read()
        if settings.stages:
            log("per-stage micro-benchmarks")
            result["stages"] = stages(settings, work, result["scenarios"])
        result["failures"] = bench.failures
        os.makedirs(os.path.dirname(os.path.abspath(settings.out)), exist_ok=True)
        result["plot"] = None
        if settings.plot and bench.plot_rows:
            png = os.path.splitext(settings.out)[0] + ".png"
            result["plot"], why = make_plot(bench.plot_rows, png, work)
            if why:
                log("no plot: " + why)
        result["machine"]["loadavg_at_end"] = os.getloadavg()
        result["duration_s"] = round(time.time() - started, 1)
        result["ok"] = not bench.failures
        with open(settings.out, "w") as f:
            json.dump(result, f, indent=1)
        print_table(result)
        print(f"\nresult: {settings.out}" + (f"\nplot:   {result['plot']}" if result["plot"] else "")
              + f"\ntook {result['duration_s']} s; load average at start "
              f"{result['machine']['loadavg_at_start'][0]:.1f}, at end "
              f"{result['machine']['loadavg_at_end'][0]:.1f} on {os.cpu_count()} cores")
        if bench.failures:
            print("FAILED: " + "; ".join(bench.failures), file=sys.stderr)
            code = 1
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt as e:
        print(f"bench: interrupted ({e or 'SIGINT'}); cleaning up", file=sys.stderr)
        code = 130
    finally:
        procs.stop_all()
        if settings.keep:
            print(f"bench: kept the work dir {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
            if settings.landing_dir:
                shutil.rmtree(os.path.join(settings.landing_dir, os.path.basename(work)),
                              ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
