// SPDX-License-Identifier: Apache-2.0
#include "collector/store/postgres_typed_tables.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <iterator>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/store/pg_exec.h"
#include "collector/store/pg_text.h"
#include "collector/store/postgres_sql.h"
#include "common/json_escape.h"
#include "common/time_format.h"
#include "schema/payload_members.h"

namespace tidegate::collector::pg {
namespace {

using schema::ColumnType;

constexpr size_t kMaxIdentifierBytes = 63;  // PostgreSQL's NAMEDATALEN - 1
// Agents are authenticated but not trusted with the database's shape: at most this many
// (name, version) pairs are registered, each a table or a migration (an agent's config
// declares at most 64 schemas of at most 256 fields, filters/payload_schema.h).
constexpr int64_t kMaxRegisteredVersions = 1024;
constexpr size_t kMaxColumns = 256;

std::string_view TypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kNumber:
      return "number";
    case ColumnType::kInteger:
      return "integer";
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kString:
      break;
  }
  return "string";
}

// The column type, as CREATE TABLE writes it and as information_schema.columns names it.
std::pair<std::string_view, std::string_view> PgType(ColumnType type) {
  switch (type) {
    case ColumnType::kNumber:
      return {"double precision", "double precision"};
    case ColumnType::kInteger:
      return {"bigint", "bigint"};
    case ColumnType::kBoolean:
      return {"boolean", "boolean"};
    case ColumnType::kTimestamp:
      return {"timestamptz", "timestamp with time zone"};
    case ColumnType::kString:
      break;
  }
  return {"text", "text"};
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierBytes) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// A quoted identifier ("temp", "a""b"); empty if libpq refuses it.
std::string Ident(PGconn* conn, std::string_view name) {
  char* escaped = PQescapeIdentifier(conn, name.data(), name.size());
  if (escaped == nullptr) return {};
  std::string out(escaped);
  PQfreemem(escaped);
  return out;
}

// The column name of each column of block (its field key), checked.
Status ColumnKeys(const schema::DecodedSchemaBlock& block, const std::string& where,
                  std::vector<std::string>* keys) {
  keys->clear();
  if (block.columns.size() > kMaxColumns) {
    return InvalidArgument(fmt::format("{}: more than {} fields", where, kMaxColumns));
  }
  for (const schema::DecodedColumn& c : block.columns) {
    std::string key;
    if (!schema::ColumnKeyFromPath(c.path, &key) || key.empty() ||
        key.size() > kMaxIdentifierBytes || key.find('\0') != std::string::npos) {
      return InvalidArgument(where + ": a field key is empty, longer than 63 bytes or has NUL");
    }
    if (key.rfind("tg_", 0) == 0) {
      return InvalidArgument(where + ": a field key starts with tg_ (the common columns' prefix)");
    }
    for (const std::string& k : *keys) {
      if (k == key) return InvalidArgument(where + ": a field is declared twice");
    }
    keys->push_back(std::move(key));
  }
  return Status::Ok();
}

using Definition = std::vector<std::pair<std::string, std::string>>;  // (path, type)

bool ParseDefinition(const std::string& json, Definition* out) {
  simdjson::dom::parser parser;
  simdjson::dom::array fields;
  if (parser.parse(simdjson::padded_string(json)).get(fields)) return false;
  for (simdjson::dom::element f : fields) {
    std::string_view path;
    std::string_view type;
    if (f["path"].get(path) || f["type"].get(type)) return false;
    out->emplace_back(path, type);
  }
  return true;
}

