// SPDX-License-Identifier: Apache-2.0
// OpampStack: an E2eStack whose agent takes remote config over OpAMP from the stack's own
// collector (`serve --config-dir`, the same TLS listener as the uplink), with a signing key
// pair from `tidegate keys init`. Bundles are signed with `tidegate config sign` and placed
// atomically as <config-dir>/<agent_id>.json; `tidegate-collector agents` shows what the
// agent reported. Not thread-safe, like E2eStack.
#pragma once

#include <string>

#include "tests/integration/e2e_fixture.h"

namespace tidegate::testing {

class OpampStack {
 public:
  // remote_yaml: more keys of the remote_config section (indented two spaces), e.g.
  // "  rollback_after: 1m\n".
  OpampStack(std::string_view label, std::string agent_id, std::string poll_interval,
             std::string remote_yaml = {});

  // Collector, broker, keys, then the agent; REQUIREs each step.
  void Start();

  // `tidegate config sign` of config_text as `version` for this agent; REQUIREs success.
  std::string Sign(int version, const std::string& config_text);
  // Writes the bundle as <config-dir>/<agent_id>.json (temp file and rename: the collector
  // never serves half a bundle).
  void Place(const std::string& bundle);
  // This agent's line of `tidegate-collector agents` ("" if none yet, or on an error).
  std::string AgentsLine();
  // The URL prefix of the collector, https://localhost:PORT.
  std::string collector_url() const;

  E2eStack& stack() { return stack_; }

 private:
  std::string agent_id_;
  std::string poll_interval_;
  std::string remote_yaml_;
  E2eStack stack_;
  std::string bundles_;
  std::string keys_;
};

}  // namespace tidegate::testing
