// SPDX-License-Identifier: Apache-2.0
#include "collector/dump_command.h"

#include <fmt/format.h>

#include <iterator>

#include "collector/exit_codes.h"
#include "collector/store/open_landing_store.h"
#include "common/clock.h"
#include "common/json_escape.h"
#include "common/time_format.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

void AppendField(std::string* out, std::string_view key, std::string_view text) {
  AppendJsonString(out, key);
  out->push_back(':');
  AppendJsonString(out, text);
}

Status WriteLine(std::FILE* out, const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
    return IOError("writing to stdout failed");
  }
  return Status::Ok();
}

}  // namespace

std::string EventToNdjson(const LandedEvent& e) {
  std::string out = "{";
  AppendField(&out, "agent_id", e.agent_id);
  fmt::format_to(std::back_inserter(out), ",\"seq\":{},", e.seq);
  AppendField(&out, "topic", e.topic);
  out.push_back(',');
  AppendField(&out, "device_id", e.device_id);
  out.push_back(',');
  AppendField(&out, "event_time", FormatRfc3339Ms(e.event_time));
  out.push_back(',');
  AppendField(&out, "ingest_time", FormatRfc3339Ms(e.ingest_time));
  fmt::format_to(std::back_inserter(out), R"(,"late":{},"payload":)",
                 (e.flags & schema::kEventFlagLate) != 0);
  schema::AppendJsonPayload(&out, e.payload);
  out.append("}\n");
  return out;
}

std::string AggregateToNdjson(const LandedAggregate& a) {
  std::string out = "{";
  AppendField(&out, "agent_id", a.agent_id);
  out.push_back(',');
  AppendField(&out, "name", a.name);
  out.push_back(',');
  AppendField(&out, "key", a.group_key);
  out.push_back(',');
  AppendField(&out, "window_start", FormatRfc3339Ms(a.window_start));
  out.push_back(',');
  AppendField(&out, "window_end", FormatRfc3339Ms(a.window_end));
  fmt::format_to(std::back_inserter(out), R"(,"revision":{},"final":{},"measures":)", a.revision,
                 a.final);
  // Rendered by schema::AppendMeasuresJson when landed: already compact JSON.
  out.append(a.measures_json.empty() ? "{}" : a.measures_json);
  out.append("}\n");
  return out;
}

int RunDump(const DumpOptions& options, std::FILE* out, std::FILE* err) {
  if (options.what != "events" && options.what != "aggregates") {
    fmt::print(err, "tidegate-collector: dump: expected 'events' or 'aggregates', got '{}'\n",
               options.what);
    return kExitUsage;
  }
  Result<std::unique_ptr<LandingStore>> store = OpenLandingStore(options.store, RealClock(), true);
  if (!store.ok()) {
    fmt::print(err, "tidegate-collector: dump: {}\n", store.status().ToString());
    return kExitFailure;
  }
  Status s = options.what == "events" ? (*store)->ForEachEvent([out](const LandedEvent& e) {
    return WriteLine(out, EventToNdjson(e));
  })
                                      : (*store)->ForEachAggregate([out](const LandedAggregate& a) {
                                          return WriteLine(out, AggregateToNdjson(a));
                                        });
  if (s.ok() && std::fflush(out) != 0) s = IOError("writing to stdout failed");
  if (!s.ok()) {
    fmt::print(err, "tidegate-collector: dump: {}\n", s.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace tidegate::collector
