#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks a Prometheus text page with a real exposition parser (python3-prometheus-client)
plus the naming rules promtool's lint applies, and that the named families are present.

Usage: check_metrics_page.py PAGE_FILE [FAMILY ...]
FAMILY is a family name as written on the page (counters with _total). Prints one problem a
line and exits 1 if there is any; exits 0 printing the number of families otherwise."""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Not base units (promtool: "use base unit"), by suffix of a family name.
NON_BASE_UNITS = ("_ms", "_milliseconds", "_microseconds", "_us", "_nanoseconds", "_ns",
                  "_minutes", "_hours", "_days", "_kb", "_kilobytes", "_mb", "_megabytes",
                  "_kib", "_mib", "_gb", "_gib", "_bits", "_percent")


def header_problems(text):
    """What the parser tolerates but Prometheus and promtool do not: a family whose HELP or
    TYPE is missing, repeated or after its samples, a family split in two, a bad name."""
    problems = []
    seen_help, seen_type, closed, current = set(), {}, set(), None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            name = parts[2] if len(parts) > 2 else ""
            kind = parts[1]
            if not NAME.match(name):
                problems.append(f"line {number}: bad family name {name!r}")
            if name in closed or (current == name and kind == "TYPE" and name in seen_type):
                problems.append(f"line {number}: {kind} of {name} repeated or after its samples")
            if kind == "HELP":
                if name in seen_help:
                    problems.append(f"line {number}: second HELP for {name}")
                if len(parts) < 4 or not parts[3].strip():
                    problems.append(f"line {number}: empty HELP for {name}")
                seen_help.add(name)
            else:
                seen_type[name] = parts[3] if len(parts) > 3 else ""
            if current is not None and current != name:
                closed.add(current)
            current = name
        elif line and not line.startswith("#"):
            sample = re.split(r"[{ ]", line, maxsplit=1)[0]
            family = sample
            for suffix in ("_bucket", "_sum", "_count"):
                base = sample[: -len(suffix)]
                if sample.endswith(suffix) and seen_type.get(base) == "histogram":
                    family = base
            if family in closed:
                problems.append(f"line {number}: {family} continues after another family")
            if family not in seen_type:
                problems.append(f"line {number}: sample {sample} has no TYPE line")
            if family not in seen_help:
                problems.append(f"line {number}: sample {sample} has no HELP line")
            if current is not None and current != family:
                closed.add(current)
            current = family
    for name, kind in seen_type.items():
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"counter {name} does not end in _total")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{kind} {name} ends in _total, which is for counters")
        if name.endswith(NON_BASE_UNITS):
            problems.append(f"{name}: use base units (_seconds, _bytes) in names")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    problems = header_problems(text)
    families = {}
    try:
        for family in text_string_to_metric_families(text):
            # The parser names a counter family without its _total; the page writes it with.
            name = family.name + "_total" if family.type == "counter" else family.name
            families[name] = family
    except ValueError as e:
        problems.append(f"the exposition parser rejects the page: {e}")
    for wanted in argv[2:]:
        if wanted not in families:
            problems.append(f"family {wanted} is missing")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: {len(families)} families")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
