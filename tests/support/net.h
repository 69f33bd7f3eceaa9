// SPDX-License-Identifier: Apache-2.0
// Loopback port helpers for tests that start real servers (mosquitto, the collector, the
// agent's metrics endpoint). Ports are only ever on 127.0.0.1. Thread-safe.
#pragma once

#include <chrono>

namespace tidegate::testing {

// A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close).
// Another process may still take it before the caller binds it, so servers started on it
// should be retried on a new port if their bind fails. 0 if no socket could be bound.
int FreeTcpPort();

// True once a TCP connect to 127.0.0.1:port succeeds, false after `timeout`.
bool WaitForTcpPort(int port, std::chrono::milliseconds timeout);

// True if a TCP connect to 127.0.0.1:port succeeds right now.
bool TcpPortAcceptsConnections(int port);

}  // namespace tidegate::testing
