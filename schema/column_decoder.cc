// SPDX-License-Identifier: Apache-2.0
#include "schema/column_decoder.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/json_escape.h"
#include "schema/payload_members.h"
#include "schema/tidegate_batch_generated.h"

namespace tidegate::schema {
namespace {

namespace fb = ::flatbuffers;
namespace wire = ::tidegate::wire;

// A checked column: its key as the payload writes it, and its typed values.
struct ColumnView {
  const wire::Column* column = nullptr;
  std::string key_raw;  // "key" with quotes and escapes
};

template <typename T>
bool HasRows(const fb::Vector<T>* v, size_t rows) {
  return v != nullptr && v->size() == rows;
}

bool ValuesMatchType(const wire::Column& c, size_t rows) {
  switch (c.type()) {
    case wire::ColumnType::Number:
      return HasRows(c.doubles(), rows);
    case wire::ColumnType::Integer:
    case wire::ColumnType::Timestamp:
      return HasRows(c.longs(), rows);
    case wire::ColumnType::String:
      return HasRows(c.strings(), rows);
    case wire::ColumnType::Boolean:
      return HasRows(c.bools(), rows);
  }
  return false;
}

// REQUIRES: ValuesMatchType. Strings are checked for UTF-8 when their row is reassembled.
void CopyValues(const wire::Column& c, DecodedColumn* out) {
  out->form.assign(c.form()->begin(), c.form()->end());
  switch (c.type()) {
    case wire::ColumnType::Number:
      out->numbers.assign(c.doubles()->begin(), c.doubles()->end());
      return;
    case wire::ColumnType::Integer:
    case wire::ColumnType::Timestamp:
      out->integers.assign(c.longs()->begin(), c.longs()->end());
      return;
    case wire::ColumnType::Boolean:
      out->bools.assign(c.bools()->begin(), c.bools()->end());
      return;
    case wire::ColumnType::String:
      out->strings.reserve(c.strings()->size());
      for (const fb::String* s : *c.strings()) out->strings.emplace_back(s->data(), s->size());
      return;
  }
}

Status CheckColumn(const wire::Column& c, size_t rows, const std::string& where, ColumnView* view,
                   DecodedColumn* decoded) {
  if (c.path() == nullptr) return Corruption(where + ": path is missing");
  decoded->path.assign(c.path()->data(), c.path()->size());
  std::string key;
  if (!IsValidUtf8(decoded->path) || !ColumnKeyFromPath(decoded->path, &key)) {
    return Corruption(where + ": path is not a JSON Pointer of one short key");
  }
  if (c.type() > wire::ColumnType::MAX) return Corruption(where + ": unknown type");
  if (!HasRows(c.form(), rows) || !ValuesMatchType(c, rows)) {
    return Corruption(where + ": its vectors do not have one entry per row");
  }
  decoded->type = static_cast<ColumnType>(c.type());
  CopyValues(c, decoded);
  view->column = &c;
  view->key_raw.clear();
  AppendJsonString(&view->key_raw, key);
  return Status::Ok();
}

// Appends column's value of row; false if its form does not fit its type or value.
bool AppendValue(const wire::Column& c, size_t row, std::string* out) {
  const auto i = static_cast<fb::uoffset_t>(row);
  const uint8_t form = c.form()->Get(i);
  switch (c.type()) {
    case wire::ColumnType::Number:
      return AppendNumberValue(out, c.doubles()->Get(i), form);
    case wire::ColumnType::Integer:
      return AppendIntegerValue(out, c.longs()->Get(i), form);
    case wire::ColumnType::Timestamp:
      return AppendTimestampValue(out, c.longs()->Get(i), form);
    case wire::ColumnType::Boolean:
      return AppendBooleanValue(out, c.bools()->Get(i) != 0, form);
    case wire::ColumnType::String: {
      const fb::String* s = c.strings()->Get(i);
      std::string_view text(s->data(), s->size());
      return IsValidUtf8(text) && AppendStringValue(out, text, form);
    }
  }
  return false;
}

// Per-block state kept across rows so that a row allocates nothing once warm.
struct BlockScratch {
  std::vector<ColumnView> columns;
  std::vector<PayloadMember> members;
  std::vector<uint8_t> used;
  std::string payload;
};

// block_where names the block; the row's own context is formatted only for an error, since
// this runs for every event the collector lands.
Status ReassembleRow(const wire::SchemaBlock& block, size_t r, const std::string& block_where,
                     BlockScratch* s, DecodedEvent* event) {
  auto corrupt = [&](std::string_view what) {
    return Corruption(fmt::format("{} row {}{}", block_where, r, what));
  };
  const uint16_t layout_index = block.row_layout()->Get(static_cast<fb::uoffset_t>(r));
  if (layout_index >= block.layouts()->size()) return corrupt(": layout out of range");
  const fb::Vector<uint16_t>* slots = block.layouts()->Get(layout_index)->slots();
  if (!SplitTopLevelMembers(event->payload, &s->members)) {
    return corrupt(": remainder is not a compact JSON object");
  }
  s->used.assign(s->columns.size(), 0);
  s->payload.assign("{");
  size_t next_member = 0;
  const size_t slot_count = slots == nullptr ? 0 : slots->size();
  for (size_t k = 0; k < slot_count; ++k) {
    if (k > 0) s->payload.push_back(',');
    const uint16_t slot = slots->Get(static_cast<fb::uoffset_t>(k));
    if (slot == 0) {
      if (next_member >= s->members.size()) return corrupt(": too few members");
      const PayloadMember& m = s->members[next_member++];
      AppendMember(&s->payload, m.key_raw, m.value_raw);
      continue;
    }
    const size_t c = slot - 1u;
    if (c >= s->columns.size() || s->used[c] != 0) {
      return corrupt(": a slot names a column out of range or twice");
    }
    s->used[c] = 1;
    s->payload.append(s->columns[c].key_raw);
    s->payload.push_back(':');
    if (!AppendValue(*s->columns[c].column, r, &s->payload)) {
      return corrupt(fmt::format(" column {}: form does not fit the value", c));
    }
  }
  if (next_member != s->members.size()) return corrupt(": members left over");
  for (size_t c = 0; c < s->columns.size(); ++c) {
    const bool has_value = s->columns[c].column->form()->Get(static_cast<fb::uoffset_t>(r)) != 0;
    if (has_value != (s->used[c] != 0)) {
      return corrupt(fmt::format(" column {}: value not placed exactly once", c));
    }
  }
  s->payload.push_back('}');
  event->payload.swap(s->payload);
  return Status::Ok();
}

Status CheckBlockShape(const wire::SchemaBlock& block, const std::string& where,
                       DecodedSchemaBlock* decoded) {
  if (block.name() == nullptr || block.name()->size() == 0) {
    return Corruption(where + ": name is missing");
  }
  decoded->name.assign(block.name()->data(), block.name()->size());
  if (!IsValidUtf8(decoded->name)) return Corruption(where + ": name is not valid UTF-8");
  decoded->version = block.version();
  const size_t rows = block.rows() == nullptr ? 0 : block.rows()->size();
  if (!HasRows(block.row_layout(), rows) || (rows > 0 && block.layouts() == nullptr)) {
    return Corruption(where + ": row_layout does not have one entry per row");
  }
  if (block.columns() != nullptr && block.columns()->size() >= 0xFFFF) {
    return Corruption(where + ": too many columns");
  }
  return Status::Ok();
}

// Claims each row of the block (ascending, within events, not in an earlier block).
Status ClaimRows(const wire::SchemaBlock& block, const std::string& where, size_t events,
                 std::vector<uint8_t>* claimed, DecodedSchemaBlock* decoded) {
  if (block.rows() == nullptr) return Status::Ok();
  decoded->rows.reserve(block.rows()->size());
  for (uint32_t row : *block.rows()) {
    if (row >= events) return Corruption(where + ": a row is outside the batch's events");
    if (!decoded->rows.empty() && row <= decoded->rows.back()) {
      return Corruption(where + ": rows are not strictly ascending");
    }
    if ((*claimed)[row] != 0) return Corruption(where + ": a row is in two blocks");
    (*claimed)[row] = 1;
    decoded->rows.push_back(row);
  }
  return Status::Ok();
}

Status ReassembleBlock(const wire::SchemaBlock& block, size_t b, std::vector<uint8_t>* claimed,
                       uint64_t* budget, DecodedBatch* out) {
  const std::string where = fmt::format("schema block {}", b);
  DecodedSchemaBlock decoded;
  TG_RETURN_IF_ERROR(CheckBlockShape(block, where, &decoded));
  TG_RETURN_IF_ERROR(ClaimRows(block, where, out->events.size(), claimed, &decoded));
  BlockScratch scratch;
  const size_t columns = block.columns() == nullptr ? 0 : block.columns()->size();
  scratch.columns.resize(columns);
  decoded.columns.resize(columns);
  for (size_t c = 0; c < columns; ++c) {
    TG_RETURN_IF_ERROR(CheckColumn(*block.columns()->Get(static_cast<fb::uoffset_t>(c)),
                                   decoded.rows.size(), fmt::format("{} column {}", where, c),
                                   &scratch.columns[c], &decoded.columns[c]));
  }
  for (size_t r = 0; r < decoded.rows.size(); ++r) {
    DecodedEvent& event = out->events[decoded.rows[r]];
    TG_RETURN_IF_ERROR(ReassembleRow(block, r, where, &scratch, &event));
    if (event.payload.size() > *budget) {
      return Corruption(where + ": reassembled payloads exceed the bound");
    }
    *budget -= event.payload.size();
  }
  out->schema_blocks.push_back(std::move(decoded));
  return Status::Ok();
}

}  // namespace

Status ReassembleSchemaBlocks(const wire::Batch& in, size_t flatbuffer_bytes, DecodedBatch* out) {
  if (in.schema_blocks() == nullptr) return Status::Ok();
  if (out->schema_version < 2) {
    return Corruption("batch: schema_blocks in a batch of schema_version 1");
  }
  uint64_t budget = uint64_t{flatbuffer_bytes} * kMaxReassemblyFactor + (uint64_t{1} << 20);
  std::vector<uint8_t> claimed(out->events.size(), 0);
  for (fb::uoffset_t b = 0; b < in.schema_blocks()->size(); ++b) {
    TG_RETURN_IF_ERROR(ReassembleBlock(*in.schema_blocks()->Get(b), b, &claimed, &budget, out));
  }
  return Status::Ok();
}

}  // namespace tidegate::schema
