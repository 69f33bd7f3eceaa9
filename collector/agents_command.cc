// SPDX-License-Identifier: Apache-2.0
#include "collector/agents_command.h"

#include <fmt/format.h>

#include <iterator>

#include "collector/ndjson_output.h"
#include "common/time_format.h"

namespace tidegate::collector {

std::string AgentToNdjson(const AgentRecord& a) {
  std::string out = "{";
  AppendJsonField(&out, "id", a.agent_id);
  out.push_back(',');
  AppendJsonField(&out, "instance_uid", a.instance_uid);
  out.push_back(',');
  AppendJsonField(&out, "last_seen", FormatRfc3339Ms(a.last_seen));
  fmt::format_to(std::back_inserter(out), ",\"sequence_num\":{},", a.sequence_num);
  AppendJsonField(&out, "config_status", a.config_status);
  out.push_back(',');
  AppendJsonField(&out, "config_hash", a.config_hash);
  out.push_back(',');
  AppendJsonField(&out, "config_error", a.config_error);
  fmt::format_to(std::back_inserter(out), ",\"healthy\":{},", a.healthy);
  AppendJsonField(&out, "health_status", a.health_status);
  out.push_back(',');
  AppendJsonField(&out, "effective_config_hash", a.effective_config_hash);
  out.append("}\n");
  return out;
}

int RunAgents(const AgentsOptions& options, std::FILE* out, std::FILE* err) {
  return PrintStoreNdjson(
      options.store, "agents", out, err, [](LandingStore& store, const LineSink& write) {
        return store.ForEachAgent([&](const AgentRecord& a) { return write(AgentToNdjson(a)); });
      });
}

}  // namespace tidegate::collector
