// Small shared pieces of the SQLite store: the error for a failed SQLite call, running fixed SQL text, one use of a
// cached statement (Query) and a write transaction (Transaction). Internal to daemon/store.
#pragma once

#include "core/Error.h"

#include <cstddef>
#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <string_view>

namespace hangar::store {

// Error(BackendFailure) naming what failed, with SQLite's message for the connection's last error.
Error backendFailure(sqlite3* db, std::string_view what);

// For SQL without parameters: pragmas, migration steps, transaction control.
void exec(sqlite3* db, const std::string& sql, std::string_view what);

// Needs extended result codes on the connection, which SqliteStore turns on when it opens it.
bool isUniqueViolation(int rc);

// One use of a cached statement. Resetting on scope exit (including when an exception leaves it) keeps the
// statement from holding a read transaction open and clears the bindings for the next caller.
class Query
{
public:
    Query(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    ~Query()
    {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }

    void bind(int index, std::string_view text)
    {
        check(sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(m_stmt, index, value)); }

    // The raw result of one step, for callers that treat some failures specially.
    int stepCode() { return sqlite3_step(m_stmt); }

    // True while there is a row to read.
    bool next(std::string_view what)
    {
        const int rc = stepCode();
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        throw backendFailure(m_db, what);
    }

    void run(std::string_view what)
    {
        while (next(what)) {
        }
    }

    std::int64_t integer(int column) const { return sqlite3_column_int64(m_stmt, column); }
    bool isNull(int column) const { return sqlite3_column_type(m_stmt, column) == SQLITE_NULL; }
    std::string text(int column) const
    {
        // Read the pointer before the length: sqlite3_column_bytes is only valid after the conversion to text.
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
        if (data == nullptr)
            return {};
        return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column)));
    }

private:
    void check(int rc)
    {
        if (rc != SQLITE_OK)
            throw backendFailure(m_db, "cannot bind a parameter");
    }

    sqlite3* m_db;
    sqlite3_stmt* m_stmt;
};

// BEGIN IMMEDIATE takes the write lock up front, so a migration never fails half-way on a lock upgrade.
class Transaction
{
public:
    explicit Transaction(sqlite3* db) : m_db(db) { exec(m_db, "BEGIN IMMEDIATE", "cannot begin a transaction"); }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction()
    {
        if (!m_done)
            sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }

    void commit()
    {
        exec(m_db, "COMMIT", "cannot commit a transaction");
        m_done = true;
    }

private:
    sqlite3* m_db;
    bool m_done = false;
};

} // namespace hangar::store
