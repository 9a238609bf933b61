// The schema of hangar.db as an ordered list of migration steps: step i takes a database from PRAGMA user_version i
// to i + 1, so the current schema version is the number of steps. SqliteStore applies the missing steps on open, each
// in its own transaction. The list is append-only (see docs/store.md). Internal to daemon/store.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hangar::store {

// The SQL of each step; entry i takes the schema from version i to i + 1.
std::span<const std::string_view> migrations();

// The version of a fully migrated database.
std::int64_t schemaVersion();

} // namespace hangar::store
