// SPDX-License-Identifier: Apache-2.0
#include "collector/store/open_landing_store.h"

#include "collector/store/postgres_landing_store.h"
#include "collector/store/sqlite_landing_store.h"

namespace tidegate::collector {

bool IsPostgresUrl(const std::string& spec) {
  return spec.starts_with("postgresql://") || spec.starts_with("postgres://");
}

Result<std::unique_ptr<LandingStore>> OpenLandingStore(const std::string& spec, Clock& clock,
                                                       bool read_only) {
  if (IsPostgresUrl(spec)) {
    if (read_only) {
      TG_ASSIGN_OR_RETURN(std::unique_ptr<PostgresLandingStore> store,
                          PostgresLandingStore::OpenReadOnly(spec));
      return std::unique_ptr<LandingStore>(std::move(store));
    }
    TG_ASSIGN_OR_RETURN(std::unique_ptr<PostgresLandingStore> store,
                        PostgresLandingStore::Open(spec, clock));
    return std::unique_ptr<LandingStore>(std::move(store));
  }
  if (read_only) {
    TG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteLandingStore> store,
                        SqliteLandingStore::OpenReadOnly(spec));
    return std::unique_ptr<LandingStore>(std::move(store));
  }
  TG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteLandingStore> store,
                      SqliteLandingStore::Open(spec, clock));
  return std::unique_ptr<LandingStore>(std::move(store));
}

}  // namespace tidegate::collector
