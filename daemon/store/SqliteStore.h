// The Store on SQLite: one database file (<state-dir>/hangar.db) in WAL mode, so readers never wait for the writer
// and a crash loses at most the last transaction, never the file. The schema is versioned through
// PRAGMA user_version and migrated forward on open, after a backup copy; a file written by a newer hangard, another
// program's database, or a damaged file is refused rather than guessed at (store/FileChecks.h). The path ":memory:"
// gives a private in-memory database for unit tests. Like every Store it is used from the loop thread only, so it holds
// one connection and no locks.
#pragma once

#include "core/Error.h"
#include "core/Store.h"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace hangar::store {

class SqliteStore final : public hangar::Store
{
public:
    // Opens or creates the database and migrates it to the current schema. A new file is created 0600 (further
    // narrowed by the umask): it holds every user's VMs and audit log. Throws Error(BackendFailure).
    explicit SqliteStore(const std::string& path);

    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;
    SqliteStore(SqliteStore&&) = delete;
    SqliteStore& operator=(SqliteStore&&) = delete;
    ~SqliteStore() override;

    // Finalizes the statements and closes the connection at once; nothing may use the store afterwards. For an
    // exit that skips destructors (service/Daemon.cpp, a copy stuck in a read).
    void close();

    // The copy taken before this open migrated an older schema ("<path>.v<N>.bak"), or "" when none was needed.
    const std::string& migrationBackup() const { return m_backup; }

    std::vector<VmRecord> loadVms() override;
    void insertVm(const VmRecord& vm) override;
    void updateVm(const VmRecord& vm) override;
    void deleteVm(const std::string& uuid) override;
    void addGuestChange(const std::string& uuid, const GuestChange& change) override;

    std::vector<ImageRecord> loadImages() override;
    void insertImage(const ImageRecord& image) override;
    void updateImage(const ImageRecord& image) override;
    void deleteImage(const std::string& id) override;

    EventRecord appendEvent(EventRecord event) override;
    std::vector<EventRecord> events(const EventFilter& filter) override;
    std::optional<QuotaLimits> quota(std::uint32_t uid) override;
    void setQuota(std::uint32_t uid, const QuotaLimits& limits) override;
    void deleteQuota(std::uint32_t uid) override;

private:
    // Fills addedUsers and installedPackages of vms from vm_guest_changes.
    void loadGuestChanges(std::vector<VmRecord>& vms);
    struct ConnectionDeleter
    {
        void operator()(sqlite3* db) const noexcept;
    };
    struct StatementDeleter
    {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };

    // Prepared once per distinct SQL text and reused: the same few statements run on every call.
    sqlite3_stmt* statement(std::string_view sql);
    void configure(bool inMemory);
    void migrate();
    bool uuidExists(const std::string& uuid);
    // The provisioning table (SqliteStoreProvisioning.cpp): written with the VM's row, read into the loaded VMs.
    void insertProvisioning(const VmRecord& vm);
    void loadProvisioning(std::vector<VmRecord>& vms);
    // The error for a write of a VM named `name` that hit the unique name: AlreadyExists, or Busy while the row
    // holding it is one a crash left half-done.
    Error nameTaken(const std::string& name);
    // Throws the AlreadyExists error for a write of `image` that hit a unique constraint, naming what was taken.
    [[noreturn]] void throwImageClash(const ImageRecord& image, bool inserting);

    std::string m_path;
    std::string m_backup;
    // Declared before the statements so that they are finalized before the connection closes.
    std::unique_ptr<sqlite3, ConnectionDeleter> m_db;
    std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StatementDeleter>> m_statements;
};

} // namespace hangar::store
