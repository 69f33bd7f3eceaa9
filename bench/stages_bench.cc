// SPDX-License-Identifier: Apache-2.0
// Cost per event of the pipeline stages privacy_bench and aggregate_bench leave out, on the
// simulator's default events after the privacy rules of bench/run.sh: dedup (key hash and
// window lookup), staging (GroupCommitter::Add of 1,000 events), buffer commit
// (SqliteStore::Append of 1,000 events in one transaction, on disk), buffer read
// (SqliteStore::ReadRange of 1,000 events), batch encode (FlatBuffers + zstd level 1 of 1,000
// buffered events, BatchEncoder), compress (zstd level 1 of that FlatBuffer alone) and, on
// the collector's side, decode (zstd and FlatBuffers back to events: DecompressBatch and
// DecodeBatch, which verifies every string).
// bench/run.sh prints them, except staging and the read, with the others, as its per-stage
// table. Run: build/bin/stages_bench --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sodium.h>
#include <zstd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "filters/dedup_index.h"
#include "filters/dedup_key.h"
#include "filters/privacy_filter.h"
#include "schema/batch_view.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tools/sim/event_generator.h"
#include "uplink/batch_encoder.h"

namespace {

using tidegate::Event;
using tidegate::testing::TempDir;

// What dedup hashes: the default event after tokenize /user/email, encrypt /user/phone and
// mask /ip (the hash's cost depends on the length, not on the bytes).
const std::string kPayload =
    R"({"device_id":"dev-0010","msg_id":"b28adbf7f1fde1b0","ts":1795532327291,"seq":1,)"
    R"("temp":28.55,"humidity":68.7,"battery":65,"user":{"email":)"
    R"("tok:k1:3q2-7wAAAAB0ZXN0LXZhbHVlAA","phone":"enc:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)"
    R"(AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ip":"192.168.238.0",)"
    R"("note":"call me at +1 415 555 0134 after 5"})";
const std::string kTopic = "devices/dev-0010/telemetry";
constexpr int kGroup = 1'000;
constexpr uint64_t kSeed = 20261207;  // the simulator's events: fixed, so runs compare
constexpr size_t kPoolSize = 4'096;

// The events of bench/run.sh: the simulator's default events from 1,000 devices (every
// reading, id, name and number differs from event to event, as zstd sees them in the
// end-to-end run), after its privacy rules (tokenize /user/email, encrypt /user/phone, mask
// /ip). A payload repeated with one byte changed would compress many times better and
// cheaper than these.
std::vector<Event> MakePool() {
  if (sodium_init() < 0) std::abort();
  tidegate::PrivacySection privacy;
  tidegate::PrivacyRule rule;
  rule.match = "devices/+/telemetry";
  rule.tokenize = {"/user/email"};
  rule.encrypt = {"/user/phone"};
  rule.mask = {{"/ip", tidegate::MaskKind::kIpv4Prefix24}};
  privacy.rules = {rule};
  tidegate::schema::PublicKey pk{};
  tidegate::schema::SecretKey sk{};
  crypto_box_keypair(pk.data(), sk.data());
  const auto keys = tidegate::filters::TokenKeySet::Generate("k1");
  tidegate::testing::FakeClock clock(1'795'532'327'291);
  auto filter = tidegate::filters::PrivacyFilter::Create(privacy, &keys, pk, clock);
  if (!filter.ok()) std::abort();
  tidegate::sim::GeneratorOptions options;
  options.devices = 1'000;
  tidegate::sim::EventGenerator generator(options, kSeed, clock);
  std::vector<Event> pool(kPoolSize);
  for (Event& e : pool) {
    tidegate::sim::SimEvent sim = generator.Next();
    e.topic = sim.topic;
    e.device_id = tidegate::sim::DeviceId(sim.device);
    e.event_time_ms = sim.event_time_ms;
    e.ingest_time_ms = sim.event_time_ms + 3;
    if (!(*filter)->Apply(e.topic, sim.payload, &e.payload).rewritten) std::abort();
    clock.Advance(1);
  }
  return pool;
}

