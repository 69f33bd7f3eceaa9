// SPDX-License-Identifier: Apache-2.0
// Cost per event of payload schema validation (filters/schema_validator.h) on the
// simulator's default event (with PII), against a same-run baseline: BM_Parse is
// EventParser::Parse without a schema (what ingest does today), BM_ParseSchema the same
// parse plus validation against a schema declaring the sim's seven fields with rules
// (other_fields keep), BM_ParseSchemaDrop the same with other_fields drop (the payload is
// rewritten without user, ip and note). Validation cost = BM_ParseSchema - BM_Parse.
// Run: build/bin/schema_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "common/config.h"
#include "common/event.h"
#include "filters/event_parser.h"
#include "filters/payload_schema.h"

namespace {

using tidegate::FieldType;
using tidegate::SchemaFieldSpec;

const std::string kPayload =
    R"({"device_id":"dev-0007","msg_id":"5f0c6e1d2a9b3c47","ts":1764000000123,"seq":42,)"
    R"("temp":23.47,"humidity":45.3,"battery":87,)"
    R"("user":{"email":"maria.garcia7+alerts@mail.example.com","phone":"+44 20 7946 0123"},)"
    R"("ip":"10.12.0.7","note":"call me at +1 415 555 0134 after 5"})";
const std::string kTopic = "devices/dev-0007/telemetry";

SchemaFieldSpec Field(std::string path, FieldType type, std::optional<double> min = {},
                      std::optional<double> max = {}) {
  SchemaFieldSpec f;
  f.path = std::move(path);
  f.type = type;
  f.required = true;
  f.min = min;
  f.max = max;
  return f;
}

tidegate::filters::PayloadSchema SimSchema(tidegate::OtherFields other) {
  tidegate::SchemaSpec spec{
      .name = "thermo",
      .version = 1,
      .match = "devices/+/telemetry",
      .fields = {Field("/device_id", FieldType::kString), Field("/msg_id", FieldType::kString),
                 Field("/ts", FieldType::kTimestamp), Field("/seq", FieldType::kInteger, 1),
                 Field("/temp", FieldType::kNumber, -40, 85),
                 Field("/humidity", FieldType::kNumber, 0, 100),
                 Field("/battery", FieldType::kInteger, 0, 100)},
      .other_fields = other};
  spec.fields[1].max_length = 16;
  return *tidegate::filters::PayloadSchema::Compile(spec);
}

void Run(benchmark::State& state, const tidegate::filters::PayloadSchema* schema) {
  const tidegate::EventsSection events;
  tidegate::filters::EventParser parser(events, 1 << 16);
  tidegate::Event event;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    auto reason = parser.Parse(kTopic, kPayload, 1, &event, schema);
    if (reason != tidegate::filters::DropReason::kNone) state.SkipWithError("refused");
    benchmark::DoNotOptimize(event.payload.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Parse(benchmark::State& state) { Run(state, nullptr); }
BENCHMARK(BM_Parse);

void BM_ParseSchema(benchmark::State& state) {
  const auto schema = SimSchema(tidegate::OtherFields::kKeep);
  Run(state, &schema);
}
BENCHMARK(BM_ParseSchema);

void BM_ParseSchemaDrop(benchmark::State& state) {
  const auto schema = SimSchema(tidegate::OtherFields::kDrop);
  Run(state, &schema);
}
BENCHMARK(BM_ParseSchemaDrop);

}  // namespace

BENCHMARK_MAIN();
