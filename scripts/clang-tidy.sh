#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs clang-tidy 14 with the root .clang-tidy over every project translation unit listed in
# a configured build's compile_commands.json (generated sources excluded), $(nproc) at a time
# and largest first, then prints each distinct finding once, the count per check and the time
# taken. Exits non-zero on any finding or clang-tidy failure.
# Each source file is checked once, even when several targets compile it. Test code
# (*_test.cc, tests/) runs a smaller set: no clang-analyzer-*, performance-*, modernize-*, most
# of misc-* and three bugprone-* checks (TEST_CHECKS below; reasons in .clang-tidy). Prints the
# slowest translation units too.
# Environment: BUILD_DIR (build), CLANG_TIDY (clang-tidy-14, else clang-tidy), JOBS (nproc),
# ONLY (a Python regex on repo-relative source paths, e.g. '^(agent|buffer)/': check only
# those; '^(?!tools/sim/)' checks all but those), TIDY_TESTS (1; 0 leaves out the *_test.cc
# files, as scripts/test.sh does to keep CI within its time: they are ~80 of ~190 TUs and
# ~30% of the step, while tests/support and the integration fixture are still checked).
# The build must be configured; this script builds only the flatc header the sources include.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD_DIR=${BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
JOBS=${JOBS:-$(nproc)}
CLANG_TIDY=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy || true)}
cd "$ROOT"

if [ -z "$CLANG_TIDY" ]; then
  echo "clang-tidy not found (Debian package clang-tidy)" >&2
  exit 2
fi
if ! "$CLANG_TIDY" --version | grep -q 'version 14\.'; then
  echo "warning: $CLANG_TIDY is not clang-tidy 14; .clang-tidy is written for 14" >&2
fi
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "no $BUILD_DIR/compile_commands.json: configure first (cmake -S . -B $BUILD_DIR)" >&2
  exit 2
