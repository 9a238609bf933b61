// SqliteStore's database file: WAL mode, its mode bits, schemas newer than it knows, damaged files, and migrations
// from every earlier schema version.
#include "SqliteStoreTestSupport.h"
#include "store/Migrations.h"

namespace hangar::store {
namespace {

TEST(SqliteStoreTest, SqliteStore_UsesWalMode)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    SqliteStore store(path.string());
    store.insertVm(makeVm(kUuidA, "web"));

    const RawConnection raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(hangar::store::schemaVersion()));
}

TEST(SqliteStoreTest, SqliteStore_CreatesDatabaseReadableByOwnerOnly)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    // The usual umask, which would leave a file created by SQLite alone world-readable.
    const UmaskGuard umask(022);
    SqliteStore store(path.string());
    store.insertVm(makeVm(kUuidA, "web")); // so that the -wal file exists too
    for (const auto& file : {path, fs::path(path.string() + "-wal")}) {
        struct stat st
        {
        };
        ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
        EXPECT_EQ(st.st_mode & 0777, 0600U) << file;
    }
}

TEST(SqliteStoreTest, SqliteStore_RefusesNewerSchema)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        const RawConnection raw = openRaw(path);
        execRaw(raw.get(), "PRAGMA user_version = 999");
    }
    try {
        SqliteStore store(path.string());
        FAIL() << "a database from a newer hangard was opened";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::BackendFailure);
        EXPECT_NE(std::string(e.what()).find("database schema version 999 is newer than this hangard supports (" +
                                             std::to_string(hangar::store::schemaVersion()) + ")"),
                  std::string::npos)
            << e.what();
    }
    const RawConnection raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), "999") << "the newer file must be left untouched";
    EXPECT_EQ(queryText(raw.get(), "PRAGMA journal_mode"), "delete") << "the newer file must be left untouched";
}

TEST(SqliteStoreTest, SqliteStore_UnknownPhaseInDatabaseIsBackendFailure)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        SqliteStore store(path.string());
        store.insertVm(makeVm(kUuidA, "web"));
    }
    {
        const RawConnection raw = openRaw(path);
        execRaw(raw.get(), "UPDATE vms SET phase = 'hovering'");
    }
    SqliteStore store(path.string());
    try {
        store.loadVms();
        FAIL() << "a row with an unknown phase was loaded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::BackendFailure);
        EXPECT_NE(std::string(e.what()).find("hovering"), std::string::npos) << e.what();
    }
}

TEST(SqliteStoreTest, SqliteStore_FileThatIsNotADatabaseIsBackendFailure)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    std::ofstream(path) << "this is not an SQLite database, just text long enough to cover its 100-byte header\n"
                        << std::string(200, 'x');
    try {
        SqliteStore store(path.string());
        FAIL() << "a garbage file was opened as a database";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::BackendFailure);
    }
}

TEST(SqliteStoreTest, SqliteStore_MigratesVersion1DatabaseKeepingRowsAndFillingEventOwners)
{
    TempDir dir;
    const fs::path path = fs::path(dir.path()) / "hangar.db";
    {
        // A database exactly as schema version 1 left it.
        auto db = openRaw(path);
        execRaw(db.get(), R"sql(
            CREATE TABLE vms (uuid TEXT PRIMARY KEY NOT NULL, name TEXT UNIQUE NOT NULL, owner INTEGER NOT NULL,
                vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL, disk_gib INTEGER NOT NULL,
                description TEXT NOT NULL, created_at_usec INTEGER NOT NULL, host TEXT NOT NULL, phase TEXT NOT NULL);
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_usec INTEGER NOT NULL,
                uid INTEGER NOT NULL, vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL, action TEXT NOT NULL,
                outcome TEXT NOT NULL, message TEXT NOT NULL);
            INSERT INTO vms VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'old-vm', 1234, 1, 512, 10, '', 1,
                'local', 'ready');
            INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message)
                VALUES (5, 0, 'aaaaaaaa-0000-4000-8000-000000000001', 'old-vm', 'start', 'ok', 'by root');
            INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message)
                VALUES (6, 99, '', '', 'host', 'ok', 'not about a VM');
            PRAGMA user_version = 1;
        )sql");
    }
    SqliteStore store(path.string());
    ASSERT_EQ(store.loadVms().size(), 1U);
    EXPECT_EQ(store.loadVms()[0].name, "old-vm");
    EventFilter mine;
    mine.visibleTo = 1234;
    const auto visible = store.events(mine);
    ASSERT_EQ(visible.size(), 1U) << "the owner sees the event about their VM, caused by someone else";
    EXPECT_EQ(visible[0].message, "by root");
    ASSERT_TRUE(visible[0].vmOwner.has_value());
    EXPECT_EQ(*visible[0].vmOwner, 1234U);
    EXPECT_EQ(store.loadVms()[0].spec.kernel, "") << "v3 adds kernel boot, unset for older VMs";
    auto raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(hangar::store::schemaVersion()));
}

