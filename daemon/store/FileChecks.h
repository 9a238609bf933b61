// What SqliteStore checks about hangar.db before it trusts the file: that it is an SQLite database at all, that it is
// Hangar's (not some other program's file at the configured path), and that it is not damaged; and the backup it
// takes before a migration changes the schema. Each refusal is Error(BackendFailure) with a message saying what is
// wrong with which file and what the admin can do; the file is never modified by a refusal. Internal to daemon/store.
#pragma once

#include <cstdint>
#include <sqlite3.h>
#include <string>

namespace hangar::store {

// PRAGMA application_id of every database hangard creates: "HANG". Databases from schema versions 1-4 predate it
// and carry 0; they are recognised by their tables and get the id on their next migration.
inline constexpr std::int32_t kApplicationId = 0x48414e47;

// Throws when the file is not an SQLite database, is another program's database, or fails PRAGMA quick_check.
// An empty (new) database passes.
void checkDatabaseFile(sqlite3* db, const std::string& path);

// Copies the whole database (VACUUM INTO) to "<path>.v<version>.bak", mode 0600, replacing an older copy of that
// name, and returns the name. Called before a migration step changes a database that has data in it.
std::string backupBeforeMigration(sqlite3* db, const std::string& path, std::int64_t version);

} // namespace hangar::store
