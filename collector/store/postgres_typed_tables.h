// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL store's per-schema tables: for each schema block of a batch (wire
// schema_version 2), the table tidegate_payload."<name>" with the common event columns
// (tg_agent_id, tg_seq, tg_topic, tg_device_id, tg_event_time, tg_ingest_time,
// tg_schema_version, tg_batch_id) and one typed column per declared field, registered in
// payload_schemas and migrated (CREATE TABLE, ADD COLUMN, integer -> double precision) in
// the landing transaction. Runs on the thread holding the connection, inside its
// transaction.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "schema/batch_view.h"

namespace tidegate::collector::pg {

// The registry definition of a block: [{"path":"/temp","type":"number"},...] in wire order.
std::string SchemaDefinitionJson(const schema::DecodedSchemaBlock& block);

// Why `newer` (a higher version of one name) is not a compatible successor of `older`, or ""
// if it is: every column of older must be in newer with the same type, or integer widened
// to number. Both are SchemaDefinitionJson texts; an unreadable one is a problem too.
std::string SchemaEvolutionProblem(const std::string& older, const std::string& newer);

// Registers, migrates and fills the table of each schema block of batch (its events were
// just inserted into events). kInvalidArgument, with a reason naming the schema, version and
// field, for a block that can never land: an invalid name or field key, a (name, version)
// first seen with another definition, or an incompatible change under one name; the caller
// rolls the whole batch back and rejects it. Other errors as LandingStore::Land.
Status LandSchemaBlocks(PGconn* conn, const schema::DecodedBatch& batch, int64_t received_at);

}  // namespace tidegate::collector::pg
