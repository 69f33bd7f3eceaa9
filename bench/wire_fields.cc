// SPDX-License-Identifier: Apache-2.0
#include "bench/wire_fields.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <sodium.h>
#include <zstd.h>

#include <map>
#include <string>
#include <string_view>

namespace tidegate::bench {
namespace {

constexpr int kStrongest = 19;  // zstd's strongest level short of --ultra

size_t Compressed(const std::string& column, int level) {
  std::string out(ZSTD_compressBound(column.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), column.data(), column.size(), level);
  return ZSTD_isError(n) != 0 ? column.size() : n;
}

// The bytes a token (tok:<key id>:<base64url>) or a sealed value (enc:<epoch>.<base64url>)
// carries; empty for other text.
std::string OpaqueBytes(std::string_view text) {
  size_t at = std::string_view::npos;
  if (text.starts_with("tok:")) at = text.rfind(':');
  if (text.starts_with("enc:")) at = text.find('.');
  if (at == std::string_view::npos) return {};
  const std::string_view encoded = text.substr(at + 1);
  std::string bytes(encoded.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                        encoded.data(), encoded.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return {};
  }
  bytes.resize(length);
  return bytes;
}

// One field's values in one batch: as text, one per line, and the opaque bytes of those that
// are tokens or sealed values.
struct Column {
  std::string text;
  std::string opaque;
};
using Columns = std::map<std::string, Column>;

void AppendLittleEndian(uint64_t value, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

// Every leaf of value under path, objects walked into (/user/email).
void AddLeaves(simdjson::dom::element value, const std::string& path, Columns* columns) {
  simdjson::dom::object object;
  if (value.get_object().get(object) == simdjson::SUCCESS) {
    for (simdjson::dom::key_value_pair member : object) {
      AddLeaves(member.value, path + "/" + std::string(member.key), columns);
    }
    return;
  }
  Column& column = (*columns)[path];
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    column.text.append(text);
    column.opaque += OpaqueBytes(text);
  } else {
    column.text += simdjson::minify(value);
  }
  column.text.push_back('\n');
}

struct Totals {
  size_t text = 0, level = 0, strongest = 0, opaque = 0, opaque_strongest = 0;
};

}  // namespace

void PrintFieldColumns(const std::vector<Batch>& batches, int uplink_level) {
  std::map<std::string, Totals> totals;  // by field, summed over the batches
  simdjson::dom::parser parser;
  size_t events = 0;
  for (const Batch& batch : batches) {
    Columns columns;
    for (const buffer::BufferedRecord& r : batch) {
      AppendLittleEndian(r.seq, &columns["(event) seq"].text);
      AppendLittleEndian(static_cast<uint64_t>(r.event.event_time_ms),
                         &columns["(event) event_time"].text);
      AppendLittleEndian(static_cast<uint64_t>(r.event.ingest_time_ms),
                         &columns["(event) ingest_time"].text);
      columns["(event) topic"].text += r.event.topic + "\n";
      columns["(event) device_id"].text += r.event.device_id + "\n";
      simdjson::dom::element payload;
      if (parser.parse(r.event.payload).get(payload) == simdjson::SUCCESS) {
        AddLeaves(payload, "", &columns);
      } else {
        columns["(payload that does not parse)"].text += r.event.payload + "\n";
      }
      ++events;
    }
    for (const auto& [name, column] : columns) {
      Totals& t = totals[name];
      t.text += column.text.size();
      t.level += Compressed(column.text, uplink_level);
      t.strongest += Compressed(column.text, kStrongest);
      t.opaque += column.opaque.size();
      if (!column.opaque.empty()) t.opaque_strongest += Compressed(column.opaque, kStrongest);
    }
  }
  if (events == 0) return;
  const auto per_event = [&](size_t bytes) {
    return static_cast<double>(bytes) / static_cast<double>(events);
  };
  fmt::print(
      "\nfields as columns, each compressed alone per batch (bytes/event; opaque: the bytes of "
      "tokens and sealed values, base64url decoded)\n");
  fmt::print("{:<24} {:>8} {:>8} {:>8} {:>8} {:>10}\n", "field", "text",
             fmt::format("zstd-{}", uplink_level), fmt::format("zstd-{}", kStrongest), "opaque",
             fmt::format("opaque-{}", kStrongest));
  Totals sum;
  for (const auto& [name, t] : totals) {
    fmt::print("{:<24} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>10.1f}\n", name, per_event(t.text),
               per_event(t.level), per_event(t.strongest), per_event(t.opaque),
               per_event(t.opaque_strongest));
    sum.text += t.text;
    sum.level += t.level;
    sum.strongest += t.strongest;
    sum.opaque += t.opaque;
    sum.opaque_strongest += t.opaque_strongest;
  }
  fmt::print("{:<24} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>10.1f}\n", "sum", per_event(sum.text),
             per_event(sum.level), per_event(sum.strongest), per_event(sum.opaque),
             per_event(sum.opaque_strongest));
}

}  // namespace tidegate::bench
