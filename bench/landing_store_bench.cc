// SPDX-License-Identifier: Apache-2.0
// landing_store_bench: batches/s and events/s landed into the collector's SQLite store and
// into its PostgreSQL store (a throw-away local PostgreSQL 15 from
// tests/support/postgres_server.h, unix socket, fsync=off; SQLite in a temporary directory,
// WAL, synchronous=NORMAL) for the same decoded batches, landed one after another from one
// thread. Each store is measured RUNS times on a fresh database; the median is printed.
//   landing_store_bench [BATCHES [EVENTS_PER_BATCH [RUNS]]]   (default 300 500 3)
// Decoding is done before timing: only Land() is measured.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/store/postgres_landing_store.h"
#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "common/clock.h"
#include "schema/batch_view.h"
#include "tests/support/postgres_server.h"

namespace tidegate::collector {
namespace {

double LandAll(LandingStore& store, const std::vector<schema::DecodedBatch>& batches) {
  auto start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) {
    auto outcome = store.Land(batch);
    if (!outcome.ok() || outcome->duplicate) {
      fmt::print(stderr, "land failed: {}\n", outcome.status().ToString());
      std::exit(1);  // NOLINT(concurrency-mt-unsafe): single-threaded tool
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  int batches = argc > 1 ? std::atoi(argv[1]) : 300;    // NOLINT(cert-err34-c)
  int per_batch = argc > 2 ? std::atoi(argv[2]) : 500;  // NOLINT(cert-err34-c)
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;         // NOLINT(cert-err34-c)
  if (batches < 1 || per_batch < 1 || runs < 1) {
    fmt::print(stderr, "usage: landing_store_bench [BATCHES [EVENTS_PER_BATCH [RUNS]]]\n");
    return 2;
  }
  std::vector<schema::DecodedBatch> decoded;
  for (int i = 0; i < batches; ++i) {
    testing::TestBatch spec;
    spec.batch_id = fmt::format("gw-01-{}", i);
    spec.first_seq = 1 + static_cast<uint64_t>(i) * static_cast<uint64_t>(per_batch);
    spec.events = static_cast<uint32_t>(per_batch);
    spec.windows = {testing::TestWindow{.group_key = fmt::format("dev-{}", i % 10),
                                        .revision = static_cast<uint32_t>(i)}};
    auto batch = schema::DecodeBatch(testing::BuildBatch(spec));
    if (!batch.ok()) return 1;
    decoded.push_back(std::move(batch).value());
  }
  std::vector<double> sqlite_s;
  std::vector<double> pg_s;
  for (int run = 0; run < runs; ++run) {
    {
      testing::ScratchDir dir;
      auto store = SqliteLandingStore::Open(dir.path(), RealClock());
      if (!store.ok()) return 1;
      sqlite_s.push_back(LandAll(**store, decoded));
    }
    auto url = tidegate::testing::FreshPostgresDatabase();
    if (!url.ok()) {
      fmt::print(stderr, "{}\n", url.status().ToString());
      return 1;
    }
    auto store = PostgresLandingStore::Open(*url, RealClock());
    if (!store.ok()) return 1;
    pg_s.push_back(LandAll(**store, decoded));
  }
  const double events = static_cast<double>(batches) * per_batch;
  for (const auto& [name, times] : {std::pair{"sqlite", sqlite_s}, std::pair{"postgres", pg_s}}) {
    double s = Median(times);
    fmt::print(
        "{:<9} {} batches x {} events, median of {}: {:.3f} s, {:.0f} batches/s, {:.0f} "
        "events/s\n",
        name, batches, per_batch, runs, s, batches / s, events / s);
  }
  return 0;
}

}  // namespace
}  // namespace tidegate::collector

int main(int argc, char** argv) { return tidegate::collector::Main(argc, argv); }