fi
cmake --build "$BUILD_DIR" --target tg_schema_gen >/dev/null

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Unique sources under the repository root, outside the build tree (flatc and any other
# generated file lives there), and a compile database with one entry for each in $OUT/db:
# clang-tidy checks a file once per entry it finds for it, and fuzz/replay_main.cc has one
# entry per fuzzer (9 identical runs, ~60 s).
mkdir "$OUT/db"
python3 - "$BUILD_DIR/compile_commands.json" "$ROOT" "$BUILD_DIR" "${ONLY:-}" \
  "$OUT/db/compile_commands.json" "${TIDY_TESTS:-1}" >"$OUT/files" <<'EOF'
import json, os, re, sys
db, root, build = sys.argv[1], os.path.realpath(sys.argv[2]), os.path.realpath(sys.argv[3])
only, out, tests = re.compile(sys.argv[4]), sys.argv[5], sys.argv[6] == "1"
entries = {}
for entry in json.load(open(db)):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    if path.startswith(root + "/") and not path.startswith(build + "/"):
        rel = os.path.relpath(path, root)
        if only.search(rel) and (tests or not rel.endswith("_test.cc")):
            # A TIDEGATE_FAST_TEST_BUILD tree precompiles Catch2 for the tests; clang-tidy
            # parses the header itself (the TU includes it) rather than load the compiler's.
            if "command" in entry:
                entry["command"] = re.sub(
                    r" -Winvalid-pch| -Xclang -include-pch -Xclang \S+"
                    r"| (-Xclang )?-include (-Xclang )?\S+/cmake_pch\.hxx", "", entry["command"])
            entries.setdefault(path, entry)
json.dump(list(entries.values()), open(out, "w"), indent=1)
# Largest first, so that no big TU (the main.cc files with CLI11) starts last and runs alone:
# the size is the bytes of every file the build's depfile (<object>.d) lists, 0 if unbuilt.
sizes = {}
def weight(entry):
    args = entry.get("arguments") or entry["command"].split()
    if "-o" not in args[:-1]:
        return 0
    depfile = os.path.join(entry["directory"], args[args.index("-o") + 1] + ".d")
    if not os.path.exists(depfile):
        return 0
    total = 0
    for name in open(depfile).read().replace("\\\n", " ").split()[1:]:
        if name not in sizes:
            path = os.path.join(entry["directory"], name)
            sizes[name] = os.path.getsize(path) if os.path.exists(path) else 0
        total += sizes[name]
    return total
print("\n".join(sorted(entries, key=lambda path: (-weight(entries[path]), path))))
EOF
TUS=$(wc -l <"$OUT/files")

# Checks removed for test code only; .clang-tidy's header says why.
TEST_TU='^(tests/.*|.*_test)\.cc$'
TEST_CHECKS='-clang-analyzer-*,-bugprone-reserved-identifier,-performance-*,-modernize-*'
TEST_CHECKS+=',-misc-*,misc-redundant-expression,misc-definitions-in-headers'
TEST_CHECKS+=',misc-throw-by-value-catch-by-reference'
TEST_CHECKS+=',-bugprone-stringview-nullptr,-bugprone-suspicious-semicolon'

start=$(date +%s)
# One log, one exit status and one time (ms) per TU, named after the source path.
# shellcheck disable=SC2016
xargs -a "$OUT/files" -P "$JOBS" -I{} sh -c \
  'log="$2/$(echo "$3" | tr / _)"
   rel=${3#"$6"/}
   checks=""
   if echo "$rel" | grep -qE "$4"; then checks="--checks=$5"; fi
   t0=$(date +%s%N)
   "$0" -p "$1" --quiet $checks "$3" >"$log.log" 2>&1
   echo $? >"$log.rc"
   echo "$((($(date +%s%N) - t0) / 1000000)) $rel" >"$log.ms"' \
  "$CLANG_TIDY" "$OUT/db" "$OUT" {} "$TEST_TU" "$TEST_CHECKS" "$ROOT"
elapsed=$(($(date +%s) - start))

# A header's findings repeat in every TU that includes it: report each one once. A TU where
# clang-tidy failed without a finding (a crash, a missing header) is shown and fails too.
set +e
python3 - "$OUT" "$ROOT" <<'EOF'
import collections, glob, os, re, sys
out, root = sys.argv[1], sys.argv[2]
# A finding starts at "file:line:col: error: text" (or "error: text" for a diagnostic
# without a location) and ends at the first line ending in "[check-name...]".
start = re.compile(r"^(?:(/[^:]+):(\d+):(\d+): )?(?:warning|error): (.*)$")
end = re.compile(r"\[([a-z][a-zA-Z0-9.,_-]+)\]$")
seen, failed = {}, []
for log in sorted(glob.glob(os.path.join(out, "*.log"))):
    found, where, text = False, None, ""
    lines = open(log, errors="replace").read().splitlines()
    for line in lines:
        m = start.match(line)
        if m:
            where = "(no location)"
            if m.group(1):
                where = f"{os.path.relpath(m.group(1), root)}:{m.group(2)}:{m.group(3)}"
            text = m.group(4)
        e = end.search(line)
        if e and where is not None:
            found = True
            check = e.group(1).split(",")[0]
            seen.setdefault((where, check), re.sub(r"\s*\[[^\]]+\]$", "", text))
            where = None
    if open(log[:-4] + ".rc").read().strip() != "0" and not found:
        failed.append((log, lines))
for (where, check), text in sorted(seen.items()):
    print(f"{where}: {text} [{check}]")
counts = collections.Counter(check for _, check in seen)
if counts:
    print("\nfindings per check:")
    for check, n in counts.most_common():
        print(f"  {n:5d}  {check}")
for log, lines in failed:
    print(f"clang-tidy failed without a finding: {os.path.basename(log)}")
    print("\n".join("  " + line for line in lines[-20:]))
times = []
for ms in glob.glob(os.path.join(out, "*.ms")):
    t, name = open(ms).read().split()
    times.append((int(t), name))
times.sort(reverse=True)
print("slowest translation units (wall s): " +
      ", ".join(f"{name} {t / 1000:.1f}" for t, name in times[:5]))
print(f"findings: {len(seen)}, failed translation units: {len(failed)}")
sys.exit(1 if seen or failed else 0)
EOF
status=$?
set -e

echo "translation units: $TUS, jobs: $JOBS, time: ${elapsed}s"
exit $status
