// SPDX-License-Identifier: Apache-2.0
#include "schema/batch_view.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>

#include "common/json_escape.h"
#include "common/time_format.h"
#include "schema/column_decoder.h"
#include "schema/tidegate_batch_generated.h"

namespace tidegate::schema {
namespace {

namespace fb = ::flatbuffers;
namespace wire = ::tidegate::wire;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// Grows out (never past cap bytes) so that it has free space after *used.
bool GrowOutput(std::string* out, size_t used, size_t cap) {
  if (used < out->size()) return true;
  if (out->size() >= cap) return false;
  size_t next = out->size() < cap / 2 ? out->size() * 2 : cap;
  out->resize(std::max(next, used + 1));
  return true;
}

// Copies in (absent: empty) into out; false if it is not valid UTF-8.
bool CopyUtf8(const fb::String* in, std::string* out) {
  if (in == nullptr) {
    out->clear();
    return true;
  }
  std::string_view text(in->data(), in->size());
  if (!IsValidUtf8(text)) return false;
  out->assign(text);
  return true;
}

Status CopyString(const fb::String* in, std::string_view what, std::string* out) {
  if (!CopyUtf8(in, out)) return Corruption(std::string(what) + " is not valid UTF-8");
  return Status::Ok();
}

// Where a string sits in a batch, formatted only for an error: CopyString runs for every
// string of every event the collector decodes.
struct Where {
  std::string_view kind;
  size_t index;
  std::string_view field;
};

Status CopyString(const fb::String* in, const Where& where, std::string* out) {
  if (CopyUtf8(in, out)) return Status::Ok();
  return Corruption(
      fmt::format("{} {}: {} is not valid UTF-8", where.kind, where.index, where.field));
}

Status DecodeEvent(const wire::Event& in, size_t i, DecodedEvent* out) {
  out->seq = in.seq();
  TG_RETURN_IF_ERROR(CopyString(in.topic(), Where{"event", i, "topic"}, &out->topic));
  TG_RETURN_IF_ERROR(CopyString(in.device_id(), Where{"event", i, "device_id"}, &out->device_id));
  out->event_time = in.event_time();
  out->ingest_time = in.ingest_time();
  out->flags = in.flags();
  return CopyString(in.payload(), Where{"event", i, "payload"}, &out->payload);
}

Status DecodeMeasures(const wire::WindowResult& in, size_t i, DecodedWindowResult* out) {
  if (in.measures() == nullptr) return Status::Ok();
  out->measures.resize(in.measures()->size());
  for (fb::uoffset_t m = 0; m < in.measures()->size(); ++m) {
    const wire::Measure* measure = in.measures()->Get(m);
    DecodedMeasure& dm = out->measures[m];
    TG_RETURN_IF_ERROR(
        CopyString(measure->field(), Where{"window result", i, "measure field"}, &dm.field));
    if (measure->stats() == nullptr) continue;
    dm.stats.resize(measure->stats()->size());
    for (fb::uoffset_t s = 0; s < measure->stats()->size(); ++s) {
      const wire::Stat* stat = measure->stats()->Get(s);
      TG_RETURN_IF_ERROR(
          CopyString(stat->name(), Where{"window result", i, "stat name"}, &dm.stats[s].name));
      dm.stats[s].value = stat->value();
    }
  }
  return Status::Ok();
}

Status DecodeWindowResult(const wire::WindowResult& in, size_t i, DecodedWindowResult* out) {
  out->seq = in.seq();
  TG_RETURN_IF_ERROR(CopyString(in.name(), Where{"window result", i, "name"}, &out->name));
  TG_RETURN_IF_ERROR(
      CopyString(in.group_key(), Where{"window result", i, "group_key"}, &out->group_key));
  out->window_start = in.window_start();
  out->window_end = in.window_end();
  out->revision = in.revision();
  out->final = in.final();
  return DecodeMeasures(in, i, out);
}

Status DecodeHeader(const wire::Batch& in, DecodedBatch* out) {
  out->schema_version = in.schema_version();
  if (out->schema_version == 0) return Corruption("batch: schema_version is 0");
  TG_RETURN_IF_ERROR(CopyString(in.agent_id(), "batch: agent_id", &out->agent_id));
  TG_RETURN_IF_ERROR(CopyString(in.batch_id(), "batch: batch_id", &out->batch_id));
  if (out->agent_id.empty()) return Corruption("batch: agent_id is missing or empty");
  if (out->batch_id.empty()) return Corruption("batch: batch_id is missing or empty");
  out->first_seq = in.first_seq();
  out->last_seq = in.last_seq();
  out->created_at = in.created_at();
  if (in.sealed_keys() != nullptr) {
    for (const wire::SealedKey* key : *in.sealed_keys()) {
      DecodedSealedKey& dk = out->sealed_keys.emplace_back();
      dk.epoch = key->epoch();
      if (key->sealed() != nullptr) {
        dk.sealed.assign(reinterpret_cast<const char*>(key->sealed()->data()),
                         key->sealed()->size());
      }
    }
  }
  return Status::Ok();
}

Status DecodeVerified(const wire::Batch& in, size_t size, DecodedBatch* out) {
  TG_RETURN_IF_ERROR(DecodeHeader(in, out));
  if (in.events() != nullptr) {
    out->events.resize(in.events()->size());
    for (fb::uoffset_t i = 0; i < in.events()->size(); ++i) {
      TG_RETURN_IF_ERROR(DecodeEvent(*in.events()->Get(i), i, &out->events[i]));
    }
  }
  if (in.window_results() != nullptr) {
    out->window_results.resize(in.window_results()->size());
    for (fb::uoffset_t i = 0; i < in.window_results()->size(); ++i) {
      TG_RETURN_IF_ERROR(
          DecodeWindowResult(*in.window_results()->Get(i), i, &out->window_results[i]));
    }
  }
  return ReassembleSchemaBlocks(in, size, out);
}

void AppendBase64(std::string* out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                 uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    for (int shift = 18; shift >= 0; shift -= 6) out->push_back(kAlphabet[(n >> shift) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t n = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
  if (rest == 2) n |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
  out->push_back(kAlphabet[(n >> 18) & 63]);
  out->push_back(kAlphabet[(n >> 12) & 63]);
  out->push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
  out->push_back('=');
}

void AppendKey(std::string* out, std::string_view key) {
  AppendJsonString(out, key);
  out->append(": ");
}

void AppendTime(std::string* out, std::string_view key, int64_t unix_ms) {
  AppendKey(out, key);
  AppendJsonString(out, FormatRfc3339Ms(unix_ms));
}

void AppendEventJson(std::string* out, const DecodedEvent& e) {
  fmt::format_to(std::back_inserter(*out), "{{\"seq\": {}, ", e.seq);
  AppendKey(out, "topic");
  AppendJsonString(out, e.topic);
  out->append(", ");
  AppendKey(out, "device_id");
  AppendJsonString(out, e.device_id);
  out->append(", ");
  AppendTime(out, "event_time", e.event_time);
  out->append(", ");
  AppendTime(out, "ingest_time", e.ingest_time);
  fmt::format_to(std::back_inserter(*out), R"(, "flags": {}, "late": {}, "payload": )", e.flags,
                 (e.flags & kEventFlagLate) != 0);
  AppendJsonPayload(out, e.payload);
  out->push_back('}');
}

void AppendWindowResultJson(std::string* out, const DecodedWindowResult& w) {
  fmt::format_to(std::back_inserter(*out), "{{\"seq\": {}, ", w.seq);
  AppendKey(out, "name");
  AppendJsonString(out, w.name);
  out->append(", ");
  AppendKey(out, "group_key");
  AppendJsonString(out, w.group_key);
  out->append(", ");
  AppendTime(out, "window_start", w.window_start);
  out->append(", ");
  AppendTime(out, "window_end", w.window_end);
  fmt::format_to(std::back_inserter(*out), R"(, "revision": {}, "final": {}, "measures": )",
                 w.revision, w.final);
  AppendMeasuresJson(out, w.measures);
  out->push_back('}');
}

// Writes `"key": [` one element a line `]`; render appends one element.
template <typename T, typename Render>
void AppendArray(std::string* out, std::string_view key, const std::vector<T>& items,
                 Render render) {
  out->append("  ");
  AppendKey(out, key);
  if (items.empty()) {
    out->append("[]");
    return;
  }
  out->append("[\n");
  for (size_t i = 0; i < items.size(); ++i) {
    out->append("    ");
    render(out, items[i]);
    out->append(i + 1 < items.size() ? ",\n" : "\n");
  }
  out->append("  ]");
}

}  // namespace

bool LooksZstdCompressed(std::string_view bytes) {
  return bytes.size() >= 4 && static_cast<uint8_t>(bytes[0]) == 0x28 &&
         static_cast<uint8_t>(bytes[1]) == 0xB5 && static_cast<uint8_t>(bytes[2]) == 0x2F &&
         static_cast<uint8_t>(bytes[3]) == 0xFD;
}

Result<std::string> DecompressBatch(std::string_view compressed, size_t max_bytes,
                                    const DictionarySet* dictionaries) {
  if (!LooksZstdCompressed(compressed)) return Corruption("not a zstd frame (bad magic number)");
  unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Corruption("invalid zstd frame header");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max_bytes) {
    return ResourceExhausted(
        fmt::format("zstd frame declares {} bytes, above the limit of {}", declared, max_bytes));
  }
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  if (!dctx) return Internal("ZSTD_createDCtx failed");
  if (const unsigned id = ZSTD_getDictID_fromFrame(compressed.data(), compressed.size()); id != 0) {
    const ZSTD_DDict* dict = dictionaries != nullptr ? dictionaries->Find(id) : nullptr;
    if (dict == nullptr) {
      return NotFound(fmt::format("zstd frame needs dictionary ID {}, which is not loaded", id));
    }
    const size_t ref = ZSTD_DCtx_refDDict(dctx.get(), dict);
    if (ZSTD_isError(ref)) return Internal(std::string("zstd: ") + ZSTD_getErrorName(ref));
  }
  // One byte beyond max_bytes tells an exactly-full output from an oversized one. The
  // declared size only seeds the first allocation; the cap is what bounds memory.
  const size_t cap = max_bytes + 1;
  size_t seed = declared != ZSTD_CONTENTSIZE_UNKNOWN ? static_cast<size_t>(declared) + 1
                                                     : ZSTD_DStreamOutSize();
  std::string out(std::min(cap, std::max<size_t>(seed, 64)), '\0');
  size_t used = 0;
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t ret = 1;
  while (in.pos < in.size || ret != 0) {
    if (!GrowOutput(&out, used, cap)) break;
    ZSTD_outBuffer ob{out.data() + used, out.size() - used, 0};
    ret = ZSTD_decompressStream(dctx.get(), &ob, &in);
    if (ZSTD_isError(ret)) {
      return Corruption(std::string("zstd: ") + ZSTD_getErrorName(ret));
    }
    used += ob.pos;
    if (ret != 0 && in.pos == in.size && ob.pos < ob.size) {
      return Corruption("zstd: truncated frame");
    }
  }
  if (used > max_bytes) {
    return ResourceExhausted(fmt::format("decompressed batch exceeds {} bytes", max_bytes));
  }
  out.resize(used);
  return out;
}

Result<DecodedBatch> DecodeBatch(std::string_view flatbuffer_bytes) {
  if (flatbuffer_bytes.size() < 2 * sizeof(fb::uoffset_t)) {
    return Corruption(fmt::format("batch: {} bytes is too short", flatbuffer_bytes.size()));
  }
  if (flatbuffer_bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Corruption("batch: larger than the FlatBuffers limit of 2 GiB");
  }
  // Reading a double or int64 at a misaligned address is undefined behaviour, and a
  // string_view may point anywhere; copy into 8-aligned storage when it does.
  std::vector<uint64_t> aligned;
  const auto* data = reinterpret_cast<const uint8_t*>(flatbuffer_bytes.data());
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned.resize((flatbuffer_bytes.size() + 7) / 8);
    std::memcpy(aligned.data(), data, flatbuffer_bytes.size());
    data = reinterpret_cast<const uint8_t*>(aligned.data());
  }
  if (!wire::BatchBufferHasIdentifier(data)) {
    return Corruption("batch: file identifier is not TGB1");
  }
  fb::Verifier verifier(data, flatbuffer_bytes.size());
  if (!wire::VerifyBatchBuffer(verifier)) {
    return Corruption("batch: FlatBuffers verification failed");
  }
  DecodedBatch batch;
  TG_RETURN_IF_ERROR(DecodeVerified(*wire::GetBatch(data), flatbuffer_bytes.size(), &batch));
  return batch;
}

void AppendJsonNumber(std::string* out, double value) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  // Below 2^53 every integer is exact, so printing it as one loses nothing.
  if (std::fabs(value) < 9007199254740992.0 && value == std::trunc(value)) {
    fmt::format_to(std::back_inserter(*out), "{}", static_cast<int64_t>(value));
    return;
  }
  fmt::format_to(std::back_inserter(*out), "{}", value);
}

