// The common ground of SqliteStore's tests (SqliteVmStoreTest, SqliteImageStoreTest, SqliteEventStoreTest,
// SqliteStoreFileTest): a temporary directory per test, a raw SQLite connection for what the Store interface does
// not show, and records to store.
#pragma once

#include "core/Error.h"
#include "store/SqliteStore.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <sqlite3.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <vector>

namespace hangar::store {

namespace fs = std::filesystem;

// A fresh directory per test, removed with everything in it (the -wal and -shm files included).
class TempDir
{
public:
    TempDir()
    {
        std::string pattern = (fs::temp_directory_path() / "hangar-store-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir()
    {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }

    fs::path path() const { return m_path; }

private:
    fs::path m_path;
};

class UmaskGuard
{
public:
    explicit UmaskGuard(mode_t mask) : m_previous(::umask(mask)) {}
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;
    ~UmaskGuard() { ::umask(m_previous); }

private:
    mode_t m_previous;
};

// A second, independent connection, to look at the file the way another tool would.
struct RawConnectionDeleter
{
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using RawConnection = std::unique_ptr<sqlite3, RawConnectionDeleter>;

inline RawConnection openRaw(const fs::path& path)
{
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    RawConnection db(raw);
    if (rc != SQLITE_OK)
        throw std::runtime_error("cannot open " + path.string());
    return db;
}

inline void execRaw(sqlite3* db, const std::string& sql)
{
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
}

inline std::string queryText(sqlite3* db, const std::string& sql)
{
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
        throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW)
        throw std::runtime_error(sql + ": no row");
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    return text == nullptr ? std::string() : std::string(text);
}

// The tables of schema version 1, with one VM ('old-vm', owner 1234), as that version wrote them; a test adds its
// own rows and sets PRAGMA user_version = 1.
inline constexpr const char* kVersion1WithOneVm = R"sql(
    CREATE TABLE vms (uuid TEXT PRIMARY KEY NOT NULL, name TEXT UNIQUE NOT NULL, owner INTEGER NOT NULL,
        vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL, disk_gib INTEGER NOT NULL,
        description TEXT NOT NULL, created_at_usec INTEGER NOT NULL, host TEXT NOT NULL, phase TEXT NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_usec INTEGER NOT NULL,
        uid INTEGER NOT NULL, vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL, action TEXT NOT NULL,
        outcome TEXT NOT NULL, message TEXT NOT NULL);
    INSERT INTO vms VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'old-vm', 1234, 1, 512, 10, '', 1,
        'local', 'ready');
)sql";

inline VmRecord makeVm(const std::string& uuid, const std::string& name)
{
    VmRecord vm;
    vm.uuid = uuid;
    vm.name = name;
    vm.owner = 1000;
    vm.spec = VmSpec{2, 2048, 20, "a test VM", {}, {}, {}};
    vm.createdAtUsec = 1'700'000'000'000'000;
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    return vm;
}

inline ImageRecord makeImage(const std::string& id, const std::string& name)
{
    ImageRecord image;
    image.id = id;
    image.name = name;
    image.format = ImageFormat::Qcow2;
    image.sizeBytes = 700'000'000;
    image.virtualSizeBytes = 20ULL << 30;
    image.owner = 1000;
    image.createdAtUsec = 1'700'000'000'000'000;
    image.description = "a test image";
    image.volume = "img-" + id + ".qcow2";
    image.phase = ImagePhase::Ready;
    return image;
}

// Expects `write` to fail with `code` and a message containing `needle`.
template <typename Write> void expectError(Write&& write, ErrorCode code, const std::string& needle)
{
    try {
        write();
        ADD_FAILURE() << "no error, expected one mentioning: " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

inline EventRecord makeEvent(std::int64_t timeUsec, std::uint32_t uid, const std::string& vmUuid,
                             const std::string& action)
{
    EventRecord event;
    event.timeUsec = timeUsec;
    event.uid = uid;
    event.vmUuid = vmUuid;
    event.vmName = vmUuid.empty() ? "" : "vm-" + vmUuid.substr(0, 4);
    event.action = action;
    event.outcome = "ok";
    event.message = action + " at " + std::to_string(timeUsec);
    return event;
}

inline std::vector<std::string> actionsOf(const std::vector<EventRecord>& events)
{
    std::vector<std::string> actions;
    actions.reserve(events.size());
    for (const auto& event : events)
        actions.push_back(event.action);
    return actions;
}

inline const std::string kUuidA = "aaaaaaaa-0000-4000-8000-000000000001";
inline const std::string kUuidB = "bbbbbbbb-0000-4000-8000-000000000002";
inline const std::string kImageA = "11111111-0000-4000-8000-00000000000a";
inline const std::string kImageB = "22222222-0000-4000-8000-00000000000b";

} // namespace hangar::store
