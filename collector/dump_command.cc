// SPDX-License-Identifier: Apache-2.0
#include "collector/dump_command.h"

#include <fmt/format.h>

#include <iterator>

#include "collector/exit_codes.h"
#include "collector/ndjson_output.h"
#include "common/time_format.h"
#include "schema/batch_view.h"

namespace tidegate::collector {

std::string EventToNdjson(const LandedEvent& e) {
  std::string out = "{";
  AppendJsonField(&out, "agent_id", e.agent_id);
  fmt::format_to(std::back_inserter(out), ",\"seq\":{},", e.seq);
  AppendJsonField(&out, "topic", e.topic);
  out.push_back(',');
  AppendJsonField(&out, "device_id", e.device_id);
  out.push_back(',');
  AppendJsonField(&out, "event_time", FormatRfc3339Ms(e.event_time));
  out.push_back(',');
  AppendJsonField(&out, "ingest_time", FormatRfc3339Ms(e.ingest_time));
  fmt::format_to(std::back_inserter(out), R"(,"late":{},"payload":)",
                 (e.flags & schema::kEventFlagLate) != 0);
  schema::AppendJsonPayload(&out, e.payload);
  out.append("}\n");
  return out;
}

std::string AggregateToNdjson(const LandedAggregate& a) {
  std::string out = "{";
  AppendJsonField(&out, "agent_id", a.agent_id);
  out.push_back(',');
  AppendJsonField(&out, "name", a.name);
  out.push_back(',');
  AppendJsonField(&out, "key", a.group_key);
  out.push_back(',');
  AppendJsonField(&out, "window_start", FormatRfc3339Ms(a.window_start));
  out.push_back(',');
  AppendJsonField(&out, "window_end", FormatRfc3339Ms(a.window_end));
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
  const bool events = options.what == "events";
  return PrintStoreNdjson(
      options.store, "dump", out, err, [events](LandingStore& store, const LineSink& write) {
        if (events) {
          return store.ForEachEvent([&](const LandedEvent& e) { return write(EventToNdjson(e)); });
        }
        return store.ForEachAggregate(
            [&](const LandedAggregate& a) { return write(AggregateToNdjson(a)); });
      });
}

}  // namespace tidegate::collector
