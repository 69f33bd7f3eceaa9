// SPDX-License-Identifier: Apache-2.0
// Cost of the ingest stages per event on the simulator's default event (3 PII fields plus
// free text): parse+validate alone (the baseline), parse + privacy, and the whole in-process
// ingest path (parse, privacy, group commit into a real SQLite buffer on disk) with and
// without privacy rules, reported as events/s. Run: build/bin/privacy_bench
// --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "filters/event_parser.h"
#include "filters/privacy_filter.h"

namespace {

using tidegate::Event;
using tidegate::PrivacyRule;

// The shape tidegate-sim publishes with --pii (its default).
const std::string kPayload =
    R"({"device_id":"dev-0010","msg_id":"b28adbf7f1fde1b0","ts":1795532327291,"seq":1,)"
    R"("temp":28.55,"humidity":68.7,"battery":65,"user":{"email":)"
    R"("sofia.garcia@eu.mail.example.net","phone":"020 7946 0294"},"ip":"192.168.238.244",)"
    R"("note":"call me at +1 415 555 0134 after 5"})";
const std::string kTopic = "devices/dev-0010/telemetry";

tidegate::PrivacySection SimRules(bool encrypt) {
  tidegate::PrivacySection privacy;
  PrivacyRule rule;
  rule.match = "devices/+/telemetry";
  rule.tokenize = {"/user/email"};
  (encrypt ? rule.encrypt : rule.tokenize).emplace_back("/user/phone");
  rule.mask = {{"/ip", tidegate::MaskKind::kIpv4Prefix24}};
  rule.scrub = {"/note"};
  privacy.rules = {rule};
  return privacy;
}

struct Privacy {
  explicit Privacy(bool encrypt) : config(SimRules(encrypt)) {
    crypto_box_keypair(pk.data(), sk.data());
    filter = std::move(
                 tidegate::filters::PrivacyFilter::Create(config, &keys, pk, tidegate::RealClock()))
                 .value();
  }
  tidegate::PrivacySection config;
  tidegate::filters::TokenKeySet keys = tidegate::filters::TokenKeySet::Generate("k1");
  tidegate::schema::PublicKey pk{};
  tidegate::schema::SecretKey sk{};
  std::unique_ptr<tidegate::filters::PrivacyFilter> filter;
};

void BM_Parse(benchmark::State& state) {
  tidegate::EventsSection events;
  tidegate::filters::EventParser parser(events, 65536);
  Event event;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    benchmark::DoNotOptimize(parser.Parse(kTopic, kPayload, 1, &event));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Parse);

void BM_ParseAndPrivacy(benchmark::State& state) {
  tidegate::EventsSection events;
  tidegate::filters::EventParser parser(events, 65536);
  Privacy privacy(state.range(0) != 0);
  Event event;
  std::string out;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    benchmark::DoNotOptimize(parser.Parse(kTopic, kPayload, 1, &event));
    benchmark::DoNotOptimize(privacy.filter->Apply(kTopic, event.payload, &out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndPrivacy)->Arg(0)->Arg(1)->ArgName("encrypt_phone");

// Privacy alone (tokenize, mask, scrub; no encryption) over this many device topics in turn:
// the per-topic plan lookup, and what happens past the filter's topic cache (4,096 topics).
void BM_PrivacyTopics(benchmark::State& state) {
  tidegate::EventsSection events;
  tidegate::filters::EventParser parser(events, 65536);
  Privacy privacy(false);
  Event event;
  (void)parser.Parse(kTopic, kPayload, 1, &event);
  std::vector<std::string> topics;
  for (int64_t i = 0; i < state.range(0); ++i) {
    topics.push_back("devices/dev-" + std::to_string(i) + "/telemetry");
  }
  std::string out;
  size_t next = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    benchmark::DoNotOptimize(privacy.filter->Apply(topics[next], event.payload, &out));
    next = next + 1 == topics.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrivacyTopics)->Arg(1)->Arg(1'000)->Arg(10'000)->ArgName("topics");

// The in-process ingest path into a real buffer: what the MQTT callback does per event.
void BM_IngestToBuffer(benchmark::State& state) {
  std::string dir = std::filesystem::temp_directory_path() / "tg-bench-XXXXXX";
  dir = mkdtemp(dir.data());
  auto store = tidegate::buffer::SqliteStore::Open({.state_dir = dir, .sync = {}});
  tidegate::buffer::GroupCommitter committer(
      **store, {.commit_interval = tidegate::Millis(50), .max_staged_bytes = 8 << 20});
  tidegate::EventsSection events;
  tidegate::filters::EventParser parser(events, 65536);
  std::optional<Privacy> privacy;
  if (state.range(0)) privacy.emplace(false);
  Event event;
  std::string out;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    (void)parser.Parse(kTopic, kPayload, 1, &event);
    if (privacy) {
      auto result = privacy->filter->Apply(kTopic, event.payload, &out);
      if (result.rewritten) event.payload.swap(out);
    }
    Event staged = event;
    committer.Add(std::move(staged));
  }
  (void)committer.Flush(tidegate::Millis(60'000));
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngestToBuffer)->Arg(0)->Arg(1)->ArgName("privacy")->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
