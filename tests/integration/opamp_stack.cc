// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/opamp_stack.h"

#include <catch2/catch.hpp>
#include <cstdio>

#include "tests/integration/cloud_broker.h"  // RequireValue
#include "tests/support/files.h"

namespace tidegate::testing {

OpampStack::OpampStack(std::string_view label, std::string agent_id, std::string poll_interval,
                       std::string remote_yaml)
    : agent_id_(std::move(agent_id)),
      poll_interval_(std::move(poll_interval)),
      remote_yaml_(std::move(remote_yaml)),
      stack_(label, StackOptions{.agent_id = agent_id_}),
      bundles_(stack_.dir().MakeDir("bundles")),
      keys_(stack_.dir().File("keys")) {
  stack_.mutable_options().collector_args = {"--config-dir", bundles_};
}

std::string OpampStack::collector_url() const {
  return "https://localhost:" + std::to_string(stack_.collector_port());
}

void OpampStack::Start() {
  RequireOk(stack_.Prepare(), &stack_);
  RequireOk(stack_.StartBroker(), &stack_);
  REQUIRE(RequireValue(stack_.RunTidegate({"keys", "init", "--dir", keys_})).exit_code == 0);
  stack_.mutable_options().extra_agent_yaml =
      "remote_config:\n  enabled: true\n  channel: opamp\n  url: " + collector_url() +
      "/v1/opamp\n  poll_interval: " + poll_interval_ + "\n  signing_public_key: " + keys_ +
      "/signing.pub\n" + remote_yaml_;
  RequireOk(stack_.StartAgent(), &stack_);
}

std::string OpampStack::Sign(int version, const std::string& config_text) {
  const std::string file = stack_.dir().File("bundle-v" + std::to_string(version) + ".yaml");
  RequireOk(WriteFile(file, config_text));
  const CommandResult signed_bundle = RequireValue(
      stack_.RunTidegate({"config", "sign", "--key", keys_ + "/signing.key", "--version",
                          std::to_string(version), "--agent", agent_id_, file}));
  INFO(signed_bundle.stderr_text);
  REQUIRE(signed_bundle.exit_code == 0);
  return signed_bundle.stdout_text;
}

void OpampStack::Place(const std::string& bundle) {
  const std::string path = bundles_ + "/" + agent_id_ + ".json";
  RequireOk(WriteFile(path + ".tmp", bundle));
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

std::string OpampStack::AgentsLine() {
  Result<CommandResult> run =
      RunCommand({BinaryPath("tidegate-collector"), "agents", "--store", stack_.CollectorStore()});
  if (!run.ok() || run->exit_code != 0) return {};
  const std::string& out = run->stdout_text;
  const size_t at = out.find("{\"id\":\"" + agent_id_ + "\"");
  if (at == std::string::npos) return {};
  return out.substr(at, out.find('\n', at) - at);
}

}  // namespace tidegate::testing
