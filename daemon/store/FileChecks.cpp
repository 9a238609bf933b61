// Checks of hangar.db before it is used, and the backup before a migration. Declared in store/FileChecks.h.
#include "store/FileChecks.h"

#include "core/Error.h"
#include "store/SqliteSupport.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace hangar::store {
namespace {

constexpr std::string_view kWhatNow = "; see docs/store.md (\"When hangar.db is refused\")";

Error refused(const std::string& path, const std::string& why, std::string_view remedy)
{
    return Error(ErrorCode::BackendFailure, "store: " + path + " " + why + "; hangard will not start on it: " +
                                                std::string(remedy) + std::string(kWhatNow));
}

std::string hex(std::int64_t value)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "0x%08llx", static_cast<unsigned long long>(value) & 0xffffffffULL);
    return buffer;
}

// Runs one statement returning rows of one column; a failure is classified: a file that is not a database or is
// corrupt enough that SQLite cannot read its header or schema is refused with a message saying so.
std::vector<std::string> column(sqlite3* db, const std::string& path, const char* sql)
{
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
    std::vector<std::string> rows;
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
            rows.emplace_back(text != nullptr ? text : "");
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    // The primary code of an extended one (SQLITE_CORRUPT_INDEX and the like).
    const int primary = rc & 0xff;
    const std::string message = sqlite3_errmsg(db);
    sqlite3_finalize(raw);
    if (primary == SQLITE_NOTADB)
        throw refused(path, "is not an SQLite database (SQLite: " + message + ")",
                      "move it away to start with an empty inventory, or restore a backup");
    if (primary == SQLITE_CORRUPT)
        throw refused(path, "is damaged (SQLite: " + message + ")", "restore a backup, or move it away");
    if (rc != SQLITE_OK)
        throw backendFailure(db, std::string("cannot check ") + path);
    return rows;
}

} // namespace

void checkDatabaseFile(sqlite3* db, const std::string& path)
{
    const auto applicationId = std::stoll(column(db, path, "PRAGMA application_id").at(0));
    const auto userVersion = std::stoll(column(db, path, "PRAGMA user_version").at(0));
    const auto tables = column(db, path, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    const bool hasVms = std::find(tables.begin(), tables.end(), "vms") != tables.end();

    // Ours by its id; or from before the id (schema 1-4): a versioned file with our vms table; or empty (new).
    const bool ours = applicationId == kApplicationId || (applicationId == 0 && userVersion > 0 && hasVms) ||
                      (applicationId == 0 && userVersion == 0 && tables.empty());
    if (!ours) {
        std::string seen = "application_id " + hex(applicationId) + ", user_version " + std::to_string(userVersion);
        if (!tables.empty()) {
            seen += ", tables:";
            for (std::size_t i = 0; i < tables.size() && i < 5; ++i)
                seen += " " + tables[i];
            if (tables.size() > 5)
                seen += " ...";
        }
        throw refused(path, "is another program's SQLite database, not Hangar's (" + seen + ")",
                      "move it away, or set StateDirectory to a directory of Hangar's own");
    }

    // quick_check reads every page and checks the b-trees, without the index-content cross-check of
    // integrity_check: O(size of the file), a fraction of a second for a large inventory and audit log.
    const auto problems = column(db, path, "PRAGMA quick_check(5)");
    if (problems.size() != 1 || problems[0] != "ok") {
        std::string detail;
        for (const auto& line : problems)
            detail += (detail.empty() ? "" : "; ") + line;
        throw refused(path, "is damaged (quick_check: " + detail + ")",
                      "restore a backup (a <file>.v<N>.bak is taken before each migration), or move it away");
    }
}

std::string backupBeforeMigration(sqlite3* db, const std::string& path, std::int64_t version)
{
    std::string target = path + ".v" + std::to_string(version) + ".bak";
    // VACUUM INTO writes only into a missing or empty file; creating it empty first gives it mode 0600 like the
    // database it copies (the audit log and every user's VMs are in it).
    if (::unlink(target.c_str()) != 0 && errno != ENOENT)
        throw Error(ErrorCode::BackendFailure,
                    "store: cannot replace the old backup " + target + ": " + std::strerror(errno));
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        throw Error(ErrorCode::BackendFailure, "store: cannot create the backup " + target +
                                                   " before migrating the schema: " + std::strerror(errno));
    ::close(fd);
    // The file name is the admin's configured state directory, not caller input; quoted as an SQL string literal.
    std::string quoted;
    for (const char c : target)
        quoted += c == '\'' ? std::string("''") : std::string(1, c);
    if (sqlite3_exec(db, ("VACUUM INTO '" + quoted + "'").c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        Error error = backendFailure(db, "cannot back up " + path + " to " + target + " before migrating the schema");
        ::unlink(target.c_str());
        throw error;
    }
    return target;
}

} // namespace hangar::store
