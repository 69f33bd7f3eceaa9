// SPDX-License-Identifier: Apache-2.0
// FakePoster: an HttpPoster for tests that records every body it is given and answers from
// a queue of replies (default: 200 with an empty ServerToAgent).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "remote/opamp/http_poster.h"

namespace tidegate::remote::opamp::testing {

struct FakePosterState {
  std::vector<std::string> bodies;
  std::deque<Result<PostReply>> replies;
};

class FakePoster final : public HttpPoster {
 public:
  explicit FakePoster(std::shared_ptr<FakePosterState> state) : state_(std::move(state)) {}
  Result<PostReply> Post(std::string_view body) override {
    state_->bodies.emplace_back(body);
    if (state_->replies.empty()) return PostReply{.http_status = 200, .body = {}};
    Result<PostReply> reply = std::move(state_->replies.front());
    state_->replies.pop_front();
    return reply;
  }

 private:
  std::shared_ptr<FakePosterState> state_;
};

}  // namespace tidegate::remote::opamp::testing