TEST(SqliteStoreTest, SqliteStore_MigratesVersion2DatabaseToKernelBootColumns)
{
    TempDir dir;
    const fs::path path = fs::path(dir.path()) / "hangar.db";
    {
        // A database exactly as schema version 2 left it, with one VM.
        auto db = openRaw(path);
        execRaw(db.get(), R"sql(
            CREATE TABLE vms (uuid TEXT PRIMARY KEY NOT NULL, name TEXT UNIQUE NOT NULL, owner INTEGER NOT NULL,
                vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL, disk_gib INTEGER NOT NULL,
                description TEXT NOT NULL, created_at_usec INTEGER NOT NULL, host TEXT NOT NULL, phase TEXT NOT NULL);
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_usec INTEGER NOT NULL,
                uid INTEGER NOT NULL, vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL, action TEXT NOT NULL,
                outcome TEXT NOT NULL, message TEXT NOT NULL, vm_owner INTEGER);
            CREATE TABLE quotas (uid INTEGER PRIMARY KEY NOT NULL, max_vms INTEGER, max_running INTEGER,
                max_vcpus INTEGER, max_memory_mib INTEGER, max_disk_gib INTEGER);
            INSERT INTO vms VALUES ('aaaaaaaa-0000-4000-8000-000000000002', 'v2-vm', 1234, 2, 1024, 20, 'kept', 7,
                'local', 'ready');
            PRAGMA user_version = 2;
        )sql");
    }
    {
        SqliteStore store(path.string());
        const auto vms = store.loadVms();
        ASSERT_EQ(vms.size(), 1U);
        EXPECT_EQ(vms[0].name, "v2-vm");
        EXPECT_EQ(vms[0].spec.description, "kept");
        EXPECT_EQ(vms[0].spec.kernel, "");
        EXPECT_EQ(vms[0].spec.initrd, "");
        EXPECT_EQ(vms[0].spec.cmdline, "");

        VmRecord booting = vms[0];
        booting.spec.kernel = "vmlinuz-6.1.0-56-amd64";
        booting.spec.initrd = "initrd.img";
        booting.spec.cmdline = "console=ttyS0 quiet";
        store.updateVm(booting);
        VmRecord fresh = makeVm(kUuidB, "fresh");
        fresh.spec.kernel = "bzImage";
        store.insertVm(fresh);
    }
    SqliteStore store(path.string());
    const auto vms = store.loadVms();
    ASSERT_EQ(vms.size(), 2U);
    EXPECT_EQ(vms[0].spec.kernel, "bzImage");
    EXPECT_EQ(vms[1].spec.kernel, "vmlinuz-6.1.0-56-amd64");
    EXPECT_EQ(vms[1].spec.initrd, "initrd.img");
    EXPECT_EQ(vms[1].spec.cmdline, "console=ttyS0 quiet");
    auto raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(hangar::store::schemaVersion()));
}

