// SPDX-License-Identifier: Apache-2.0
#include "uplink/column_encoder.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "common/json_escape.h"
#include "common/time_format.h"
#include "schema/tidegate_batch_generated.h"

namespace tidegate::uplink {
namespace {

namespace wire = ::tidegate::wire;
using schema::ColumnType;

constexpr size_t kMaxLayouts = std::numeric_limits<uint16_t>::max();

ColumnType ColumnTypeOf(FieldType type) {
  switch (type) {
    case FieldType::kNumber:
      return ColumnType::kNumber;
    case FieldType::kInteger:
      return ColumnType::kInteger;
    case FieldType::kBoolean:
      return ColumnType::kBoolean;
    case FieldType::kTimestamp:
      return ColumnType::kTimestamp;
    case FieldType::kString:
      break;
  }
  return ColumnType::kString;
}

bool ParseInt(std::string_view raw, int64_t* out) {
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), *out);
  return ec == std::errc() && end == raw.data() + raw.size();
}

// The text of a JSON string without escapes ("abc" -> abc); false if it has any.
bool PlainStringContent(std::string_view raw, std::string_view* content) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return false;
  *content = raw.substr(1, raw.size() - 2);
  return content->find('\\') == std::string_view::npos;
}

// The form in which value writes back as raw (Value or fixed notation), or kFormNull.
uint8_t NumberForm(double value, std::string_view raw, std::string* scratch) {
  scratch->clear();
  schema::AppendNumberValue(scratch, value, schema::kFormValue);
  if (*scratch == raw) return schema::kFormValue;
  const size_t dot = raw.find('.');
  if (dot == std::string_view::npos || raw.find_first_of("eE") != std::string_view::npos) {
    return schema::kFormNull;
  }
  const size_t digits = raw.size() - dot - 1;
  if (digits > schema::kMaxFixedDigits) return schema::kFormNull;
  const auto form = static_cast<uint8_t>(schema::kFormFixed0 + digits);
  scratch->clear();
  if (!schema::AppendNumberValue(scratch, value, form) || *scratch != raw) return schema::kFormNull;
  return form;
}

}  // namespace

ColumnEncoder::ColumnEncoder(const std::vector<SchemaSpec>& schemas) {
  schemas_.reserve(schemas.size());
  std::string key;
  for (const SchemaSpec& spec : schemas) {
    SchemaDef& def = schemas_.emplace_back();
    def.name = spec.name;
    def.version = spec.version;
    for (const SchemaFieldSpec& field : spec.fields) {
      if (!schema::ColumnKeyFromPath(field.path, &key)) continue;
      FieldDef& f = def.fields.emplace_back();
      f.path = field.path;
      AppendJsonString(&f.key_raw, key);
      f.type = ColumnTypeOf(field.type);
    }
  }
}

void ColumnEncoder::Clear() { blocks_.clear(); }

const ColumnEncoder::SchemaDef* ColumnEncoder::FindSchema(std::string_view name,
                                                          int64_t version) const {
  for (const SchemaDef& def : schemas_) {
    if (def.version == version && def.name == name) return &def;
  }
  return nullptr;
}

ColumnEncoder::Block& ColumnEncoder::BlockFor(const SchemaDef* def) {
  for (Block& block : blocks_) {
    if (block.def == def) return block;
  }
  Block& block = blocks_.emplace_back();
  block.def = def;
  block.columns.resize(def->fields.size());
  return block;
}

bool ColumnEncoder::TakeValue(const FieldDef& field, std::string_view raw, ColumnData* column) {
  switch (field.type) {
    case ColumnType::kNumber: {
      double value = 0;
      auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
      if (ec != std::errc() || end != raw.data() + raw.size()) return false;
      const uint8_t form = NumberForm(value, raw, &rendered_);
      if (form == schema::kFormNull) return false;
      column->form.push_back(form);
      column->doubles.push_back(value);
      return true;
    }
    case ColumnType::kInteger:
    case ColumnType::kTimestamp: {
      int64_t value = 0;
      uint8_t form = schema::kFormValue;
      std::string_view text;
      if (field.type == ColumnType::kTimestamp && PlainStringContent(raw, &text)) {
        auto ms = ParseRfc3339Ms(text);
        if (!ms.ok()) return false;
        value = *ms;
        form = schema::kFormRfc3339;
      } else if (!ParseInt(raw, &value)) {
        return false;
      }
      rendered_.clear();
      if (!schema::AppendTimestampValue(&rendered_, value, form) || rendered_ != raw) return false;
      column->form.push_back(form);
      column->longs.push_back(value);
      return true;
    }
    case ColumnType::kBoolean:
      if (raw != "true" && raw != "false") return false;
      column->form.push_back(schema::kFormValue);
      column->bools.push_back(raw == "true" ? 1 : 0);
      return true;
    case ColumnType::kString: {
      std::string_view text;
      if (!PlainStringContent(raw, &text)) return false;
      rendered_.clear();
      if (!schema::AppendStringValue(&rendered_, text, schema::kFormValue) || rendered_ != raw) {
        return false;
      }
      column->form.push_back(schema::kFormValue);
      column->strings.push_back(text);
      return true;
    }
  }
  return false;
}

void ColumnEncoder::PushNull(ColumnType type, ColumnData* column) {
  column->form.push_back(schema::kFormNull);
  switch (type) {
    case ColumnType::kNumber:
      column->doubles.push_back(0);
      return;
    case ColumnType::kInteger:
    case ColumnType::kTimestamp:
      column->longs.push_back(0);
      return;
    case ColumnType::kBoolean:
      column->bools.push_back(0);
      return;
    case ColumnType::kString:
      column->strings.emplace_back();
      return;
  }
}