Status RegisterVersion(PGconn* conn, const schema::DecodedSchemaBlock& block,
                       const std::string& definition, int64_t received_at,
                       const std::string& where) {
  Params name;
  name.Add(block.name);
  TG_RETURN_IF_ERROR(
      ExecParams(conn, kLockPayloadSchema, name, PGRES_TUPLES_OK, "lock payload schema").status());
  TG_ASSIGN_OR_RETURN(ResultPtr res, ExecParams(conn, kSelectPayloadSchemas, name, PGRES_TUPLES_OK,
                                                "read payload schemas"));
  bool known = false;
  for (int row = 0; row < PQntuples(res.get()); ++row) {
    const int64_t version = IntValue(res.get(), row, 0);
    const std::string other = TextValue(res.get(), row, 1);
    if (version == block.version) {
      if (other != definition) {
        return InvalidArgument(where +
                               " was first seen with another definition; a changed "
                               "schema needs a new version or a new name");
      }
      known = true;
      continue;
    }
    const bool older = version < block.version;
    const std::string problem = older ? SchemaEvolutionProblem(other, definition)
                                      : SchemaEvolutionProblem(definition, other);
    if (!problem.empty()) {
      return InvalidArgument(
          fmt::format("{} is incompatible with v{}: {}; such a change needs a new schema name",
                      where, version, problem));
    }
  }
  if (known) return Status::Ok();
  Params none;
  TG_ASSIGN_OR_RETURN(ResultPtr count, ExecParams(conn, kCountPayloadSchemas, none, PGRES_TUPLES_OK,
                                                  "count payload schemas"));
  if (IntValue(count.get(), 0, 0) >= kMaxRegisteredVersions) {
    return InvalidArgument(fmt::format(
        "{} is not registered: the registry already holds {} schema versions, its bound", where,
        kMaxRegisteredVersions));
  }
  Params p;
  p.Add(block.name).Add(block.version).Add(definition).Add(received_at);
  return ExecParams(conn, kInsertPayloadSchema, p, PGRES_COMMAND_OK, "register payload schema")
      .status();
}

// Creates the table, or adds and widens its columns for block.
Status MigrateTable(PGconn* conn, const schema::DecodedSchemaBlock& block,
                    const std::vector<std::string>& keys, const std::string& table,
                    const std::string& where) {
  Params name;
  name.Add(block.name);
  TG_ASSIGN_OR_RETURN(ResultPtr res, ExecParams(conn, kSelectTypedColumns, name, PGRES_TUPLES_OK,
                                                "read typed table columns"));
  const int existing = PQntuples(res.get());
  std::string sql;
  for (size_t c = 0; c < keys.size(); ++c) {
    const auto [create_type, info_type] = PgType(block.columns[c].type);
    const std::string column = Ident(conn, keys[c]);
    int found = -1;
    for (int row = 0; row < existing && found < 0; ++row) {
      if (TextValue(res.get(), row, 0) == keys[c]) found = row;
    }
    std::string clause;
    if (existing == 0 || found < 0) {
      clause = fmt::format("{}{} {}", existing == 0 ? "" : "ADD COLUMN ", column, create_type);
    } else if (const std::string has = TextValue(res.get(), found, 1);
               has == "bigint" && info_type == "double precision") {
      clause = fmt::format("ALTER COLUMN {} TYPE double precision", column);
    } else if (has != info_type && !(has == "double precision" && info_type == "bigint")) {
      return InvalidArgument(fmt::format("{}: field {} is {} in the table, not {}", where,
                                         block.columns[c].path, has, info_type));
    }
    if (clause.empty()) continue;
    sql += sql.empty() ? "" : ", ";
    sql += clause;
  }
  if (existing == 0) {
    sql = fmt::format("CREATE TABLE {} ({}{}{})", table, kTypedTableCommonColumns,
                      sql.empty() ? "" : ", ", sql);
  } else if (!sql.empty()) {
    sql = fmt::format("ALTER TABLE {} {}", table, sql);
  }
  if (sql.empty()) return Status::Ok();
  return Exec(conn, sql.c_str(), "migrate typed table");
}

void AddValue(const schema::DecodedColumn& c, size_t r, ArrayLiteral* out) {
  if (c.form[r] == schema::kFormNull) {
    out->AddNull();
    return;
  }
  switch (c.type) {
    case ColumnType::kNumber:
      out->AddDouble(c.numbers[r]);
      return;
    case ColumnType::kInteger:
      out->AddInt(c.integers[r]);
      return;
    case ColumnType::kTimestamp:
      // Outside what the agent validates: a NULL rather than a batch that never lands.
      if (InRfc3339Range(c.integers[r])) {
        out->AddInt(c.integers[r]);
      } else {
        out->AddNull();
      }
      return;
    case ColumnType::kBoolean:
      out->AddBool(c.bools[r] != 0);
      return;
    case ColumnType::kString:
      out->AddText(c.strings[r]);
      return;
  }
}

