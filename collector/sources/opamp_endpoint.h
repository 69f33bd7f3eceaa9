// SPDX-License-Identifier: Apache-2.0
// OpampEndpoint: the collector's answer on POST /v1/opamp (serve --config-dir DIR), the
// server side of OpAMP over plain HTTP for tidegate agents. It decodes an AgentToServer
// (untrusted, bounded), records what the agent reports in the store's agents table
// (merging a delta message into the last full state), and answers a ServerToAgent that
// offers DIR/<agent_id>.json, else DIR/all.json, as-is as the remote config (content type
// application/vnd.tidegate.config-bundle+json, config_hash = SHA-256 of the bytes), omitted
// when the agent already reports that hash as applied or failed. Missing state (an unknown
// instance sending a delta, or a sequence_num gap) is answered with ReportFullState.
// Thread-safe: called from httplib's pool (the store is thread-safe).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "collector/sources/batch_endpoint.h"
#include "collector/store/landing_store.h"
#include "common/clock.h"

namespace opamp::proto {
class ServerToAgent;
}  // namespace opamp::proto

namespace tidegate::collector {

inline constexpr char kOpampContentType[] = "application/x-protobuf";

struct OpampEndpointOptions {
  std::string config_dir = {};          // bundles: <agent_id>.json, all.json
  size_t max_body_bytes = 1 << 20;      // larger AgentToServer: 413
  size_t max_bundle_bytes = 256 << 10;  // larger bundle file: not offered (logged)
};

class OpampEndpoint {
 public:
  // `store` and `clock` must outlive the endpoint.
  OpampEndpoint(LandingStore& store, Clock& clock, OpampEndpointOptions options);

  // 200 with a ServerToAgent; 415 wrong Content-Type; 413 body too large; 400 undecodable or
  // an instance_uid that is not 16 bytes or an agent id that cannot name a file; 403 an agent
  // id the client certificate does not name (with --client-ca); 500 store error.
  // client_identities: the verified client certificate's names, null without --client-ca.
  HttpReply Handle(std::string_view content_type, std::string_view body,
                   const std::vector<std::string>* client_identities = nullptr);

 private:
  // Adds DIR/<id>.json or DIR/all.json as remote config unless the agent reports its hash
  // as applied or failed.
  void OfferBundle(const AgentRecord& record, ::opamp::proto::ServerToAgent* reply);

  LandingStore& store_;
  Clock& clock_;
  const OpampEndpointOptions options_;
};

// True for an agent id usable as a file name in --config-dir: 1 to 128 of [A-Za-z0-9._-],
// not starting with '.'.
bool IsSafeAgentId(std::string_view id);

}  // namespace tidegate::collector
