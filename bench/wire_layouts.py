#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bytes per event of one real batch in other layouts than the uplink's, at zstd level 1.

Reads a batch as flatc prints it (the bodies `KEEP_RAW=DIR bash bench/run.sh ...` keeps):
    zstd -d < DIR/002-agent-q0/<batch>.tgb.zst > /tmp/batch.bin
    flatc --json --strict-json --raw-binary schema/tidegate_batch.fbs -- /tmp/batch.bin
    python3 bench/wire_layouts.py batch.json
and lays its events out as FlatBuffers would (little-endian vectors; strings with a 4-byte
length, a NUL and padding to 4; a vector of strings with a 4-byte offset each), compressed with
the zstd command line at level 1 (the uplink's default). A probe of what a layout could save,
not a wire format: nothing here is decodable by a receiver.
"""
import json
import struct
import subprocess
import sys


def zstd1(data):
    return len(subprocess.run(["zstd", "-q", "-c", "-1"], input=data, capture_output=True,
                              check=True).stdout)


def strings_vector(values):
    """A FlatBuffers vector of strings: count, relative offsets, then the strings."""
    body, starts = b"", []
    for v in values:
        raw = v.encode()
        starts.append(len(body))
        body += struct.pack("<I", len(raw)) + raw + b"\0"
        body += b"\0" * (-len(body) % 4)
    head = struct.pack("<I", len(values))
    table = 4 + 4 * len(values)
    for i, start in enumerate(starts):
        head += struct.pack("<I", table - (4 + 4 * i) + start)
    return head + body


def longs(values):
    return struct.pack("<I", len(values)) + b"".join(struct.pack("<q", v) for v in values)


def uints(values):
    return struct.pack("<I", len(values)) + b"".join(struct.pack("<I", v) for v in values)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    events = json.load(open(sys.argv[1]))["events"]
    n = len(events)
    payloads = [e["payload"] for e in events]
    columns = (longs([e["seq"] for e in events]) + longs([e["event_time"] for e in events]) +
               longs([e["ingest_time"] for e in events]) +
               strings_vector([e["topic"] for e in events]) +
               strings_vector([e["device_id"] for e in events]))
    blob = "".join(payloads).encode()
    ends, end = [], 0
    for p in payloads:
        end += len(p.encode())
        ends.append(end)
    layouts = [
        ("event fields as columns, payloads as a vector of strings",
         columns + strings_vector(payloads)),
        ("event fields as columns, payloads as one byte vector and their ends",
         columns + uints(ends) + struct.pack("<I", len(blob)) + blob),
        ("payloads alone, a vector of strings", strings_vector(payloads)),
        ("payloads alone, joined by NUL bytes", "\0".join(payloads).encode()),
        ("event fields alone, as columns", columns),
    ]
    print(f"{sys.argv[1]}: {n} events; bytes per event at zstd level 1")
    for name, data in layouts:
        print(f"  {name:<70} {zstd1(data) / n:7.1f}")


if __name__ == "__main__":
    main()
