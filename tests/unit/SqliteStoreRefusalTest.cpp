// What SqliteStore refuses to open, and leaves untouched: another program's database, a damaged file, a file that
// is not a database; and the backup it takes before migrating an older schema (store/FileChecks.h).
#include "SqliteStoreTestSupport.h"
#include "store/FileChecks.h"
#include "store/Migrations.h"

#include <iterator>

namespace hangar::store {
namespace {

std::string contents(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Opening must fail with BackendFailure naming the file and `needle`, and leave the file byte for byte as it was.
void expectRefusedUntouched(const fs::path& path, const std::string& needle)
{
    const std::string before = contents(path);
    expectError([&] { SqliteStore store(path.string()); }, ErrorCode::BackendFailure, needle);
    expectError([&] { SqliteStore store(path.string()); }, ErrorCode::BackendFailure, path.string());
    EXPECT_EQ(contents(path), before) << "a refused file must not be modified";
    EXPECT_FALSE(fs::exists(path.string() + "-wal")) << "a refused file must not be switched to WAL";
}

TEST(SqliteStoreRefusalTest, AnotherProgramsDatabaseWithoutVersionIsRefused)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    execRaw(openRaw(path).get(), "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)");
    expectRefusedUntouched(path, "is another program's SQLite database, not Hangar's (application_id 0x00000000, "
                                 "user_version 0, tables: moz_places)");
}

TEST(SqliteStoreRefusalTest, AnotherProgramsApplicationIdIsRefusedEvenWithAVmsTable)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    execRaw(openRaw(path).get(), "CREATE TABLE vms (uuid TEXT); PRAGMA user_version = 2; "
                                 "PRAGMA application_id = 1598903374"); // 0x5f4d544e, say
    expectRefusedUntouched(path, "application_id 0x5f4d544e");
}

TEST(SqliteStoreRefusalTest, VersionedDatabaseWithoutOurTablesIsRefused)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    execRaw(openRaw(path).get(), "CREATE TABLE things (id INTEGER); PRAGMA user_version = 3");
    expectRefusedUntouched(path, "not Hangar's");
}

TEST(SqliteStoreRefusalTest, FileThatIsNotADatabaseIsRefusedWithWhatToDo)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    std::ofstream(path) << "this is not an SQLite database, just text long enough to cover its 100-byte header\n"
                        << std::string(200, 'x');
    expectRefusedUntouched(path, "is not an SQLite database");
    expectError([&] { SqliteStore store(path.string()); }, ErrorCode::BackendFailure,
                "move it away to start with an empty inventory, or restore a backup");
}

TEST(SqliteStoreRefusalTest, DamagedDatabaseIsRefusedByQuickCheck)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        SqliteStore store(path.string());
        for (int i = 0; i < 200; ++i) // enough rows for the events table to span several pages
            store.appendEvent(makeEvent(i, 1000, "", "host"));
    } // closing the last connection checkpoints the WAL into the file and removes it
    ASSERT_FALSE(fs::exists(path.string() + "-wal"));
    const auto size = fs::file_size(path);
    const auto pageSize = std::stoul(queryText(openRaw(path).get(), "PRAGMA page_size"));
    ASSERT_GE(size, 6 * pageSize) << "the test needs a database of several pages";
    {
        // Garbage over the second-to-last page: a b-tree page of the event log, past the schema on page 1.
        std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(size - 2 * pageSize));
        const std::string garbage(pageSize, '\x5a');
        file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    expectRefusedUntouched(path, "is damaged");
}

TEST(SqliteStoreRefusalTest, NewDatabaseIsMarkedAsHangarsAndNeedsNoBackup)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    SqliteStore store(path.string());
    EXPECT_EQ(store.migrationBackup(), "");
    EXPECT_EQ(std::stoll(queryText(openRaw(path).get(), "PRAGMA application_id")), kApplicationId);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 3)
        << "hangar.db, -wal and -shm, and no backup of an empty database";
}

TEST(SqliteStoreRefusalTest, MigrationIsPrecededByABackupOfTheOldSchemaReadableByOwnerOnly)
{
    TempDir dir;
    const auto path = dir.path() / "hangar.db";
    {
        auto db = openRaw(path);
        execRaw(db.get(), std::string(kVersion1WithOneVm) + R"sql(
            PRAGMA user_version = 1;
        )sql");
    }
    const UmaskGuard umask(022);
    const fs::path backup = path.string() + ".v1.bak";
    std::ofstream(backup) << "an older backup of the same version, replaced";
    {
        SqliteStore store(path.string());
        EXPECT_EQ(store.migrationBackup(), backup.string());
        ASSERT_EQ(store.loadVms().size(), 1U);
    }
    auto copy = openRaw(backup);
    EXPECT_EQ(queryText(copy.get(), "PRAGMA user_version"), "1") << "the backup is the database before the migration";
    EXPECT_EQ(queryText(copy.get(), "SELECT name FROM vms"), "old-vm");
    EXPECT_EQ(queryText(copy.get(), "SELECT count(*) FROM sqlite_schema WHERE name = 'images'"), "0");
    struct stat st
    {
    };
    ASSERT_EQ(::stat(backup.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);

    auto migrated = openRaw(path);
    EXPECT_EQ(queryText(migrated.get(), "PRAGMA user_version"), std::to_string(schemaVersion()));
    EXPECT_EQ(std::stoll(queryText(migrated.get(), "PRAGMA application_id")), kApplicationId);

    // Opening the migrated file again needs no migration and leaves the backup alone.
    const std::string backupBytes = contents(backup);
    SqliteStore again(path.string());
    EXPECT_EQ(again.migrationBackup(), "");
    EXPECT_EQ(contents(backup), backupBytes);
}

} // namespace
} // namespace hangar::store
