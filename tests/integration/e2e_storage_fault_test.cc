// SPDX-License-Identifier: Apache-2.0
// End to end through storage faults, real parts only. Disk full mid-run: the agent's file
// size limit (RLIMIT_FSIZE, set on the running agent with prlimit(2), which any Debian 12
// machine has and which needs no mount or root) is lowered below its WAL, so every write
// past it fails like a full disk (EFBIG; the agent ignores SIGXFSZ); the agent must stay up,
// report it on /metrics and /readyz (while /healthz, liveness, stays 200), pause ingest, and once
// the limit is raised again land everything (published = landed). A garbage or truncated database
// at start is quarantined (kept as buffer.db.corrupt-*), counted on /metrics, and events flow into
// a fresh one.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Status LimitFileSize(int pid, rlim_t bytes) {
  rlimit limit{};
  if (::prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) != 0) return IOError("prlimit get");
  limit.rlim_cur = std::min(bytes, limit.rlim_max);
  if (::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) != 0) return IOError("prlimit set");
  return Status::Ok();
}

// The status of GET path (/healthz or /readyz); false if the agent did not answer.
bool Probe(E2eStack& stack, const std::string& path, int* status) {
  Result<HttpResponse> r = HttpGet(stack.metrics_port(), path);
  if (!r.ok()) return false;
  *status = r->status;
  return true;
}

DeliveryReport LandAll(E2eStack& stack, size_t expected) {
  Result<int> sim = stack.WaitSim(seconds(60));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == expected);
  if (!stack.WaitForLanded(expected, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  if (!stack.WaitForDrained(seconds(30))) FAIL("buffer not drained\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  return CompareByMsgId(*published, *landed);
}

TEST_CASE("disk full mid-run pauses ingest with an alarm and loses nothing once space returns",
          "[integration]") {
  E2eStack stack("e2e-disk-full");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  RequireOk(stack.StartSim({"--count", "8000", "--rate", "1000", "--devices", "20", "--seed",
                            std::to_string(seed)}),
            &stack);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_received_total").value_or(0) >= 1000; },
                    seconds(20), milliseconds(50)));
  // No file of the agent may grow past 16 KiB now: the WAL is already longer.
  RequireOk(LimitFileSize(stack.AgentPid(), 16 << 10), &stack);
  bool failing = WaitUntil([&] { return stack.Metric("tidegate_buffer_healthy").value_or(1) == 0; },
                           seconds(20), milliseconds(50));
  if (!failing) FAIL("the agent never reported the fault\n" << stack.Diagnostics());
  int health = 0;
  int ready = 0;
  CHECK(Probe(stack, "/readyz", &ready));
  CHECK(ready == 503);
  CHECK(Probe(stack, "/healthz", &health));
  CHECK(health == 200);
  std::this_thread::sleep_for(seconds(3));
  const double failures = stack.Metric("tidegate_commit_failures_total").value_or(0);
  const double received_during = stack.Metric("tidegate_received_total").value_or(0);
  CHECK(stack.AgentRunning());
  CHECK(failures > 0);
  RequireOk(LimitFileSize(stack.AgentPid(), RLIM_INFINITY), &stack);
  bool recovered =
      WaitUntil([&] { return stack.Metric("tidegate_buffer_healthy").value_or(0) == 1; },
                seconds(20), milliseconds(50));
  if (!recovered) FAIL("the agent did not recover\n" << stack.Diagnostics());
  CHECK(Probe(stack, "/readyz", &ready));
  CHECK(ready == 200);
  CHECK(Probe(stack, "/healthz", &health));
  CHECK(health == 200);

  DeliveryReport report = LandAll(stack, 8000);
  std::fprintf(stderr,
               "e2e disk full: published 8000, landed %zu, missing %zu, duplicated %zu; commit "
               "failures %.0f, received while failing %.0f\n",
               report.landed, report.missing, report.duplicated, failures, received_during);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(stack.Metric("tidegate_dropped_total{reason=\"buffer_full\"}").value_or(-1) == 0);
}

namespace {

// Fills the buffer with the receiver away, so the file has many pages, then cuts it in half.
void FillThenTruncate(E2eStack& stack, const std::string& db, uint64_t seed) {
  RequireOk(stack.StopCollector(), &stack);
  RequireOk(stack.StartSim({"--count", "3000", "--rate", "3000", "--seed", std::to_string(seed)}),
            &stack);
  REQUIRE(*stack.WaitSim(seconds(30)) == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_buffer_records").value_or(0) >= 3000; },
                    seconds(20), milliseconds(50)));
  RequireOk(stack.StopAgent(), &stack);
  std::filesystem::resize_file(db, std::filesystem::file_size(db) / 2 + 100);
}

void OverwriteWithGarbage(E2eStack& stack, const std::string& db) {
  RequireOk(stack.StopAgent(), &stack);
  RequireOk(WriteFile(db, std::string(20000, 'G')), &stack);
  std::error_code ec;
  std::filesystem::remove(db + "-wal", ec);
}

// Quarantined databases in state_dir, without their -wal and -shm companions.
size_t CountCorruptFiles(const std::string& state_dir) {
  size_t corrupt_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("buffer.db.corrupt-", 0) == 0 && name.find("-wal") == std::string::npos &&
        name.find("-shm") == std::string::npos) {
      ++corrupt_files;
    }
  }
  return corrupt_files;
}

}  // namespace

TEST_CASE("a corrupt database at start is quarantined, alarmed, and events then flow",
          "[integration]") {
  const std::string kind = GENERATE(std::string("garbage"), std::string("truncated"));
  E2eStack stack("e2e-corrupt-" + kind);
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  const std::string db = stack.StateDir() + "/buffer.db";
  if (kind == "truncated") {
    FillThenTruncate(stack, db, seed);
  } else {
    OverwriteWithGarbage(stack, db);
  }
  RequireOk(stack.StartAgent(), &stack);
  if (kind == "truncated") RequireOk(stack.StartCollector(), &stack);
  CHECK(stack.Metric("tidegate_buffer_quarantined_total").value_or(0) == 1);
  const size_t corrupt_files = CountCorruptFiles(stack.StateDir());
  CHECK(corrupt_files == 1);
  CHECK(ReadFile(stack.AgentLogPath()).find("is corrupt") != std::string::npos);

  RequireOk(
      stack.StartSim({"--count", "2000", "--rate", "2000", "--seed", std::to_string(seed + 7)}),
      &stack);
  DeliveryReport report = LandAll(stack, 2000);
  std::fprintf(stderr, "e2e corrupt (%s): quarantined %zu file, then published 2000, landed %zu\n",
               kind.c_str(), corrupt_files, report.landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
}

}  // namespace
}  // namespace tidegate::testing
