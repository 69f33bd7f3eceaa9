#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what scripts/cross-build.sh needs to cross-build tidegate for ARM on a Debian 12
# amd64 machine and run its unit tests there under qemu-user: the cross compilers
# (crossbuild-essential-ARCH), qemu-user-static, and every library the project links as the
# multiarch :ARCH -dev package. Non-interactive, safe to run again (sudo when not root).
# Usage: scripts/install-cross-deps.sh [--sysroot] ARCH...   (ARCH: arm64, armhf)
# The build tools themselves (cmake, flatc, scdoc, rpm, file, ...) stay the amd64 ones of
# scripts/install-deps.sh, which must have run first.
# --sysroot: leave dpkg's architectures alone and unpack the libraries instead into the
# sysroot $TIDEGATE_CROSS_ROOT/TRIPLET-sysroot (default /opt/tidegate-cross; for
# TIDEGATE_CROSS_SYSROOT), resolved by a private apt state from Debian 12 main and updates
# (no security archive), and each package alone with its control files into
# TRIPLET-packages/ (for the deb's Depends). For a machine whose mirror does not serve one
# architecture consistently (seen here for armhf: bookworm-security's armhf index "has
# unexpected size", so apt-get update fails and :armhf libraries cannot match the amd64 ones).
#
# Two -dev packages are not Multi-Arch: same in Debian 12 (libyaml-cpp-dev, libsimdjson-dev:
# their headers would clash with the amd64 ones), so apt cannot install them beside the amd64
# ones. Their runtime libraries are (apt installs those, for qemu and dpkg-shlibdeps); the
# -dev package and its runtime library are unpacked with dpkg-deb into a private root,
# /opt/tidegate-cross/TRIPLET, where cmake/toolchains/*.cmake look for their CMake configs.
# dpkg does not track that tree; deleting it undoes it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
CROSS_ROOT=${TIDEGATE_CROSS_ROOT:-/opt/tidegate-cross}

if [[ $# -eq 0 || "$1" == -h || "$1" == --help ]]; then
  sed -n '3,/^#$/p' "$0" | sed '$d; s/^# \{0,1\}//'
  [[ $# -eq 0 ]] && exit 2
  exit 0
fi
sysroot=0
if [[ "$1" == --sysroot ]]; then
  sysroot=1
  shift
fi

triplet_of() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    *)
      echo "install-cross-deps.sh: unknown architecture '$1' (arm64 or armhf)" >&2
      exit 2
      ;;
  esac
}

# Libraries linked by the build (cmake/Dependencies.cmake); header-only ones that are
# Architecture: all or Multi-Arch: foreign (catch2, libcli11-dev) need nothing extra.
multiarch_dev=(libmosquitto-dev libflatbuffers-dev libsqlite3-dev libsodium-dev libzstd-dev
  libssl-dev libspdlog-dev libfmt-dev libcpp-httplib-dev libsystemd-dev
  libprotobuf-dev)
private_dev=(libyaml-cpp-dev libsimdjson-dev libpq-dev)
private_runtime=(libyaml-cpp0.7 libsimdjson14 libpq5)

# sysroot_for ARCH: resolves the libraries and their dependencies (libc included) with a
# private apt state for ARCH alone and unpacks them into the sysroot; absolute symlinks (e.g.
# libz.so -> /lib/...) are made relative so that they stay inside it.
sysroot_for() {
  local arch=$1 triplet root state
  triplet=$(triplet_of "$arch")
  root="$CROSS_ROOT/$triplet-sysroot"
  state=$(mktemp -d)
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/cache"
  : >"$state/status"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' \
    "$keyring" bookworm "$keyring" bookworm-updates >"$state/sources.list"
  local opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::State::status=$state/status"
    -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::Cache=$state/cache" -o "Dir::Cache::archives=$state/archives"
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o Debug::NoLocking=1)
  apt-get "${opts[@]}" update -q --error-on=any
  apt-get "${opts[@]}" install -y -q --download-only --no-install-recommends \
    libc6-dev libstdc++-12-dev libcli11-dev "${multiarch_dev[@]}" "${private_dev[@]}"
  # A CROSS_ROOT the user can write (scripts/test.sh puts it in the repository) needs no sudo.
  local as=$SUDO
  if mkdir -p "$CROSS_ROOT" 2>/dev/null && [[ -w "$CROSS_ROOT" ]]; then as=""; fi
  $as rm -rf "$root"
  $as mkdir -p "$root"
  # Each package also unpacked on its own with its control files (DEBIAN/symbols, shlibs):
  # cross-build.sh hands these trees to dpkg-shlibdeps -S to compute the deb's Depends, as
  # dpkg would from its database if it had the architecture.
  local packages="$CROSS_ROOT/$triplet-packages" deb name
  $as rm -rf "$packages"
  for deb in "$state"/archives/*.deb; do
    $as dpkg-deb -x "$deb" "$root"
    name=$(dpkg-deb -f "$deb" Package)
    $as mkdir -p "$packages/$name"
    $as dpkg-deb -x "$deb" "$packages/$name"
    $as dpkg-deb -e "$deb" "$packages/$name/DEBIAN"
  done
  (cd "$root" && find . -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    $as ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" ".$(readlink "$link")")" \
      "$link"
  done)
  rm -rf "$state"
  echo "sysroot for $arch: $root"
}

if ((sysroot)); then
  packages=(qemu-user-static)
  for arch in "$@"; do packages+=("crossbuild-essential-$arch"); done
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
  for arch in "$@"; do sysroot_for "$arch"; done
  exit 0
fi

packages=(qemu-user-static)
for arch in "$@"; do
  triplet_of "$arch" >/dev/null
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    $SUDO dpkg --add-architecture "$arch"
  fi
  packages+=("crossbuild-essential-$arch")
  for p in "${multiarch_dev[@]}" "${private_runtime[@]}"; do packages+=("$p:$arch"); done
done

# A Multi-Arch: same library must have the same version in every architecture; a mirror that
# fails to serve one architecture's index (seen: "File has unexpected size ... Mirror sync in
# progress?") would leave apt with mismatched versions, so the update must succeed fully.
updated=0
for attempt in 1 2 3; do
  if $SUDO apt-get update -q --error-on=any; then
    updated=1
    break
  fi
  echo "install-cross-deps.sh: apt-get update failed (attempt $attempt of 3)" >&2
  sleep $((attempt * 10))
done
((updated)) || {
  echo "install-cross-deps.sh: apt-get update did not succeed" >&2
  exit 1
}
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"

for arch in "$@"; do
  triplet=$(triplet_of "$arch")
  root="$CROSS_ROOT/$triplet"
  stamp="$root/.versions"
  want=""
  for p in "${private_dev[@]}" "${private_runtime[@]}"; do
    want+="$p:$arch $(apt-cache policy "$p:$arch" | awk '/Candidate:/ {print $2}')"$'\n'
  done
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then continue; fi
  work=$(mktemp -d)
  (cd "$work" && apt-get download -q \
    "${private_dev[@]/%/:$arch}" "${private_runtime[@]/%/:$arch}")
  $SUDO rm -rf "$root"
  $SUDO mkdir -p "$root"
  for deb in "$work"/*.deb; do $SUDO dpkg-deb -x "$deb" "$root"; done
  printf '%s' "$want" | $SUDO tee "$stamp" >/dev/null
  rm -rf "$work"
done
