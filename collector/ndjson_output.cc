// SPDX-License-Identifier: Apache-2.0
#include "collector/ndjson_output.h"

#include <fmt/format.h>

#include <memory>

#include "collector/exit_codes.h"
#include "collector/store/open_landing_store.h"
#include "common/clock.h"
#include "common/json_escape.h"

namespace tidegate::collector {

void AppendJsonField(std::string* out, std::string_view key, std::string_view text) {
  AppendJsonString(out, key);
  out->push_back(':');
  AppendJsonString(out, text);
}

int PrintStoreNdjson(const std::string& store, std::string_view command, std::FILE* out,
                     std::FILE* err,
                     const std::function<Status(LandingStore&, const LineSink&)>& each) {
  Result<std::unique_ptr<LandingStore>> opened = OpenLandingStore(store, RealClock(), true);
  if (!opened.ok()) {
    fmt::print(err, "tidegate-collector: {}: {}\n", command, opened.status().ToString());
    return kExitFailure;
  }
  const LineSink write = [out](const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return IOError("writing to stdout failed");
    }
    return Status::Ok();
  };
  Status s = each(**opened, write);
  if (s.ok() && std::fflush(out) != 0) s = IOError("writing to stdout failed");
  if (!s.ok()) {
    fmt::print(err, "tidegate-collector: {}: {}\n", command, s.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace tidegate::collector
