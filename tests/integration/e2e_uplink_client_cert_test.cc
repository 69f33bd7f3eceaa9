// SPDX-License-Identifier: Apache-2.0
// The uplink with a client certificate against a collector that requires one
// (`tidegate-collector serve --client-ca`), end to end with real TLS. SPEC: a batch is
// accepted only from a certificate whose identity (CN or SAN) equals its agent_id, 403
// otherwise. The test CA's client certificate has CN=tidegate-test-client, so an agent with
// that id may send; the same certificate under another agent id gets 403. Without a
// certificate, or with one from another CA, the TLS handshake is refused: the agent raises
// an alarm (log line and metric), keeps every batch, and delivers all of them once it is
// restarted with the right certificate.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kClientCn = "tidegate-test-client";  // CN of certs.client_cert

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

void Publish(E2eStack& stack, int count, uint64_t seed, std::vector<PublishedEvent>* published) {
  RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", "500", "--devices", "5",
                            "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> log = ReadPublishLog(stack.PublishLogPath());
  RequireOk(log.status());
  REQUIRE(log->size() == static_cast<size_t>(count));
  published->insert(published->end(), log->begin(), log->end());
}

// With a certificate the collector refuses: the alarm is raised, the batches stay buffered
// and none is dead-lettered or landed.
void CheckRefusedAndKept(E2eStack& stack, size_t events_buffered) {
  INFO(stack.Diagnostics());
  bool alarmed =
      WaitUntil([&] { return stack.Metric("tidegate_uplink_client_cert_refused_total") >= 2.0; },
                seconds(20), milliseconds(100));
  REQUIRE(alarmed);
  CHECK(stack.Metric("tidegate_uplink_client_cert_refused") == 1.0);
  CHECK(Contains(ReadFile(stack.AgentLogPath()), "ALARM the receiver at"));
  CHECK(Contains(ReadFile(stack.AgentLogPath()), "refused our client certificate"));
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);
  // The sim's acknowledgements come from the broker: the agent may still be ingesting.
  CHECK(WaitUntil(
      [&] {
        return stack.Metric("tidegate_buffer_events") == static_cast<double>(events_buffered);
      },
      seconds(20), milliseconds(50)));
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  CHECK(landed->empty());
}

TEST_CASE("uplink client certificates: refused ones alarm and lose nothing, the right one lands",
          "[integration][issue-10]") {
  E2eStack stack("uplink-client-cert");
  stack.mutable_options().agent_id = kClientCn;
  stack.mutable_options().collector_requires_client_cert = true;
  RequireOk(stack.Start(), &stack);  // no client certificate yet
  const uint64_t seed = TestSeed();
  std::vector<PublishedEvent> published;

  Publish(stack, 200, seed, &published);
  CheckRefusedAndKept(stack, 200);
  RequireOk(stack.StopAgent(), &stack);

  // A certificate with the right name from a CA the collector does not trust.
  stack.mutable_options().uplink_cert_file = stack.certs().untrusted_client_cert;
  stack.mutable_options().uplink_key_file = stack.certs().untrusted_client_key;
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartAgent(), &stack);
  Publish(stack, 100, seed + 1, &published);
  CheckRefusedAndKept(stack, 300);
  RequireOk(stack.StopAgent(), &stack);

  stack.mutable_options().uplink_cert_file = stack.certs().client_cert;
  stack.mutable_options().uplink_key_file = stack.certs().client_key;
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartAgent(), &stack);
  if (!stack.WaitForLanded(published.size(), seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  for (const LandedEvent& e : *landed) {
    if (e.agent_id != kClientCn) FAIL("landed with agent_id " << e.agent_id);
  }
  CHECK(stack.Metric("tidegate_uplink_client_cert_refused") == 0.0);
  RequireOk(stack.StopAgent(), &stack);
}

TEST_CASE("a client certificate naming another agent gets 403 from the collector",
          "[integration][issue-10]") {
  E2eStack stack("uplink-client-cert-other-agent");
  stack.mutable_options().agent_id = "another-gateway";
  stack.mutable_options().collector_requires_client_cert = true;
  RequireOk(stack.Prepare(), &stack);
  stack.mutable_options().uplink_cert_file = stack.certs().client_cert;
  stack.mutable_options().uplink_key_file = stack.certs().client_key;
  RequireOk(stack.StartBroker(), &stack);
  RequireOk(stack.StartAgent(), &stack);
  std::vector<PublishedEvent> published;
  Publish(stack, 50, TestSeed(), &published);

  INFO(stack.Diagnostics());
  // SPEC: a 4xx other than 408/429 dead-letters the batch, counted.
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_batches_rejected_total") >= 1.0; },
                    seconds(20), milliseconds(100)));
  CHECK(stack.Metric("tidegate_uplink_last_http_status") == 403.0);
  const std::string collector_log = ReadFile(stack.dir().File("collector.log"));
  CHECK(Contains(collector_log, "rejected batch"));  // the 403 itself: the metric above
  CHECK(Contains(collector_log, "does not name agent_id another-gateway"));
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  CHECK(landed->empty());
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