Event MakeEvent(int64_t i) {
  static const std::vector<Event> kPool = MakePool();
  return kPool[static_cast<size_t>(i) % kPoolSize];
}

// One group commit's worth of distinct events.
std::vector<Event> Group() {
  std::vector<Event> group;
  group.reserve(kGroup);
  for (int i = 0; i < kGroup; ++i) group.push_back(MakeEvent(i));
  return group;
}

// By content (no events.id), as the default config and the end-to-end benchmark's agent.
void BM_Dedup(benchmark::State& state) {
  tidegate::filters::DedupIndex index(tidegate::Millis(600'000));
  tidegate::filters::DedupHasher hasher(tidegate::filters::DedupHashKey{7});
  int64_t now = 0;
  int64_t expires = 0;
  uint64_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    const uint64_t key = hasher.Key("dev-0010", "", kTopic, kPayload) ^ ++i;
    benchmark::DoNotOptimize(index.SeenBefore(key, now += 1, &expires));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Dedup);

// The start's reload of the dedup window: 1,000,000 keys (the default bound) in expiry order
// into a fresh index sized once, as the agent does after reading dedup_chunks. Per key.
void BM_DedupRestore(benchmark::State& state) {
  constexpr size_t kKeys = tidegate::filters::DedupIndex::kDefaultMaxKeys;
  std::vector<std::pair<uint64_t, int64_t>> keys;
  keys.reserve(kKeys);
  // Keys as random as SipHash's (splitmix64): a multiple of i would hit the table in strides
  // the hardware prefetcher follows, and hide the cache misses of real keys.
  for (uint64_t i = 1; i <= kKeys; ++i) {
    uint64_t z = i * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    keys.emplace_back((z ^ (z >> 31)) | 1, static_cast<int64_t>(i));
  }
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    tidegate::filters::DedupIndex index(tidegate::Millis(600'000));
    index.Load(keys);
    benchmark::DoNotOptimize(index.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kKeys));
}
BENCHMARK(BM_DedupRestore)->Unit(benchmark::kMillisecond);

// A buffer in dir, or null with the benchmark marked skipped.
std::unique_ptr<tidegate::buffer::SqliteStore> OpenBuffer(const TempDir& dir,
                                                          benchmark::State& state) {
  auto store = tidegate::buffer::SqliteStore::Open({.state_dir = dir.path()});
  if (!store.ok()) {
    state.SkipWithError("cannot open the buffer");
    return nullptr;
  }
  return std::move(*store);
}

// The batch of group as buffered from first_seq on (an empty buffer numbers from 1).
tidegate::buffer::BatchRange Buffered(const std::vector<Event>& group, uint64_t first_seq) {
  return {.batch_id = "bench-" + std::to_string(first_seq),
          .priority = group.front().priority,
          .first_seq = first_seq,
          .last_seq = first_seq + group.size() - 1,
          .count = static_cast<uint32_t>(group.size()),
          .created_at_ms = 0};
}

void BM_BufferCommit(benchmark::State& state) {
  const TempDir dir;
  const auto store = OpenBuffer(dir, state);
  if (store == nullptr) return;
  std::vector<Event> group = Group();
  tidegate::Rng rng(7);
  int64_t expires = 1'800'000'000'000;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    // Each event's dedup key is recorded with it, as the agent's default dedup.window does: a
    // fresh random key (never 0) per event, expiring later each commit.
    for (Event& e : group) {
      e.dedup_key = rng.Next() | 1;
      e.dedup_expires_ms = expires;
    }
    ++expires;
    if (!store->Append(group, {}, {}).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
}
BENCHMARK(BM_BufferCommit)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The aggregation's checkpoint in a commit: SqliteStore::Append of range(0) window-state
// writes and nothing else, as the writer adds to a commit after the events it aggregated.
// Rows as bench/run.sh leaves them: a key per device and window (~42 bytes) and a value of
// ~290 bytes; 1,000 devices, and each commit writes the next range(0) of them (the bench's
// 1,000 writes per 50 ms commit at QoS 0; 100 at a quieter gateway's rate). items: writes.
void BM_StateCheckpoint(benchmark::State& state) {
  const TempDir dir;
  const auto store = OpenBuffer(dir, state);
  if (store == nullptr) return;
  const auto writes = static_cast<size_t>(state.range(0));
  constexpr size_t kDevices = 1'000;
  // The commits of one round over the devices, built beforehand (random values: they do not
  // compress or repeat).
  std::vector<std::vector<tidegate::buffer::StateWrite>> commits(kDevices / writes);
  tidegate::Rng rng(11);
  for (size_t i = 0; i < kDevices; ++i) {
    std::string value(290, '\0');
    for (char& c : value) c = static_cast<char>(rng.Uniform(256));
    commits[i / writes].push_back(
        {.key = fmt::format("w|12:telemetry_1m|8:dev-{:04}|1796663580000", i), .value = value});
  }
  size_t next = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    if (!store->Append({}, {}, {}, {}, commits[next]).ok()) state.SkipWithError("append failed");
    next = (next + 1) % commits.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(writes));
}
BENCHMARK(BM_StateCheckpoint)->Arg(100)->Arg(1'000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The ingest thread's hand-off to the writer: GroupCommitter::Add of 1,000 events (staging
// only: their commit runs with the timer paused).
void BM_Stage(benchmark::State& state) {
  const TempDir dir;
  const auto store = OpenBuffer(dir, state);
  if (store == nullptr) return;
  tidegate::buffer::GroupCommitter committer(*store,
                                             {.commit_interval = tidegate::Millis(3'600'000)});
  std::vector<Event> group;
  int64_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    state.PauseTiming();
    group.clear();
    for (int k = 0; k < kGroup; ++k) group.push_back(MakeEvent(i++));
    state.ResumeTiming();
    for (Event& e : group) committer.Add(std::move(e));
    state.PauseTiming();
    if (!committer.Flush(tidegate::Millis(10'000)).ok()) state.SkipWithError("commit failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
}
// Fixed iterations: each one also commits (untimed, ~3 ms), which a timed 0.5 s would multiply.
BENCHMARK(BM_Stage)->Iterations(300)->Unit(benchmark::kMicrosecond);

// The uplink's read of one batch: SqliteStore::ReadRange of 1,000 buffered events (a warm
// page cache, as while draining) into one vector kept across reads, as the uplink does.
void BM_BufferRead(benchmark::State& state) {
  const TempDir dir;
  const auto store = OpenBuffer(dir, state);
  const std::vector<Event> group = Group();
  if (store == nullptr) return;
  if (!store->Append(group, {}, {}).ok()) {
    state.SkipWithError("cannot fill the buffer");
    return;
  }
  const tidegate::buffer::BatchRange range = Buffered(group, 1);
  std::vector<tidegate::buffer::BufferedRecord> rows;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    if (!store->ReadRange(range, &rows).ok() || rows.size() != kGroup) {
      state.SkipWithError("read failed");
    }
    benchmark::DoNotOptimize(rows.data());
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
}
BENCHMARK(BM_BufferRead)->Unit(benchmark::kMicrosecond);

// The uplink's acknowledgement of one batch: SqliteStore::Ack of 1,000 buffered events (their
// rows deleted, and with secure_delete overwritten, in one transaction). Each iteration first
// appends the 1,000 events it then acknowledges, untimed.
void BM_BufferAck(benchmark::State& state) {
  const TempDir dir;
  const auto store = OpenBuffer(dir, state);
  if (store == nullptr) return;
  const std::vector<Event> group = Group();
  uint64_t next_seq = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    state.PauseTiming();
    if (!store->Append(group, {}, {}).ok()) state.SkipWithError("append failed");
    const tidegate::buffer::BatchRange range = Buffered(group, next_seq);
    next_seq += kGroup;
    state.ResumeTiming();
    if (!store->Ack(range).ok()) state.SkipWithError("ack failed");
  }
  auto stats = store->Stats();
  if (!stats.ok() || stats->records != 0) state.SkipWithError("rows left after their acks");
  state.SetItemsProcessed(state.iterations() * kGroup);
}
BENCHMARK(BM_BufferAck)->Iterations(300)->Unit(benchmark::kMicrosecond);

// The drain's buffer work: a backlog of 100,000 events read (ReadNext), recorded in flight
// and acknowledged 1,000 at a time until the buffer is empty, as the uplink does after an
// outage (without encoding or sending). The backlog is built with the timer paused. items:
// events drained.
void BM_BufferDrain(benchmark::State& state) {
  constexpr int kBacklogGroups = 100;
  const std::vector<Event> group = Group();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    state.PauseTiming();
    auto dir = std::make_unique<TempDir>();  // removed untimed, below
    auto store = OpenBuffer(*dir, state);
    if (store == nullptr) return;
    for (int i = 0; i < kBacklogGroups; ++i) {
      if (!store->Append(group, {}, {}).ok()) state.SkipWithError("append failed");
    }
    std::vector<tidegate::buffer::BufferedRecord> rows;
    int batch = 0;
    state.ResumeTiming();
    while (true) {
      if (!store->ReadNext(kGroup, size_t{64} << 20, &rows).ok()) state.SkipWithError("read");
      if (rows.empty()) break;
      const tidegate::buffer::BatchRange range{.batch_id = "drain-" + std::to_string(batch++),
                                               .priority = rows.front().event.priority,
                                               .first_seq = rows.front().seq,
                                               .last_seq = rows.back().seq,
                                               .count = static_cast<uint32_t>(rows.size()),
                                               .created_at_ms = 0};
      if (!store->MarkInflight(range).ok() || !store->Ack(range).ok()) {
        state.SkipWithError("ack failed");
      }
    }
    state.PauseTiming();
    if (batch != kBacklogGroups) state.SkipWithError("drained another number of batches");
    store.reset();
    dir.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBacklogGroups * kGroup);
}
BENCHMARK(BM_BufferDrain)->Iterations(5)->Unit(benchmark::kMillisecond);

std::vector<tidegate::buffer::BufferedRecord> Records() {
  std::vector<tidegate::buffer::BufferedRecord> records;
  records.reserve(kGroup);
  for (int i = 0; i < kGroup; ++i) {
    records.push_back({.seq = static_cast<uint64_t>(i + 1), .event = MakeEvent(i)});
  }
  return records;
}

tidegate::buffer::BatchRange Range() {
  return {.batch_id = "bench-1-1000",
          .priority = 5,
          .first_seq = 1,
          .last_seq = kGroup,
          .count = kGroup,
          .created_at_ms = 1'795'532'327'291};
}

void BM_BatchEncode(benchmark::State& state) {
  tidegate::uplink::BatchEncoder encoder("bench", 1);
  const auto records = Records();
  const auto range = Range();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    benchmark::DoNotOptimize(encoder.Encode(range, records));
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
}
BENCHMARK(BM_BatchEncode)->Unit(benchmark::kMicrosecond);

void BM_Compress(benchmark::State& state) {
  tidegate::uplink::BatchEncoder encoder("bench", 1);
  auto encoded = encoder.Encode(Range(), Records());
  const std::string flat(encoder.last_flatbuffer());
  std::string out(ZSTD_compressBound(flat.size()), '\0');
  size_t size = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    size = ZSTD_compress(out.data(), out.size(), flat.data(), flat.size(), 1);
    benchmark::DoNotOptimize(size);
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
  state.counters["ratio"] = static_cast<double>(flat.size()) / static_cast<double>(size);
}
BENCHMARK(BM_Compress)->Unit(benchmark::kMicrosecond);

void BM_BatchDecode(benchmark::State& state) {
  tidegate::uplink::BatchEncoder encoder("bench", 1);
  auto encoded = encoder.Encode(Range(), Records());
  if (!encoded.ok()) {
    state.SkipWithError("encode failed");
    return;
  }
  const std::string body = encoded->body;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    auto flat = tidegate::schema::DecompressBatch(body, 64 << 20, nullptr);
    if (!flat.ok()) {
      state.SkipWithError("decompress failed");
      return;
    }
    auto batch = tidegate::schema::DecodeBatch(*flat);
    if (!batch.ok() || batch->events.size() != kGroup) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
}
BENCHMARK(BM_BatchDecode)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
