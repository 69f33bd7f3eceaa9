// SPDX-License-Identifier: Apache-2.0
// Fuzzes the restore of aggregation checkpoints (filters::Aggregator::Load), which reads the
// agg_state rows of buffer.db back at start: a corrupt or hostile database must not crash the
// agent or make it emit garbage. The input is a list of rows, each a key and a value in the
// buffer's own u32-length-prefixed form (common/byte_codec.h), as fuzz/seed_maker writes
// them from a real run. After Load, a few events go through Process. Invariants: no crash,
// no UB, no unbounded allocation; every row Load drops comes back as one erase change, and
// every window result emitted afterwards decodes.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/byte_codec.h"
#include "common/window_result.h"
#include "filters/aggregator.h"
#include "fuzz/agg_checkpoint_config.h"
#include "fuzz/fuzz_check.h"

using tidegate::ByteReader;
using tidegate::Event;
using tidegate::RecordKind;
using tidegate::filters::Aggregator;
using tidegate::filters::StateChange;
using tidegate::fuzz::CheckpointConfig;
using tidegate::fuzz::CheckpointEvent;
using tidegate::fuzz::kCheckpointNowMs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tidegate::Config kConfig = CheckpointConfig();
  ByteReader in(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<std::pair<std::string, std::string>> rows;
  std::string key, value;
  while (rows.size() < 1000 && in.GetString(&key) && in.GetString(&value)) {
    rows.emplace_back(key, value);
  }

  Aggregator aggregator(kConfig);
  std::vector<StateChange> cleanup;
  const size_t dropped = aggregator.Load(rows, kCheckpointNowMs, &cleanup);
  TG_FUZZ_CHECK(dropped <= rows.size() && dropped == cleanup.size());

  std::vector<Event> records;
  records.reserve(4);
  for (int i = 0; i < 4; ++i) {
    records.push_back(
        CheckpointEvent(i % 2 == 0 ? "dev-1" : "dev-2", int64_t{i} * 20'000, i * 1.5));
  }
  std::vector<StateChange> changes;
  std::map<std::string, int64_t> counters;
  aggregator.Process(records, kCheckpointNowMs + 120'000, &changes, &counters);
  for (const Event& e : records) {
    TG_FUZZ_CHECK(e.kind != RecordKind::kWindowResult ||
                  tidegate::DecodeWindowResult(e.payload).ok());
  }
  return 0;
}
