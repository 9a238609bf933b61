#include "store/SqliteStore.h"

#include "core/Error.h"

#include <array>
#include <cerrno>
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

// Append-only: each entry takes the schema from version i to i + 1. A step that has been released is never edited,
// because databases out there already carry its result; fix mistakes with a new step.
constexpr std::array kMigrations{
    std::string_view{R"sql(
        CREATE TABLE vms (
            uuid            TEXT PRIMARY KEY NOT NULL,
            name            TEXT UNIQUE NOT NULL,
            owner           INTEGER NOT NULL,
            vcpus           INTEGER NOT NULL,
            memory_mib      INTEGER NOT NULL,
            disk_gib        INTEGER NOT NULL,
            description     TEXT NOT NULL,
            created_at_usec INTEGER NOT NULL,
            host            TEXT NOT NULL,
            phase           TEXT NOT NULL
        );
        CREATE TABLE events (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            time_usec INTEGER NOT NULL,
            uid       INTEGER NOT NULL,
            vm_uuid   TEXT NOT NULL,
            vm_name   TEXT NOT NULL,
            action    TEXT NOT NULL,
            outcome   TEXT NOT NULL,
            message   TEXT NOT NULL
        );
        CREATE INDEX events_vm_uuid ON events(vm_uuid);
        CREATE INDEX events_uid ON events(uid);
        CREATE INDEX events_time_usec ON events(time_usec);
    )sql"},
    // v2: per-user quotas (NULL = unlimited), and the owner of the VM an event is about, so a user can be shown
    // the events of their own VMs and no one else's. Rows from v1 get the owner of their VM where it still exists.
    std::string_view{R"sql(
        CREATE TABLE quotas (
            uid            INTEGER PRIMARY KEY NOT NULL,
            max_vms        INTEGER,
            max_running    INTEGER,
            max_vcpus      INTEGER,
            max_memory_mib INTEGER,
            max_disk_gib   INTEGER
        );
        ALTER TABLE events ADD COLUMN vm_owner INTEGER;
        UPDATE events SET vm_owner = (SELECT owner FROM vms WHERE vms.uuid = events.vm_uuid) WHERE vm_uuid != '';
        CREATE INDEX events_vm_owner ON events(vm_owner);
    )sql"},
    // v3: direct kernel boot. File names inside the daemon's boot directory and the kernel command line; '' = not
    // set, which is what every VM from v2 gets.
    std::string_view{R"sql(
        ALTER TABLE vms ADD COLUMN kernel TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN initrd TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN cmdline TEXT NOT NULL DEFAULT '';
    )sql"},
    // v4: images, and the volumes each VM is made of ('' = none, which is what every VM from v3 gets). The CHECKs
    // make a typo in a hand edit fail at once instead of at the next start-up; a new format or phase therefore
    // needs a step that rebuilds the table. vms.image has no REFERENCES: '' stands for "no image", and whether an
    // image is still in use is decided by core, which refuses the deletion with a message naming the VMs.
    std::string_view{R"sql(
        CREATE TABLE images (
            id                 TEXT PRIMARY KEY NOT NULL,
            name               TEXT UNIQUE NOT NULL,
            format             TEXT NOT NULL CHECK (format IN ('qcow2', 'raw', 'iso')),
            size_bytes         INTEGER NOT NULL,
            virtual_size_bytes INTEGER NOT NULL,
            owner              INTEGER NOT NULL,
            created_at_usec    INTEGER NOT NULL,
            description        TEXT NOT NULL,
            volume             TEXT UNIQUE NOT NULL,
            phase              TEXT NOT NULL CHECK (phase IN ('importing', 'ready', 'deleting'))
        );
        ALTER TABLE vms ADD COLUMN image TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN disk_volume TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN cdrom_volume TEXT NOT NULL DEFAULT '';
    )sql"},
};

constexpr auto kSchemaVersion = static_cast<std::int64_t>(kMigrations.size());

constexpr std::string_view kVmColumns = "uuid, name, owner, vcpus, memory_mib, disk_gib, description, created_at_usec, "
                                        "host, phase, kernel, initrd, cmdline, image, disk_volume, cdrom_volume";
constexpr std::string_view kImageColumns =
    "id, name, format, size_bytes, virtual_size_bytes, owner, created_at_usec, description, volume, phase";

