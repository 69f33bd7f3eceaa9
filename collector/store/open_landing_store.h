// SPDX-License-Identifier: Apache-2.0
// OpenLandingStore: the store a `--store SPEC` names. SPEC is a directory (SQLite,
// SPEC/landing.db) or a postgresql:// or postgres:// connection URL.
#pragma once

#include <memory>
#include <string>

#include "collector/store/landing_store.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidegate::collector {

// True if spec is a PostgreSQL connection URL rather than a directory.
bool IsPostgresUrl(const std::string& spec);

// Opens the store for landing (read_only false: a SQLite directory must exist, the
// database is created or migrated) or for reading (dump: kNotFound if nothing was ever
// landed there). `clock` stamps received_at and must outlive the store.
Result<std::unique_ptr<LandingStore>> OpenLandingStore(const std::string& spec, Clock& clock,
                                                       bool read_only);

}  // namespace tidegate::collector