bool ColumnEncoder::Add(uint32_t row, const Event& event, std::string* remainder) {
  if (event.schema_name.empty()) return false;
  const SchemaDef* def = FindSchema(event.schema_name, event.schema_version);
  if (def == nullptr || def->fields.empty()) return false;
  if (!schema::SplitTopLevelMembers(event.payload, &members_)) return false;
  Block& block = BlockFor(def);
  if (block.layouts.size() >= kMaxLayouts) return false;
  const size_t n = def->fields.size();
  slots_.clear();
  taken_.assign(n, 0);
  remainder->clear();  // not assign("{"): GCC 12 warns falsely about it (-Wrestrict, bug 105329)
  remainder->push_back('{');
  for (const schema::PayloadMember& m : members_) {
    size_t c = 0;
    while (c < n && def->fields[c].key_raw != m.key_raw) ++c;
    if (c < n && taken_[c] == 0 && TakeValue(def->fields[c], m.value_raw, &block.columns[c])) {
      taken_[c] = 1;
      slots_.push_back(static_cast<uint16_t>(c + 1));
      continue;
    }
    if (remainder->size() > 1) remainder->push_back(',');
    schema::AppendMember(remainder, m.key_raw, m.value_raw);
    slots_.push_back(0);
  }
  remainder->push_back('}');
  for (size_t c = 0; c < n; ++c) {
    if (taken_[c] == 0) PushNull(def->fields[c].type, &block.columns[c]);
  }
  auto [it, inserted] =
      block.layout_index.try_emplace(slots_, static_cast<uint16_t>(block.layouts.size()));
  if (inserted) block.layouts.push_back(slots_);
  block.row_layout.push_back(it->second);
  block.rows.push_back(row);
  return true;
}

// A value among the last kRecentStrings distinct ones of this column is referenced again
// (device ids repeat): no allocation per string, unlike a map or the builder's
// CreateSharedString, and zstd still shortens the repeats it misses.
flatbuffers::Offset<flatbuffers::String> ColumnEncoder::SharedString(
    std::string_view value, flatbuffers::FlatBufferBuilder& builder) {
  for (size_t i = 0; i < recent_count_; ++i) {
    if (recent_[i].first == value) return recent_[i].second;
  }
  auto offset = builder.CreateString(value);
  recent_[recent_next_] = {value, offset};
  recent_next_ = (recent_next_ + 1) % kRecentStrings;
  recent_count_ = std::min(recent_count_ + 1, kRecentStrings);
  return offset;
}

flatbuffers::Offset<wire::SchemaBlock> ColumnEncoder::WriteBlock(
    const Block& block, flatbuffers::FlatBufferBuilder& builder) {
  std::vector<flatbuffers::Offset<wire::Column>> columns;
  columns.reserve(block.columns.size());
  std::vector<flatbuffers::Offset<flatbuffers::String>> strings;
  for (size_t c = 0; c < block.columns.size(); ++c) {
    const FieldDef& field = block.def->fields[c];
    const ColumnData& data = block.columns[c];
    auto path = builder.CreateString(field.path);
    auto form = builder.CreateVector(data.form);
    flatbuffers::Offset<flatbuffers::Vector<double>> doubles;
    flatbuffers::Offset<flatbuffers::Vector<int64_t>> longs;
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> texts;
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> bools;
    switch (field.type) {
      case ColumnType::kNumber:
        doubles = builder.CreateVector(data.doubles);
        break;
      case ColumnType::kInteger:
      case ColumnType::kTimestamp:
        longs = builder.CreateVector(data.longs);
        break;
      case ColumnType::kBoolean:
        bools = builder.CreateVector(data.bools);
        break;
      case ColumnType::kString:
        strings.clear();
        strings.reserve(data.strings.size());
        recent_count_ = 0;
        recent_next_ = 0;
        for (std::string_view s : data.strings) strings.push_back(SharedString(s, builder));
        texts = builder.CreateVector(strings);
        break;
    }
    columns.push_back(wire::CreateColumn(builder, path, static_cast<wire::ColumnType>(field.type),
                                         form, doubles, longs, texts, bools));
  }
  std::vector<flatbuffers::Offset<wire::Layout>> layouts;
  layouts.reserve(block.layouts.size());
  for (const std::vector<uint16_t>& slots : block.layouts) {
    auto slot_vector = builder.CreateVector(slots);
    layouts.push_back(wire::CreateLayout(builder, slot_vector));
  }
  // One statement per child, in order: the order in which a compiler evaluates function
  // arguments is unspecified (GCC and clang differ), and it decides the bytes.
  auto name = builder.CreateString(block.def->name);
  auto rows = builder.CreateVector(block.rows);
  auto column_vector = builder.CreateVector(columns);
  auto layout_vector = builder.CreateVector(layouts);
  auto row_layout = builder.CreateVector(block.row_layout);
  return wire::CreateSchemaBlock(builder, name, block.def->version, rows, column_vector,
                                 layout_vector, row_layout);
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::SchemaBlock>>>
ColumnEncoder::Finish(flatbuffers::FlatBufferBuilder& builder) {
  if (blocks_.empty()) return 0;
  std::vector<flatbuffers::Offset<wire::SchemaBlock>> blocks;
  blocks.reserve(blocks_.size());
  for (const Block& block : blocks_) blocks.push_back(WriteBlock(block, builder));
  return builder.CreateVector(blocks);
}

}  // namespace tidegate::uplink
