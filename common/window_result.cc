// SPDX-License-Identifier: Apache-2.0
#include "common/window_result.h"

#include "common/byte_codec.h"

namespace tidegate {
namespace {

constexpr uint8_t kVersion = 1;

}  // namespace

std::string EncodeWindowResult(const WindowResult& r) {
  std::string out;
  out.reserve(64 + r.measures.size() * 96);
  ByteWriter w(&out);
  w.Put<uint8_t>(kVersion);
  w.PutString(r.name);
  w.PutString(r.group_key);
  w.Put<int64_t>(r.window_start);
  w.Put<int64_t>(r.window_end);
  w.Put<uint32_t>(r.revision);
  w.Put<uint8_t>(r.final ? 1 : 0);
  w.Put<uint32_t>(static_cast<uint32_t>(r.measures.size()));
  for (const MeasureResult& m : r.measures) {
    w.PutString(m.field);
    w.Put<uint32_t>(static_cast<uint32_t>(m.stats.size()));
    for (const auto& [name, value] : m.stats) {
      w.PutString(name);
      w.Put<double>(value);
    }
  }
  return out;
}

Result<WindowResult> DecodeWindowResult(std::string_view bytes) {
  ByteReader in(bytes);
  WindowResult r;
  uint8_t version = 0;
  uint8_t final = 0;
  uint32_t n_measures = 0;
  if (!in.Get(&version) || version != kVersion) {
    return Corruption("window result record: unknown version");
  }
  if (!in.GetString(&r.name) || !in.GetString(&r.group_key) || !in.Get(&r.window_start) ||
      !in.Get(&r.window_end) || !in.Get(&r.revision) || !in.Get(&final) || !in.Get(&n_measures)) {
    return Corruption("window result record: truncated header");
  }
  r.final = final != 0;
  // Each measure takes at least 8 bytes: a count cannot exceed what is left.
  if (n_measures > in.left() / 8) return Corruption("window result record: bad count");
  r.measures.resize(n_measures);
  for (MeasureResult& m : r.measures) {
    uint32_t n_stats = 0;
    if (!in.GetString(&m.field) || !in.Get(&n_stats) || n_stats > in.left() / 12) {
      return Corruption("window result record: truncated measure");
    }
    m.stats.resize(n_stats);
    for (auto& [name, value] : m.stats) {
      if (!in.GetString(&name) || !in.Get(&value)) {
        return Corruption("window result record: truncated stat");
      }
    }
  }
  if (in.left() != 0) return Corruption("window result record: trailing bytes");
  return r;
}

Result<uint32_t> WindowResultRevision(std::string_view bytes) {
  ByteReader in(bytes);
  uint8_t version = 0;
  std::string_view name, group_key;
  int64_t start = 0, end = 0;
  uint32_t revision = 0;
  if (!in.Get(&version) || version != kVersion) {
    return Corruption("window result record: unknown version");
  }
  if (!in.GetView(&name) || !in.GetView(&group_key) || !in.Get(&start) || !in.Get(&end) ||
      !in.Get(&revision)) {
    return Corruption("window result record: truncated header");
  }
  return revision;
}

}  // namespace tidegate
