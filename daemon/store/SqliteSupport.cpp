// Small shared pieces of the SQLite store. Declared in store/SqliteSupport.h.
#include "store/SqliteSupport.h"

namespace hangar::store {

Error backendFailure(sqlite3* db, std::string_view what)
{
    return Error(ErrorCode::BackendFailure, "store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& sql, std::string_view what)
{
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        throw backendFailure(db, what);
}

bool isUniqueViolation(int rc)
{
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

} // namespace hangar::store
