// The Store on SQLite: opening and configuring the connection, migrating the schema, the statement cache, and the vms
// table. The other tables are in SqliteStoreImages.cpp, SqliteStoreEvents.cpp and SqliteStoreQuotas.cpp.
#include "store/SqliteStore.h"

#include "core/Error.h"
#include "store/FileChecks.h"
#include "store/Migrations.h"
#include "store/SqliteSupport.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sqlite3.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace hangar::store {
namespace {

// Long enough to ride out an admin's sqlite3 shell or a backup; short enough not to stall the loop for good.
constexpr int kBusyTimeoutMs = 5000;

constexpr std::string_view kVmColumns = "uuid, name, owner, vcpus, memory_mib, disk_gib, description, created_at_usec, "
                                        "host, phase, kernel, initrd, cmdline, image, disk_volume, cdrom_volume, "
                                        "ephemeral, has_run, expires_at";

Error newerSchema(const std::string& path, std::int64_t version)
{
    return Error(ErrorCode::BackendFailure, "store: " + path + ": database schema version " + std::to_string(version) +
                                                " is newer than this hangard supports (" +
                                                std::to_string(schemaVersion()) +
                                                "); run a newer hangard or restore a backup");
}

// Binds the VM's columns in the order of kVmColumns, starting at parameter 1.
void bindVm(Query& query, const VmRecord& vm)
{
    query.bind(1, vm.uuid);
    query.bind(2, vm.name);
    query.bind(3, static_cast<std::int64_t>(vm.owner));
    query.bind(4, static_cast<std::int64_t>(vm.spec.vcpus));
    query.bind(5, static_cast<std::int64_t>(vm.spec.memoryMiB));
    query.bind(6, static_cast<std::int64_t>(vm.spec.diskGiB));
    query.bind(7, vm.spec.description);
    query.bind(8, vm.createdAtUsec);
    query.bind(9, vm.host);
    query.bind(10, phaseName(vm.phase));
    query.bind(11, vm.spec.kernel);
    query.bind(12, vm.spec.initrd);
    query.bind(13, vm.spec.cmdline);
    query.bind(14, vm.image);
    query.bind(15, vm.diskVolume);
    query.bind(16, vm.cdromVolume);
    query.bind(17, static_cast<std::int64_t>(vm.ephemeral ? 1 : 0));
    query.bind(18, static_cast<std::int64_t>(vm.hasRun ? 1 : 0));
    query.bind(19, vm.expiresAt);
}

VmRecord readVm(const Query& query)
{
    VmRecord vm;
    vm.uuid = query.text(0);
    vm.name = query.text(1);
    vm.owner = static_cast<std::uint32_t>(query.integer(2));
    vm.spec.vcpus = static_cast<std::uint32_t>(query.integer(3));
    vm.spec.memoryMiB = static_cast<std::uint64_t>(query.integer(4));
    vm.spec.diskGiB = static_cast<std::uint64_t>(query.integer(5));
    vm.spec.description = query.text(6);
    vm.createdAtUsec = query.integer(7);
    vm.host = query.text(8);
    const std::string phase = query.text(9);
    const auto parsed = phaseFromName(phase);
    if (!parsed)
        throw Error(ErrorCode::BackendFailure,
                    "store: VM '" + vm.name + "' (" + vm.uuid + ") has unknown phase '" + phase + "' in the database");
    vm.phase = *parsed;
    vm.spec.kernel = query.text(10);
    vm.spec.initrd = query.text(11);
    vm.spec.cmdline = query.text(12);
    vm.image = query.text(13);
    vm.diskVolume = query.text(14);
    vm.cdromVolume = query.text(15);
    vm.ephemeral = query.integer(16) != 0;
    vm.hasRun = query.integer(17) != 0;
    vm.expiresAt = query.integer(18);
    return vm;
}

// SQLite creates a new database file 0644 (less the umask). Creating it first with 0600 makes SQLite keep that
// mode, and gives the -wal and -shm files the same one. An existing file keeps whatever mode the admin chose.
void createPrivateFile(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        throw Error(ErrorCode::BackendFailure, "store: cannot open database " + path + ": " + std::strerror(errno));
    ::close(fd);
}

} // namespace