Status InsertRows(PGconn* conn, const schema::DecodedBatch& batch,
                  const schema::DecodedSchemaBlock& block, const std::vector<std::string>& keys,
                  const std::string& table) {
  if (block.rows.empty()) return Status::Ok();
  ArrayLiteral seq, topic, device, event_time, ingest_time;
  std::vector<ArrayLiteral> values(keys.size());
  for (size_t r = 0; r < block.rows.size(); ++r) {
    const schema::DecodedEvent& e = batch.events[block.rows[r]];
    seq.AddInt(static_cast<int64_t>(e.seq));
    topic.AddText(e.topic);
    device.AddText(e.device_id);
    event_time.AddInt(e.event_time);
    ingest_time.AddInt(e.ingest_time);
    for (size_t c = 0; c < keys.size(); ++c) AddValue(block.columns[c], r, &values[c]);
  }
  Params p;
  p.Add(batch.agent_id).Add(block.version).Add(batch.batch_id).Add(seq.Finish());
  p.Add(topic.Finish()).Add(device.Finish()).Add(event_time.Finish()).Add(ingest_time.Finish());
  std::string names, selects, arrays, aliases;
  for (size_t c = 0; c < keys.size(); ++c) {
    const ColumnType type = block.columns[c].type;
    const std::string_view array_type =
        type == ColumnType::kTimestamp ? "bigint" : PgType(type).first;
    names += ", " + Ident(conn, keys[c]);
    selects += type == ColumnType::kTimestamp ? fmt::format(", to_timestamp(u.f{} / 1000.0)", c)
                                              : fmt::format(", u.f{}", c);
    arrays += fmt::format(", ${}::{}[]", 9 + c, array_type);
    aliases += fmt::format(", f{}", c);
    p.Add(values[c].Finish());
  }
  const std::string sql = fmt::format(
      "INSERT INTO {} (tg_agent_id, tg_seq, tg_topic, tg_device_id, tg_event_time,"
      " tg_ingest_time, tg_schema_version, tg_batch_id{})"
      " SELECT $1, u.c0, u.c1, u.c2, to_timestamp(u.c3 / 1000.0), to_timestamp(u.c4 / 1000.0),"
      " $2::bigint, $3{} FROM unnest($4::bigint[], $5::text[], $6::text[], $7::bigint[],"
      " $8::bigint[]{}) AS u(c0, c1, c2, c3, c4{})"
      " ON CONFLICT (tg_agent_id, tg_seq) DO NOTHING",
      table, names, selects, arrays, aliases);
  return ExecParams(conn, sql.c_str(), p, PGRES_COMMAND_OK, "insert typed rows").status();
}

}  // namespace

std::string SchemaDefinitionJson(const schema::DecodedSchemaBlock& block) {
  std::string out = "[";
  for (const schema::DecodedColumn& c : block.columns) {
    if (out.size() > 1) out.push_back(',');
    out += "{\"path\":";
    AppendJsonString(&out, c.path);
    out += ",\"type\":";
    AppendJsonString(&out, TypeName(c.type));
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string SchemaEvolutionProblem(const std::string& older, const std::string& newer) {
  Definition before, after;
  if (!ParseDefinition(older, &before) || !ParseDefinition(newer, &after)) {
    return "a registered definition is unreadable";
  }
  for (const auto& [path, type] : before) {
    const std::string* now = nullptr;
    for (const auto& [p, t] : after) {
      if (p == path) now = &t;
    }
    if (now == nullptr) return fmt::format("field {} is removed", path);
    if (*now != type && !(type == "integer" && *now == "number")) {
      return fmt::format("field {} changes type from {} to {}", path, type, *now);
    }
  }
  return "";
}

Status LandSchemaBlocks(PGconn* conn, const schema::DecodedBatch& batch, int64_t received_at) {
  std::vector<std::string> keys;
  for (const schema::DecodedSchemaBlock& block : batch.schema_blocks) {
    if (!IsValidName(block.name)) {
      return InvalidArgument("a schema name is not 1-63 characters of [a-z0-9_]");
    }
    const std::string where = fmt::format("schema {} v{}", block.name, block.version);
    TG_RETURN_IF_ERROR(ColumnKeys(block, where, &keys));
    TG_RETURN_IF_ERROR(
        RegisterVersion(conn, block, SchemaDefinitionJson(block), received_at, where));
    const std::string table = "tidegate_payload." + Ident(conn, block.name);
    TG_RETURN_IF_ERROR(MigrateTable(conn, block, keys, table, where));
    TG_RETURN_IF_ERROR(InsertRows(conn, batch, block, keys, table));
  }
  return Status::Ok();
}

}  // namespace tidegate::collector::pg