TEST(SqliteStoreTest, SqliteStore_MigratesVersion3DatabaseKeepingVmsAndAddingImages)
{
    TempDir dir;
    const fs::path path = fs::path(dir.path()) / "hangar.db";
    {
        // A database exactly as schema version 3 left it, with a VM that boots a kernel, an event and a quota.
        auto db = openRaw(path);
        execRaw(db.get(), R"sql(
            CREATE TABLE vms (uuid TEXT PRIMARY KEY NOT NULL, name TEXT UNIQUE NOT NULL, owner INTEGER NOT NULL,
                vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL, disk_gib INTEGER NOT NULL,
                description TEXT NOT NULL, created_at_usec INTEGER NOT NULL, host TEXT NOT NULL, phase TEXT NOT NULL,
                kernel TEXT NOT NULL DEFAULT '', initrd TEXT NOT NULL DEFAULT '', cmdline TEXT NOT NULL DEFAULT '');
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_usec INTEGER NOT NULL,
                uid INTEGER NOT NULL, vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL, action TEXT NOT NULL,
                outcome TEXT NOT NULL, message TEXT NOT NULL, vm_owner INTEGER);
            CREATE INDEX events_vm_uuid ON events(vm_uuid);
            CREATE INDEX events_uid ON events(uid);
            CREATE INDEX events_time_usec ON events(time_usec);
            CREATE TABLE quotas (uid INTEGER PRIMARY KEY NOT NULL, max_vms INTEGER, max_running INTEGER,
                max_vcpus INTEGER, max_memory_mib INTEGER, max_disk_gib INTEGER);
            CREATE INDEX events_vm_owner ON events(vm_owner);
            INSERT INTO vms VALUES ('aaaaaaaa-0000-4000-8000-000000000003', 'v3-vm', 1234, 2, 1024, 20, 'kept', 7,
                'local', 'ready', 'vmlinuz', 'initrd.img', 'console=ttyS0');
            INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message, vm_owner)
                VALUES (5, 1234, 'aaaaaaaa-0000-4000-8000-000000000003', 'v3-vm', 'start', 'ok', 'started', 1234);
            INSERT INTO quotas (uid, max_vms) VALUES (1234, 5);
            PRAGMA user_version = 3;
        )sql");
    }
    {
        SqliteStore store(path.string());
        const auto vms = store.loadVms();
        ASSERT_EQ(vms.size(), 1U);
        EXPECT_EQ(vms[0].name, "v3-vm");
        EXPECT_EQ(vms[0].spec.description, "kept");
        EXPECT_EQ(vms[0].spec.kernel, "vmlinuz");
        EXPECT_EQ(vms[0].spec.initrd, "initrd.img");
        EXPECT_EQ(vms[0].spec.cmdline, "console=ttyS0");
        EXPECT_EQ(vms[0].image, "") << "a VM from before images has none";
        EXPECT_EQ(vms[0].diskVolume, "");
        EXPECT_EQ(vms[0].cdromVolume, "");
        EXPECT_EQ(store.events({}).size(), 1U);
        ASSERT_TRUE(store.quota(1234).has_value());
        EXPECT_EQ(store.quota(1234)->maxVms, std::optional<std::uint32_t>(5));
        EXPECT_TRUE(store.loadImages().empty());

        store.insertImage(makeImage(kImageA, "base"));
        VmRecord fresh = makeVm(kUuidB, "fresh");
        fresh.image = kImageA;
        fresh.diskVolume = "vm-" + kUuidB + ".qcow2";
        store.insertVm(fresh);
    }
    SqliteStore store(path.string());
    EXPECT_EQ(store.loadImages(), std::vector<ImageRecord>{makeImage(kImageA, "base")});
    const auto vms = store.loadVms();
    ASSERT_EQ(vms.size(), 2U);
    EXPECT_EQ(vms[0].name, "fresh");
    EXPECT_EQ(vms[0].image, kImageA);
    EXPECT_EQ(vms[0].diskVolume, "vm-" + kUuidB + ".qcow2");
    auto raw = openRaw(path);
    EXPECT_EQ(queryText(raw.get(), "PRAGMA user_version"), std::to_string(hangar::store::schemaVersion()));
}

} // namespace
} // namespace hangar::store
