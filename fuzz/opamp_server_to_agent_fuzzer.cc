// SPDX-License-Identifier: Apache-2.0
// Fuzzes the agent's decode of a ServerToAgent (remote/opamp/opamp_session.h), the bytes an
// OpAMP server (or whoever answers on remote_config.url) sends back. Invariants: no crash;
// bytes over the bound or that do not parse are refused with kCorruption and change
// nothing; the handler only ever sees a bundle within max_bundle_bytes, at most once per
// config_hash; and the next AgentToServer still builds and parses, with sequence_num + 1.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "remote/opamp/opamp.pb.h"
#include "remote/opamp/opamp_session.h"

namespace {

using tidegate::remote::ApplyOutcome;
using namespace tidegate::remote::opamp;

constexpr size_t kMaxBundle = 512;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  int calls = 0;
  OpampSession session(
      SessionOptions{.instance_uid = std::string(16, '\1'),
                     .agent_id = "gw-fuzz",
                     .agent_version = "0",
                     .start_time_unix_ms = 0,
                     .max_response_bytes = 64 << 10,
                     .max_bundle_bytes = kMaxBundle},
      [&](std::string_view bundle) {
        ++calls;
        TG_FUZZ_CHECK(bundle.size() <= kMaxBundle);
        return ApplyOutcome{.state = bundle.size() % 2 == 0 ? ApplyOutcome::State::kApplied
                                                            : ApplyOutcome::State::kFailed,
                            .reason = std::string(bundle.substr(0, 8)),
                            .version = 0,
                            .bundle_hash = {}};
      },
      [] { return std::string("a: 1\n"); }, [] { return HealthReport{.healthy = true}; });
  static_cast<void>(session.BuildRequest());
  const RemoteConfigReport before = session.remote_config_report();
  auto first = session.HandleResponse(input);
  if (!first.ok()) {
    TG_FUZZ_CHECK(first.status().code() == tidegate::StatusCode::kCorruption);
    TG_FUZZ_CHECK(session.remote_config_report() == before);
    TG_FUZZ_CHECK(calls == 0);
  }
  // The same answer again: the same config_hash is never handed over twice.
  const int after_first = calls;
  auto second = session.HandleResponse(input);
  TG_FUZZ_CHECK(second.ok() == first.ok());
  TG_FUZZ_CHECK(calls == after_first);
  TG_FUZZ_CHECK(calls <= 1);

  ::opamp::proto::AgentToServer next;
  TG_FUZZ_CHECK(next.ParseFromString(session.BuildRequest()));
  TG_FUZZ_CHECK(next.sequence_num() == 2);
  TG_FUZZ_CHECK(next.instance_uid().size() == 16);
  return 0;
}
