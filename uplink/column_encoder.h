// SPDX-License-Identifier: Apache-2.0
// ColumnEncoder builds the schema blocks of one batch (wire schema_version 2): for each
// (schema name, version) among the batch's events, one typed column per top-level field the
// schema declares, and each event's payload cut down to the members left over. A value goes
// into a column only if writing it back (schema/payload_members.h) gives the exact bytes of
// the payload, so decoders reassemble every payload unchanged; anything else stays in the
// remainder where it was. No JSON parse: one scan of each payload's top level. Owned by one
// BatchEncoder, on its thread.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/event.h"
#include "schema/batch_view.h"
#include "schema/payload_members.h"

namespace tidegate::wire {
struct SchemaBlock;
}  // namespace tidegate::wire

namespace tidegate::uplink {

class ColumnEncoder {
 public:
  // schemas: the agent's schemas[]; fields below the top level (/a/b) get no column and
  // travel in the remainder.
  explicit ColumnEncoder(const std::vector<SchemaSpec>& schemas = {});

  // Forgets the blocks of the previous batch.
  void Clear();

  // Puts event (index row of the batch's events, rows added in ascending order) into its
  // schema's block and sets *remainder to the payload without its column members. False,
  // leaving *remainder unspecified, if the event has no schema known here or its payload
  // is not a compact JSON object: it travels whole. REQUIRES: event outlives Finish.
  bool Add(uint32_t row, const Event& event, std::string* remainder);

  bool empty() const { return blocks_.empty(); }

  // Writes the blocks in the order their first rows were added.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::SchemaBlock>>> Finish(
      flatbuffers::FlatBufferBuilder& builder);

 private:
  struct FieldDef {
    std::string path;
    std::string key_raw;  // "key" as a compact payload writes it
    schema::ColumnType type = schema::ColumnType::kString;
  };
  struct SchemaDef {
    std::string name;
    int64_t version = 0;
    std::vector<FieldDef> fields;
  };
  struct ColumnData {
    std::vector<uint8_t> form;
    std::vector<double> doubles;
    std::vector<int64_t> longs;
    std::vector<std::string_view> strings;  // into the events' payloads
    std::vector<uint8_t> bools;
  };
  struct Block {
    const SchemaDef* def = nullptr;
    std::vector<uint32_t> rows;
    std::vector<ColumnData> columns;
    std::map<std::vector<uint16_t>, uint16_t> layout_index;
    std::vector<std::vector<uint16_t>> layouts;  // the keys of layout_index, by index
    std::vector<uint16_t> row_layout;
  };

  const SchemaDef* FindSchema(std::string_view name, int64_t version) const;
  Block& BlockFor(const SchemaDef* def);
  bool TakeValue(const FieldDef& field, std::string_view raw, ColumnData* column);
  static void PushNull(schema::ColumnType type, ColumnData* column);
  flatbuffers::Offset<flatbuffers::String> SharedString(std::string_view value,
                                                        flatbuffers::FlatBufferBuilder& builder);
  flatbuffers::Offset<wire::SchemaBlock> WriteBlock(const Block& block,
                                                    flatbuffers::FlatBufferBuilder& builder);

  std::vector<SchemaDef> schemas_;
  std::vector<Block> blocks_;
  // Per-row scratch, kept to avoid allocating per event.
  std::vector<schema::PayloadMember> members_;
  std::vector<uint16_t> slots_;
  std::vector<uint8_t> taken_;
  std::string rendered_;
  // The last distinct strings of the column being written (views into the payloads).
  static constexpr size_t kRecentStrings = 16;
  std::array<std::pair<std::string_view, flatbuffers::Offset<flatbuffers::String>>, kRecentStrings>
      recent_;
  size_t recent_count_ = 0;
  size_t recent_next_ = 0;
};

}  // namespace tidegate::uplink
