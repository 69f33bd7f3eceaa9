#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks a bench/run.sh JSON result: well-formed, every scenario present and complete, no
failures, and the figures the report needs are numbers. No timing thresholds.
Usage: bench/check_result.py RESULT.json [SCENARIO...]"""
import json
import sys

REQUIRED = {
    "qos0": ["events_per_s", "landed_per_s", "agent_cpu_us_per_event", "peak_rss_mb",
             "idle_rss_mb", "threads", "wire_bytes_per_event", "landing_p99_ms"],
    "qos1": ["events_per_s", "landed_per_s", "agent_cpu_us_per_event", "landing_p99_ms"],
    "offline": ["events_per_s", "agent_cpu_us_per_event", "peak_rss_mb"],
    "uniform": ["events_per_s", "aggregate_open_groups"],
    "zipf": ["events_per_s", "aggregate_open_groups"],
    "drain1m": ["events_per_s", "peak_rss_mb", "wire_bytes_per_event"],
    "ready1m": ["ready_s"],
    "backlog5m": ["events_per_s", "peak_rss_mb"],
    "plugin": ["events_per_s", "cpu_us_per_event", "broker_cpu_us_per_event"],
    "plugin_commit": ["events_per_s", "cpu_us_per_event", "broker_cpu_us_per_event"],
}


def main():
    path = sys.argv[1]
    with open(path) as f:
        result = json.load(f)  # raises on malformed JSON
    problems = []
    for key in ("machine", "versions", "config", "seed", "scenarios"):
        if key not in result:
            problems.append(f"missing top-level key {key}")
    wanted = sys.argv[2:] or result.get("config", {}).get("scenarios", [])
    if "plugin" in wanted and "plugin_commit" not in wanted:
        wanted = wanted + ["plugin_commit"]  # one scenario, two result entries
    for name in wanted:
        sc = result.get("scenarios", {}).get(name)
        if sc is None:
            problems.append(f"scenario {name} missing")
            continue
        if not sc.get("complete"):
            problems.append(f"scenario {name}: not every published event landed")
        for fig in REQUIRED.get(name, []):
            v = sc["figures"].get(fig, {}).get("median")
            if not isinstance(v, (int, float)):
                problems.append(f"scenario {name}: figure {fig} missing")
    if result.get("failures"):
        problems += result["failures"]
    if not result.get("ok"):
        problems.append("result not ok")
    for p in problems:
        print(f"check_result: {p}", file=sys.stderr)
    print(f"check_result: {path}: " + ("ok" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