Error backendFailure(sqlite3* db, std::string_view what)
{
    return Error(ErrorCode::BackendFailure, "store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& sql, std::string_view what)
{
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        throw backendFailure(db, what);
}

Error newerSchema(const std::string& path, std::int64_t version)
{
    return Error(ErrorCode::BackendFailure, "store: " + path + ": database schema version " + std::to_string(version) +
                                                " is newer than this hangard supports (" +
                                                std::to_string(kSchemaVersion) +
                                                "); run a newer hangard or restore a backup");
}

bool isUniqueViolation(int rc)
{
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

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
    return vm;
}

Error nameTaken(const std::string& name)
{
    return Error(ErrorCode::AlreadyExists, "a VM named '" + name + "' already exists");
}

// Binds the image's columns in the order of kImageColumns, starting at parameter 1.
void bindImage(Query& query, const ImageRecord& image)
{
    query.bind(1, image.id);
    query.bind(2, image.name);
    query.bind(3, formatName(image.format));
    // Sizes above 2^63 (none are real) wrap to negative integers and come back unchanged through the casts.
    query.bind(4, static_cast<std::int64_t>(image.sizeBytes));
    query.bind(5, static_cast<std::int64_t>(image.virtualSizeBytes));
    query.bind(6, static_cast<std::int64_t>(image.owner));
    query.bind(7, image.createdAtUsec);
    query.bind(8, image.description);
    query.bind(9, image.volume);
    query.bind(10, imagePhaseName(image.phase));
}

Error corruptImage(const ImageRecord& image, std::string_view column, const std::string& value)
{
    return Error(ErrorCode::BackendFailure, "store: image '" + image.name + "' (" + image.id + ") has unknown " +
                                                std::string(column) + " '" + value + "' in the database");
}

ImageRecord readImage(const Query& query)
{
    ImageRecord image;
    image.id = query.text(0);
    image.name = query.text(1);
    const std::string format = query.text(2);
    image.sizeBytes = static_cast<std::uint64_t>(query.integer(3));
    image.virtualSizeBytes = static_cast<std::uint64_t>(query.integer(4));
    image.owner = static_cast<std::uint32_t>(query.integer(5));
    image.createdAtUsec = query.integer(6);
    image.description = query.text(7);
    image.volume = query.text(8);
    const std::string phase = query.text(9);
    const auto parsedFormat = formatFromName(format);
    if (!parsedFormat)
        throw corruptImage(image, "format", format);
    image.format = *parsedFormat;
    const auto parsedPhase = imagePhaseFromName(phase);
    if (!parsedPhase)
        throw corruptImage(image, "phase", phase);
    image.phase = *parsedPhase;
    return image;
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

void SqliteStore::configure(bool inMemory)
{
    sqlite3* db = m_db.get();
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    exec(db, "PRAGMA foreign_keys = ON", "cannot enable foreign keys on " + m_path);
    if (inMemory)
        return;

    // Checked before switching to WAL, so that a file from a newer hangard is refused without being touched.
    {
        Query query(db, statement("PRAGMA user_version"));
        if (query.next("cannot read the schema version of " + m_path) && query.integer(0) > kSchemaVersion)
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
        if (version > kSchemaVersion)
            throw newerSchema(m_path, version);
        if (version == kSchemaVersion) {
            transaction.commit();
            return;
        }
        const std::string target = std::to_string(version + 1);
        exec(db, std::string(kMigrations[static_cast<std::size_t>(version)]),
             "cannot migrate " + m_path + " to schema version " + target);
        // PRAGMA takes no bound parameters; the value is our own integer, never user input.
        exec(db, "PRAGMA user_version = " + target, "cannot record schema version " + target);
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
    return vms;
}

void SqliteStore::insertVm(const VmRecord& vm)
{
    int rc = SQLITE_OK;
    {
        Query query(m_db.get(), statement("INSERT INTO vms (" + std::string(kVmColumns) +
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                                          "?15, ?16)"));
        bindVm(query, vm);
        rc = query.stepCode();
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot insert VM '" + vm.name + "'");
    }
    if (rc == SQLITE_DONE)
        return;
    // Asking again is simpler and sturdier than parsing which column SQLite's message names.
    if (uuidExists(vm.uuid))
        throw Error(ErrorCode::AlreadyExists, "a VM with UUID " + vm.uuid + " already exists");
    throw nameTaken(vm.name);
}

void SqliteStore::updateVm(const VmRecord& vm)
{
    Query query(m_db.get(), statement("UPDATE vms SET name = ?2, owner = ?3, vcpus = ?4, memory_mib = ?5, "
                                      "disk_gib = ?6, description = ?7, created_at_usec = ?8, host = ?9, "
                                      "phase = ?10, kernel = ?11, initrd = ?12, cmdline = ?13, image = ?14, "
                                      "disk_volume = ?15, cdrom_volume = ?16 WHERE uuid = ?1"));
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

std::vector<ImageRecord> SqliteStore::loadImages()
{
    Query query(m_db.get(), statement("SELECT " + std::string(kImageColumns) + " FROM images ORDER BY name"));
    std::vector<ImageRecord> images;
    while (query.next("cannot load images"))
        images.push_back(readImage(query));
    return images;
}

void SqliteStore::insertImage(const ImageRecord& image)
{
    int rc = SQLITE_OK;
    {
        Query query(m_db.get(), statement("INSERT INTO images (" + std::string(kImageColumns) +
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
        bindImage(query, image);
        rc = query.stepCode();
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot insert image '" + image.name + "'");
    }
    if (rc != SQLITE_DONE)
        throwImageClash(image, true);
}

void SqliteStore::updateImage(const ImageRecord& image)
{
    int rc = SQLITE_OK;
    {
        Query query(m_db.get(),
                    statement("UPDATE images SET name = ?2, format = ?3, size_bytes = ?4, virtual_size_bytes = ?5, "
                              "owner = ?6, created_at_usec = ?7, description = ?8, volume = ?9, phase = ?10 "
                              "WHERE id = ?1"));
        bindImage(query, image);
        rc = query.stepCode();
        if (rc == SQLITE_DONE && sqlite3_changes(m_db.get()) == 0)
            throw Error(ErrorCode::NotFound, "no image with id " + image.id);
        if (rc != SQLITE_DONE && !isUniqueViolation(rc))
            throw backendFailure(m_db.get(), "cannot update image '" + image.name + "'");
    }
    if (rc != SQLITE_DONE)
        throwImageClash(image, false);
}

void SqliteStore::deleteImage(const std::string& id)
{
    Query query(m_db.get(), statement("DELETE FROM images WHERE id = ?1"));
    query.bind(1, id);
    query.run("cannot delete image " + id);
}

void SqliteStore::throwImageClash(const ImageRecord& image, bool inserting)
{
    // Asking which rows collide is simpler and sturdier than parsing which column SQLite's message names.
    bool idClash = false;
    bool nameClash = false;
    bool volumeClash = false;
    {
        Query query(m_db.get(),
                    statement("SELECT id, name, volume FROM images WHERE id = ?1 OR name = ?2 OR volume = ?3"));
        query.bind(1, image.id);
        query.bind(2, image.name);
        query.bind(3, image.volume);
        while (query.next("cannot look up image '" + image.name + "'")) {
            if (query.text(0) == image.id) {
                // On update that row is the one being replaced, not a clash.
                idClash = idClash || inserting;
                continue;
            }
            nameClash = nameClash || query.text(1) == image.name;
            volumeClash = volumeClash || query.text(2) == image.volume;
        }
    }
    if (idClash)
        throw Error(ErrorCode::AlreadyExists, "an image with id " + image.id + " already exists");
    if (nameClash)
        throw Error(ErrorCode::AlreadyExists, "an image named '" + image.name + "' already exists");
    if (volumeClash)
        throw Error(ErrorCode::AlreadyExists,
                    "image '" + image.name + "': volume '" + image.volume + "' already belongs to another image");
    // Only another process changing the file in between gets here.
    throw Error(ErrorCode::AlreadyExists, "image '" + image.name + "' (" + image.id + ") clashes with another image");
}

EventRecord SqliteStore::appendEvent(EventRecord event)
{
    Query query(m_db.get(), statement("INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message, "
                                      "vm_owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    query.bind(1, event.timeUsec);
    query.bind(2, static_cast<std::int64_t>(event.uid));
    query.bind(3, event.vmUuid);
    query.bind(4, event.vmName);
    query.bind(5, event.action);
    query.bind(6, event.outcome);
    query.bind(7, event.message);
    if (event.vmOwner)
        query.bind(8, static_cast<std::int64_t>(*event.vmOwner));
    query.run("cannot append an event");
    event.id = sqlite3_last_insert_rowid(m_db.get());
    return event;
}

std::vector<EventRecord> SqliteStore::events(const EventFilter& filter)
{
    // Only the conditions in use go into the SQL, so each combination gets a plan that uses its index
    // ("?1 IS NULL OR vm_uuid = ?1" would not). The text is made of fixed fragments; values are always bound.
    std::string where = "1";
    if (filter.vmUuid)
        where += " AND vm_uuid = ?1";
    if (filter.uid)
        where += " AND uid = ?2";
    if (filter.sinceUsec)
        where += " AND time_usec >= ?3";
    if (filter.visibleTo)
        where += " AND (uid = ?5 OR vm_owner = ?5)";
    // Newest first to apply the limit, then turned around: callers read a log top to bottom.
    Query query(m_db.get(),
                statement("SELECT id, time_usec, uid, vm_uuid, vm_name, action, outcome, message, vm_owner FROM "
                          "(SELECT * FROM events WHERE " +
                          where + " ORDER BY id DESC LIMIT ?4) ORDER BY id ASC"));
    if (filter.vmUuid)
        query.bind(1, *filter.vmUuid);
    if (filter.uid)
        query.bind(2, static_cast<std::int64_t>(*filter.uid));
    if (filter.sinceUsec)
        query.bind(3, *filter.sinceUsec);
    query.bind(4, static_cast<std::int64_t>(filter.limit));
    if (filter.visibleTo)
        query.bind(5, static_cast<std::int64_t>(*filter.visibleTo));

    std::vector<EventRecord> result;
    while (query.next("cannot read events")) {
        EventRecord event;
        event.id = query.integer(0);
        event.timeUsec = query.integer(1);
        event.uid = static_cast<std::uint32_t>(query.integer(2));
        event.vmUuid = query.text(3);
        event.vmName = query.text(4);
        event.action = query.text(5);
        event.outcome = query.text(6);
        event.message = query.text(7);
        if (!query.isNull(8))
            event.vmOwner = static_cast<std::uint32_t>(query.integer(8));
        result.push_back(std::move(event));
    }
    return result;
}

std::optional<QuotaLimits> SqliteStore::quota(std::uint32_t uid)
{
    Query query(m_db.get(),
                statement("SELECT max_vms, max_running, max_vcpus, max_memory_mib, max_disk_gib FROM quotas "
                          "WHERE uid = ?1"));
    query.bind(1, static_cast<std::int64_t>(uid));
    if (!query.next("cannot read a quota"))
        return std::nullopt;
    auto u32 = [&](int column) -> std::optional<std::uint32_t> {
        if (query.isNull(column))
            return std::nullopt;
        return static_cast<std::uint32_t>(query.integer(column));
    };
    auto u64 = [&](int column) -> std::optional<std::uint64_t> {
        if (query.isNull(column))
            return std::nullopt;
        return static_cast<std::uint64_t>(query.integer(column));
    };
    QuotaLimits limits;
    limits.maxVms = u32(0);
    limits.maxRunning = u32(1);
    limits.maxVcpus = u32(2);
    limits.maxMemoryMiB = u64(3);
    limits.maxDiskGiB = u64(4);
    query.run("cannot read a quota");
    return limits;
}

void SqliteStore::setQuota(std::uint32_t uid, const QuotaLimits& limits)
{
    Query query(m_db.get(), statement("INSERT OR REPLACE INTO quotas (uid, max_vms, max_running, max_vcpus, "
                                      "max_memory_mib, max_disk_gib) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    query.bind(1, static_cast<std::int64_t>(uid));
    // Unset parameters stay NULL: unlimited.
    if (limits.maxVms)
        query.bind(2, static_cast<std::int64_t>(*limits.maxVms));
    if (limits.maxRunning)
        query.bind(3, static_cast<std::int64_t>(*limits.maxRunning));
    if (limits.maxVcpus)
        query.bind(4, static_cast<std::int64_t>(*limits.maxVcpus));
    if (limits.maxMemoryMiB)
        query.bind(5, static_cast<std::int64_t>(*limits.maxMemoryMiB));
    if (limits.maxDiskGiB)
        query.bind(6, static_cast<std::int64_t>(*limits.maxDiskGiB));
    query.run("cannot store a quota");
}

void SqliteStore::deleteQuota(std::uint32_t uid)
{
    Query query(m_db.get(), statement("DELETE FROM quotas WHERE uid = ?1"));
    query.bind(1, static_cast<std::int64_t>(uid));
    query.run("cannot delete a quota");
}

} // namespace hangar::store