void SqliteStore::ConnectionDeleter::operator()(sqlite3* db) const noexcept
{
    sqlite3_close_v2(db);
}

void SqliteStore::StatementDeleter::operator()(sqlite3_stmt* stmt) const noexcept
{
    sqlite3_finalize(stmt);
}

SqliteStore::SqliteStore(const std::string& path) : m_path(path)
{
    const bool inMemory = path == ":memory:";
    if (!inMemory)
        createPrivateFile(path);

    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    // SQLite hands out a connection even when opening fails; it must be closed all the same.
    m_db.reset(raw);
    if (rc != SQLITE_OK) {
        const std::string detail = m_db ? sqlite3_errmsg(m_db.get()) : sqlite3_errstr(rc);
        throw Error(ErrorCode::BackendFailure, "store: cannot open database " + path + ": " + detail);
    }

    configure(inMemory);
    migrate();
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::close()
{
    m_statements.clear();
    m_db.reset();
}

void SqliteStore::configure(bool inMemory)
{
    sqlite3* db = m_db.get();
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    exec(db, "PRAGMA foreign_keys = ON", "cannot enable foreign keys on " + m_path);
    if (inMemory)
        return;

    // Checked before switching to WAL, so that a file that is not ours, is damaged or comes from a newer hangard is
    // refused without being touched.
    checkDatabaseFile(db, m_path);
    {
        Query query(db, statement("PRAGMA user_version"));
        if (query.next("cannot read the schema version of " + m_path) && query.integer(0) > schemaVersion())
            throw newerSchema(m_path, query.integer(0));
    }

    std::string mode;
    {
        Query query(db, statement("PRAGMA journal_mode = WAL"));
        if (query.next("cannot switch " + m_path + " to WAL mode"))
            mode = query.text(0);
    }
    // SQLite reports the old mode instead of failing when WAL is impossible (e.g. no shared memory on the
    // file system); running without it would silently lose the crash safety the daemon relies on.
    if (mode != "wal")
        throw Error(ErrorCode::BackendFailure,
                    "store: " + m_path + ": cannot switch to WAL journal mode (got '" + mode + "')");
    // In WAL mode NORMAL cannot corrupt the database; it only risks the last commits on power loss.
    exec(db, "PRAGMA synchronous = NORMAL", "cannot set synchronous mode on " + m_path);
}

void SqliteStore::migrate()
{
    sqlite3* db = m_db.get();
    if (m_path != ":memory:") {
        std::int64_t version = 0;
        {
            Query query(db, statement("PRAGMA user_version"));
            if (query.next("cannot read the schema version of " + m_path))
                version = query.integer(0);
        }
        // A database with data in it is copied before the first step changes it, so an admin can go back to the
        // hangard that wrote it. (Another process migrating at the same moment only makes this copy older.)
        if (version > 0 && version < schemaVersion())
            m_backup = backupBeforeMigration(db, m_path, version);
    }
    for (;;) {
        // The version is read inside the write transaction, so two processes opening a fresh file cannot both
        // apply the same step.
        Transaction transaction(db);
        std::int64_t version = 0;
        {
            Query query(db, statement("PRAGMA user_version"));
            if (query.next("cannot read the schema version of " + m_path))
                version = query.integer(0);
        }
        if (version > schemaVersion())
            throw newerSchema(m_path, version);
        if (version == schemaVersion()) {
            transaction.commit();
            return;
        }
        const std::string target = std::to_string(version + 1);
        exec(db, std::string(migrations()[static_cast<std::size_t>(version)]),
             "cannot migrate " + m_path + " to schema version " + target);
        // PRAGMA takes no bound parameters; the values are our own integers, never user input.
        exec(db, "PRAGMA user_version = " + target, "cannot record schema version " + target);
        exec(db, "PRAGMA application_id = " + std::to_string(kApplicationId), "cannot mark " + m_path + " as Hangar's");
        transaction.commit();
    }
}

sqlite3_stmt* SqliteStore::statement(std::string_view sql)
{
    std::string key(sql);
    if (auto it = m_statements.find(key); it != m_statements.end())
        return it->second.get();

    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(m_db.get(), key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                                      &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, StatementDeleter> stmt(raw);
    if (rc != SQLITE_OK)
        throw backendFailure(m_db.get(), "cannot prepare a statement");
    return m_statements.emplace(std::move(key), std::move(stmt)).first->second.get();
}

bool SqliteStore::uuidExists(const std::string& uuid)
{
    Query query(m_db.get(), statement("SELECT 1 FROM vms WHERE uuid = ?1"));
    query.bind(1, uuid);
    return query.next("cannot look up VM " + uuid);
}

std::vector<VmRecord> SqliteStore::loadVms()
{
    Query query(m_db.get(), statement("SELECT " + std::string(kVmColumns) + " FROM vms ORDER BY name"));
    std::vector<VmRecord> vms;
    while (query.next("cannot load VMs"))
        vms.push_back(readVm(query));
    loadProvisioning(vms);
    loadGuestChanges(vms);
    return vms;
}

void SqliteStore::insertVm(const VmRecord& vm)
{
    int rc = SQLITE_OK;
    // The VM and its provisioning are one row each, written together.
    Transaction transaction(m_db.get());
    {
        Query query(m_db.get(), statement("INSERT INTO vms (" + std::string(kVmColumns) +
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                                          "?15, ?16, ?17, ?18, ?19)"));
        bindVm(query, vm);
        rc = query.stepCode();
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot insert VM '" + vm.name + "'");
    }
    if (rc == SQLITE_DONE) {
        insertProvisioning(vm);
        transaction.commit();
        return;
    }
    // Asking again is simpler and sturdier than parsing which column SQLite's message names.
    if (uuidExists(vm.uuid))
        throw Error(ErrorCode::AlreadyExists, "a VM with UUID " + vm.uuid + " already exists");
    throw nameTaken(vm.name);
}

Error SqliteStore::nameTaken(const std::string& name)
{
    Query query(m_db.get(), statement("SELECT phase FROM vms WHERE name = ?1"));
    query.bind(1, name);
    const std::string phase = query.next("cannot look up VM '" + name + "'") ? query.text(0) : "";
    // The inventory is checked first: a row it does not hold, left half-done, is one a crash interrupted and
    // start-up recovery is still cleaning up (core/Reconciler retries until it is gone).
    if (!phase.empty() && phase != phaseName(VmPhase::Ready))
        return Error(ErrorCode::Busy, "the name '" + name + "' is held by a VM whose " +
                                          (phase == phaseName(VmPhase::Creating) ? "creation" : "deletion") +
                                          " was interrupted when hangard stopped; it is being cleaned up, try again "
                                          "shortly");
    return Error(ErrorCode::AlreadyExists, "a VM named '" + name + "' already exists");
}

void SqliteStore::updateVm(const VmRecord& vm)
{
    Query query(m_db.get(), statement("UPDATE vms SET name = ?2, owner = ?3, vcpus = ?4, memory_mib = ?5, "
                                      "disk_gib = ?6, description = ?7, created_at_usec = ?8, host = ?9, "
                                      "phase = ?10, kernel = ?11, initrd = ?12, cmdline = ?13, image = ?14, "
                                      "disk_volume = ?15, cdrom_volume = ?16, ephemeral = ?17, has_run = ?18, "
                                      "expires_at = ?19 WHERE uuid = ?1"));
    bindVm(query, vm);
    const int rc = query.stepCode();
    // uuid is the key being matched, so a unique violation can only be the name.
    if (isUniqueViolation(rc))
        throw nameTaken(vm.name);
    if (rc != SQLITE_DONE)
        throw backendFailure(m_db.get(), "cannot update VM '" + vm.name + "'");
    if (sqlite3_changes(m_db.get()) == 0)
        throw Error(ErrorCode::NotFound, "no VM with UUID " + vm.uuid);
}

void SqliteStore::deleteVm(const std::string& uuid)
{
    Query query(m_db.get(), statement("DELETE FROM vms WHERE uuid = ?1"));
    query.bind(1, uuid);
    query.run("cannot delete VM " + uuid);
}

} // namespace hangar::store
