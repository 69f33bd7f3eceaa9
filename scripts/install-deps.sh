#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every build, test and demo dependency of tidegate from Debian 12 packages,
# non-interactively. Safe to run again; used by the README and by .ci/run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
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
