// SPDX-License-Identifier: Apache-2.0
#include "agent/dedup_restore.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tidegate::agent {
namespace {

constexpr size_t kRun = 1024;  // keys handed to the index at a time

}  // namespace

Status RestoreDedupWindow(buffer::SqliteStore& store, IngestPipeline& pipeline) {
  pipeline.ReserveDedupKeys(static_cast<size_t>(std::max<int64_t>(store.DedupKeyRows(), 0)));
  std::vector<std::pair<uint64_t, int64_t>> run;
  run.reserve(kRun);
  Status status = store.ForEachDedupKey(store.age_clock().Now().age_ms,
                                        [&run, &pipeline](uint64_t key, int64_t expires) {
                                          run.emplace_back(key, expires);
                                          if (run.size() == kRun) {
                                            pipeline.RestoreDedupKeys(run);
                                            run.clear();
                                          }
                                        });
  pipeline.RestoreDedupKeys(run);  // what was read, also after an error
  return status;
}

}  // namespace tidegate::agent
