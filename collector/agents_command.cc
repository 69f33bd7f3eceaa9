// SPDX-License-Identifier: Apache-2.0
#include "collector/agents_command.h"

#include <fmt/format.h>

#include <iterator>

#include "collector/exit_codes.h"
#include "collector/store/open_landing_store.h"
#include "common/clock.h"
#include "common/json_escape.h"
#include "common/time_format.h"

namespace tidegate::collector {
namespace {

void AppendField(std::string* out, std::string_view key, std::string_view text) {
  AppendJsonString(out, key);
  out->push_back(':');
  AppendJsonString(out, text);
}

}  // namespace

std::string AgentToNdjson(const AgentRecord& a) {
  std::string out = "{";
  AppendField(&out, "id", a.agent_id);
  out.push_back(',');
  AppendField(&out, "instance_uid", a.instance_uid);
  out.push_back(',');
  AppendField(&out, "last_seen", FormatRfc3339Ms(a.last_seen));
  fmt::format_to(std::back_inserter(out), ",\"sequence_num\":{},", a.sequence_num);
  AppendField(&out, "config_status", a.config_status);
  out.push_back(',');
  AppendField(&out, "config_hash", a.config_hash);
  out.push_back(',');
  AppendField(&out, "config_error", a.config_error);
  fmt::format_to(std::back_inserter(out), ",\"healthy\":{},", a.healthy);
  AppendField(&out, "health_status", a.health_status);
  out.push_back(',');
  AppendField(&out, "effective_config_hash", a.effective_config_hash);
  out.append("}\n");
  return out;
}

int RunAgents(const AgentsOptions& options, std::FILE* out, std::FILE* err) {
  Result<std::unique_ptr<LandingStore>> store = OpenLandingStore(options.store, RealClock(), true);
  if (!store.ok()) {
    fmt::print(err, "tidegate-collector: agents: {}\n", store.status().ToString());
    return kExitFailure;
  }
  Status s = (*store)->ForEachAgent([&](const AgentRecord& a) {
    std::string line = AgentToNdjson(a);
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return IOError("writing to stdout failed");
    }
    return Status::Ok();
  });
  if (s.ok() && std::fflush(out) != 0) s = IOError("writing to stdout failed");
  if (!s.ok()) {
    fmt::print(err, "tidegate-collector: agents: {}\n", s.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace tidegate::collector