void AppendJsonPayload(std::string* out, std::string_view payload) {
  // One parser per thread: it keeps its buffers between calls and is not thread-safe.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(payload);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    AppendJsonString(out, payload);
    return;
  }
  std::string minified(padded.size() + simdjson::SIMDJSON_PADDING, '\0');
  size_t minified_len = 0;
  if (simdjson::minify(padded.data(), padded.size(), minified.data(), minified_len) !=
      simdjson::SUCCESS) {
    AppendJsonString(out, payload);
    return;
  }
  out->append(minified.data(), minified_len);
}

void AppendMeasuresJson(std::string* out, const std::vector<DecodedMeasure>& measures) {
  out->push_back('{');
  for (size_t m = 0; m < measures.size(); ++m) {
    if (m > 0) out->push_back(',');
    AppendJsonString(out, measures[m].field);
    out->append(":{");
    for (size_t s = 0; s < measures[m].stats.size(); ++s) {
      if (s > 0) out->push_back(',');
      AppendJsonString(out, measures[m].stats[s].name);
      out->push_back(':');
      AppendJsonNumber(out, measures[m].stats[s].value);
    }
    out->push_back('}');
  }
  out->push_back('}');
}

std::string BatchToJson(const DecodedBatch& batch) {
  std::string out = "{\n";
  fmt::format_to(std::back_inserter(out), "  \"schema_version\": {},\n  ", batch.schema_version);
  AppendKey(&out, "agent_id");
  AppendJsonString(&out, batch.agent_id);
  out.append(",\n  ");
  AppendKey(&out, "batch_id");
  AppendJsonString(&out, batch.batch_id);
  fmt::format_to(std::back_inserter(out), ",\n  \"first_seq\": {},\n  \"last_seq\": {},\n  ",
                 batch.first_seq, batch.last_seq);
  AppendTime(&out, "created_at", batch.created_at);
  out.append(",\n");
  AppendArray(&out, "sealed_keys", batch.sealed_keys,
              [](std::string* o, const DecodedSealedKey& k) {
                fmt::format_to(std::back_inserter(*o), R"({{"epoch": {}, "sealed": ")", k.epoch);
                AppendBase64(o, k.sealed);
                o->append("\"}");
              });
  out.append(",\n");
  AppendArray(&out, "events", batch.events, AppendEventJson);
  out.append(",\n");
  AppendArray(&out, "window_results", batch.window_results, AppendWindowResultJson);
  out.append("\n}\n");
  return out;
}

}  // namespace tidegate::schema
