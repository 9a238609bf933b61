// SqliteStore's VM rows: insert, update, delete, the unique names and UUIDs, and every field surviving a reopen.
#include "SqliteStoreTestSupport.h"

namespace hangar::store {
namespace {

TEST(SqliteStoreTest, SqliteStore_InsertedVmSurvivesReopen)
{
    TempDir dir;
    const auto path = (dir.path() / "hangar.db").string();
    const VmRecord vm = makeVm(kUuidA, "web");
    {
        SqliteStore store(path);
        store.insertVm(vm);
    }
    SqliteStore reopened(path);
    EXPECT_EQ(reopened.loadVms(), std::vector<VmRecord>{vm});
}

TEST(SqliteStoreTest, SqliteStore_InMemoryDatabaseStartsEmptyAndWorks)
{
    SqliteStore store(":memory:");
    EXPECT_TRUE(store.loadVms().empty());
    store.insertVm(makeVm(kUuidA, "web"));
    EXPECT_EQ(store.loadVms().size(), 1U);
}

TEST(SqliteStoreTest, SqliteStore_RejectsDuplicateName)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "web"));
    try {
        store.insertVm(makeVm(kUuidB, "web"));
        FAIL() << "a second VM with the same name was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::AlreadyExists);
        EXPECT_NE(std::string(e.what()).find("a VM named 'web' already exists"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store.loadVms().size(), 1U);
}

TEST(SqliteStoreTest, SqliteStore_RejectsDuplicateUuid)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "web"));
    try {
        store.insertVm(makeVm(kUuidA, "db"));
        FAIL() << "a second VM with the same UUID was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::AlreadyExists);
        EXPECT_NE(std::string(e.what()).find(kUuidA), std::string::npos) << e.what();
    }
}

TEST(SqliteStoreTest, SqliteStore_UpdateReplacesEveryField)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "web"));
    VmRecord changed = makeVm(kUuidA, "web-renamed");
    changed.owner = 1001;
    changed.spec = VmSpec{8, 16384, 100, "bigger", {}, {}, {}};
    changed.createdAtUsec = 42;
    changed.host = "node2";
    changed.phase = VmPhase::Deleting;
    store.updateVm(changed);
    EXPECT_EQ(store.loadVms(), std::vector<VmRecord>{changed});
}

TEST(SqliteStoreTest, SqliteStore_UpdateMissingIsNotFound)
{
    SqliteStore store(":memory:");
    try {
        store.updateVm(makeVm(kUuidA, "web"));
        FAIL() << "updating a missing VM succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
    }
    EXPECT_TRUE(store.loadVms().empty());
}

TEST(SqliteStoreTest, SqliteStore_UpdateToTakenNameIsAlreadyExists)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "web"));
    store.insertVm(makeVm(kUuidB, "db"));
    try {
        store.updateVm(makeVm(kUuidB, "web"));
        FAIL() << "a rename onto a taken name succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::AlreadyExists);
        EXPECT_NE(std::string(e.what()).find("a VM named 'web' already exists"), std::string::npos) << e.what();
    }
}

TEST(SqliteStoreTest, SqliteStore_DeleteIsIdempotent)
{
    SqliteStore store(":memory:");
    store.insertVm(makeVm(kUuidA, "web"));
    store.insertVm(makeVm(kUuidB, "db"));
    store.deleteVm(kUuidA);
    EXPECT_NO_THROW(store.deleteVm(kUuidA));
    EXPECT_NO_THROW(store.deleteVm("never-existed"));
    const auto vms = store.loadVms();
    ASSERT_EQ(vms.size(), 1U);
    EXPECT_EQ(vms[0].uuid, kUuidB);
}

TEST(SqliteStoreTest, SqliteStore_VmImageAndVolumesRoundTripThroughInsertUpdateAndReopen)
{
    TempDir dir;
    const auto path = (dir.path() / "hangar.db").string();
    VmRecord fromQcow2 = makeVm(kUuidA, "web");
    fromQcow2.image = kImageA;
    fromQcow2.diskVolume = "vm-" + kUuidA + ".qcow2";
    VmRecord fromIso = makeVm(kUuidB, "installer");
    fromIso.image = kImageB;
    fromIso.diskVolume = "vm-" + kUuidB + ".qcow2";
    fromIso.cdromVolume = "img-" + kImageB + ".iso";
    {
        SqliteStore store(path);
        store.insertVm(fromQcow2);
        store.insertVm(fromIso);
        EXPECT_EQ(store.loadVms(), (std::vector<VmRecord>{fromIso, fromQcow2}));
        // The installation is done: the CD-ROM goes, the disk stays.
        fromIso.cdromVolume.clear();
        store.updateVm(fromIso);
    }
    SqliteStore reopened(path);
    EXPECT_EQ(reopened.loadVms(), (std::vector<VmRecord>{fromIso, fromQcow2}));
}

TEST(SqliteStoreTest, SqliteStore_NamesWithQuotesAndUnicodeRoundTrip)
{
    TempDir dir;
    const auto path = (dir.path() / "hangar.db").string();
    VmRecord vm = makeVm(kUuidA, "o'brien\"; DROP TABLE vms; --");
    vm.spec.description = "Grüße, 日本語, emoji 🚀, quote ' and backslash \\";
    vm.host = "nœud-2";
    const EventRecord event = makeEvent(1, 1000, kUuidA, "rename");
    EventRecord odd = event;
    odd.vmName = vm.name;
    odd.message = "renamed to « " + vm.name + " »";
    {
        SqliteStore store(path);
        store.insertVm(vm);
        store.appendEvent(odd);
    }
    SqliteStore store(path);
    EXPECT_EQ(store.loadVms(), std::vector<VmRecord>{vm});
    const auto events = store.events({});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].vmName, odd.vmName);
    EXPECT_EQ(events[0].message, odd.message);
}

} // namespace
} // namespace hangar::store
