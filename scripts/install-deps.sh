#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every build, test and demo dependency of tidegate from Debian 12 packages,
# non-interactively. Safe to run again; used by the README and by .ci/run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# apt-get waits for dpkg's lock when told to (DPkg::Lock::Timeout), but not for the package
# lists' lock, which another apt-get may hold (unattended-upgrades on a freshly booted machine,
# say): then it fails at once. Retry that, for up to 10 minutes, saying why.
apt_get() {
  local attempt=0 err
  err=$(mktemp)
  while true; do
    if $SUDO apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$err"; then
      cat "$err" >&2
      rm -f "$err"
      return 0
    fi
    cat "$err" >&2
    if ! grep -q "Could not get lock" "$err" || [ "$attempt" -ge 120 ]; then
      rm -f "$err"
      return 1
    fi
    attempt=$((attempt + 1))
    echo "install-deps: another apt-get holds a lock; retrying in 5 s ($attempt of 120)" >&2
    sleep 5
  done
}

apt_get update -q
apt_get install -y -q --no-install-recommends \
  build-essential cmake pkg-config ca-certificates openssl procps psmisc iproute2 \
  clang-14 libclang-rt-14-dev clang-format clang-tidy lld \
  libmosquitto-dev mosquitto mosquitto-clients mosquitto-dev \
  libflatbuffers-dev flatbuffers-compiler \
  libpq-dev postgresql-15 libsqlite3-dev sqlite3 libsodium-dev libzstd-dev zstd libssl-dev \
  catch2 libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libsimdjson-dev \
  libcpp-httplib-dev libsystemd-dev python3 python3-prometheus-client faketime curl \
  libbenchmark-dev gnuplot-nox \
  scdoc rpm systemd adduser file \
  libprotobuf-dev protobuf-compiler
# libprotobuf-dev, protobuf-compiler: the OpAMP messages (remote/opamp/opamp.proto), generated
# at build time and linked with the lite runtime; opamp_test runs `protoc --decode_raw`.
# libpq-dev: the collector's PostgreSQL landing store; postgresql-15: its tests start a
# throw-away server (tests/support/postgres_server.h), the packaged cluster is not needed.
# python3-prometheus-client: its exposition parser checks the metrics page
# (tests/integration/check_metrics_page.py, run with /usr/bin/python3).
# The packaged broker starts itself as a service on port 1883; tests and the demo start
# their own brokers on free loopback ports, so the system one is not needed.
# Packaging (tests/packaging/): scdoc renders the man pages, rpm provides rpmbuild for CPack's
# RPM generator and rpm -qp for the checks, systemd provides systemd-analyze (installed, not
# booted), adduser is what the deb's postinst uses, and CPack's deb generator runs `file` on
# each installed file to find the binaries for dpkg-shlibdeps.
