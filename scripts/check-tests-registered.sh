#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails (exit 1, listing them) if a *_test.cc in the repo is not built by any CMakeLists.txt:
# a test nobody compiles is a test that silently stopped running (LevelDB's commented-out
# tests). A file counts as registered when the CMakeLists.txt of its folder or of a parent
# folder mentions it outside a comment, by its path relative to that folder (also after
# ${CMAKE_CURRENT_SOURCE_DIR}/ or ${PROJECT_SOURCE_DIR}/), or holds a pattern ending in
# *_test.cc (as in file(GLOB ... integration/*_test.cc)) that matches it within one folder.
# build*/ and .git/ are skipped. Usage: scripts/check-tests-registered.sh [REPO_ROOT]
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"

# The words of a CMakeLists.txt outside comments, one a line. Paths based on the current
# folder lose that prefix; paths based on the project root start with "//".
cmake_words() {
  sed -e 's/#.*$//' "$1" |
    tr -s ' \t()"' '\n' |
    sed -E -e 's#^[$][{](CMAKE_CURRENT_SOURCE_DIR|CMAKE_CURRENT_LIST_DIR)[}]/##' \
      -e 's#^[$][{](PROJECT_SOURCE_DIR|CMAKE_SOURCE_DIR|tidegate_SOURCE_DIR)[}]/#//#' \
      -e 's#^[.]/##'
}

slashes() {
  local only="${1//[^\/]/}"
  echo "${#only}"
}

# True if `word` of the CMakeLists.txt in a folder registers `sub`, the test's path
# relative to that folder.
word_registers() {
  local word="$1" sub="$2" rel="$3"
  [[ "$word" == "$sub" || "$word" == "//$rel" ]] && return 0
  if [[ "$word" == *'*'*_test.cc && "$(slashes "$word")" == "$(slashes "$sub")" ]]; then
    # Unquoted right side: a shell pattern, the same meaning as CMake's GLOB here.
    # shellcheck disable=SC2053
    [[ "$sub" == $word ]] && return 0
  fi
  return 1
}

is_registered() {
  local rel="$1"
  local dir sub cmakelists word
  dir="$(dirname "$rel")"
  sub="$(basename "$rel")"
  while true; do
    cmakelists="$dir/CMakeLists.txt"
    if [[ -f "$cmakelists" ]]; then
      while IFS= read -r word; do
        [[ -n "$word" ]] && word_registers "$word" "$sub" "$rel" && return 0
      done < <(cmake_words "$cmakelists")
    fi
    [[ "$dir" == "." ]] && return 1
    sub="$(basename "$dir")/$sub"
    dir="$(dirname "$dir")"
  done
}

unregistered=()
while IFS= read -r -d '' file; do
  rel="${file#./}"
  is_registered "$rel" || unregistered+=("$rel")
done < <(find . \( -path './build*' -o -path './.git' \) -prune -o \
  -type f -name '*_test.cc' -print0 | sort -z)

if ((${#unregistered[@]} > 0)); then
  echo "These tests are not registered in any CMakeLists.txt (so they never run):" >&2
  printf '  %s\n' "${unregistered[@]}" >&2
  exit 1
fi
echo "check-tests-registered: every *_test.cc is registered."
