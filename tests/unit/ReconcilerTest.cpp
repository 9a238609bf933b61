// Start-up recovery and reconciliation: what a crash left half-done is finished or rolled back by its recorded
// phase, and the records and the hypervisor's domains are brought to agree.
#include "core/Reconciler.h"

#include "core/AuditLog.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "fakes/CoreFakes.h"
#include "fakes/FakeHypervisor.h"
#include "fakes/FakeStorage.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

VmRecord record(const std::string& uuid, const std::string& name, VmPhase phase)
{
    VmRecord r;
    r.uuid = uuid;
    r.name = name;
    r.owner = 1000;
    r.createdAtUsec = 1;
    r.host = "local";
    r.phase = phase;
    return r;
}

class ReconcilerTest : public ::testing::Test
{
protected:
    ReconcileReport startup() { return testing::runStartup(reconciler, executor); }

    store::SqliteStore store{":memory:"};
    testing::FakeHypervisor hypervisor;
    testing::FakeExecutor executor;
    Inventory inventory;
    AuditLog audit{store, executor};
    testing::FakeStorage storage;
    testing::FakeAuthorizer authorizer;
    QuotaManager quotas{inventory, store, authorizer, audit, QuotaLimits{}};
    JobManager jobs{executor, authorizer};
    ImageManager images{inventory, store, storage, authorizer, executor, audit, jobs, quotas, 1ULL << 40U};
    Reconciler reconciler{inventory, store, hypervisor, storage, images, executor, audit};
};

TEST_F(ReconcilerTest, InterruptedCreateIsRolledBack_DomainAndRowRemoved)
{
    auto r = record("11111111-1111-4111-8111-111111111111", "half-made", VmPhase::Creating);
    store.insertVm(r);
    hypervisor.define(r); // the crash came after the domain was defined
    auto report = startup();
    EXPECT_EQ(report.rolledBack, 1U);
    EXPECT_FALSE(hypervisor.has(r.uuid));
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_EQ(inventory.find(r.uuid), nullptr);
}

TEST_F(ReconcilerTest, InterruptedCreateBeforeDefineIsRolledBack)
{
    auto r = record("22222222-2222-4222-8222-222222222222", "never-defined", VmPhase::Creating);
    store.insertVm(r);
    EXPECT_EQ(startup().rolledBack, 1U);
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(ReconcilerTest, InterruptedDeleteIsFinished_EvenForARunningDomain)
{
    auto r = record("33333333-3333-4333-8333-333333333333", "half-gone", VmPhase::Deleting);
    store.insertVm(r);
    hypervisor.define(r);
    hypervisor.start(r.uuid);
    EXPECT_EQ(startup().finished, 1U);
    EXPECT_FALSE(hypervisor.has(r.uuid));
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(ReconcilerTest, ReadyVmTakesTheHypervisorsState)
{
    auto r = record("44444444-4444-4444-8444-444444444444", "runner", VmPhase::Ready);
    store.insertVm(r);
    hypervisor.define(r);
    hypervisor.start(r.uuid);
    startup();
    ASSERT_NE(inventory.find(r.uuid), nullptr);
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Running);
}

TEST_F(ReconcilerTest, MissingDomainIsDefinedAgainFromTheRecord)
{
    auto r = record("55555555-5555-4555-8555-555555555555", "lost-domain", VmPhase::Ready);
    r.spec.vcpus = 3;
    store.insertVm(r);
    auto report = startup();
    EXPECT_EQ(report.redefined, 1U);
    ASSERT_TRUE(hypervisor.has(r.uuid));
    EXPECT_EQ(hypervisor.metadata(r.uuid)->spec.vcpus, 3U);
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Stopped);
}

TEST_F(ReconcilerTest, MissingDomainThatCannotBeDefinedIsUnavailable)
{
    auto r = record("66666666-6666-4666-8666-666666666666", "stuck", VmPhase::Ready);
    store.insertVm(r);
    hypervisor.failNext("define", Error(ErrorCode::BackendFailure, "no space"));
    EXPECT_EQ(startup().unavailable, 1U);
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Unavailable);
    EXPECT_EQ(store.loadVms().size(), 1U) << "an unavailable VM keeps its record";
}

TEST_F(ReconcilerTest, DomainWithHangarMetadataAndNoRowIsAdopted)
{
    auto r = record("77777777-7777-4777-8777-777777777777", "stray", VmPhase::Ready);
    hypervisor.addOutside(DomainInfo{r.uuid, DomainState::Paused, r, {}});
    hypervisor.addOutside(DomainInfo{"88888888-8888-4888-8888-888888888888", DomainState::Running, std::nullopt, {}});
    EXPECT_EQ(startup().adopted, 1U);
    auto rows = store.loadVms();
    ASSERT_EQ(rows.size(), 1U) << "a domain without Hangar metadata is not ours and is left alone";
    EXPECT_EQ(rows[0].name, "stray");
    EXPECT_EQ(rows[0].owner, 1000U);
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Paused);
}

TEST_F(ReconcilerTest, AdoptionNeverTakesATakenName)
{
    auto mine = record("99999999-9999-4999-8999-999999999999", "same", VmPhase::Ready);
    store.insertVm(mine);
    hypervisor.define(mine);
    auto other = record("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "same", VmPhase::Ready);
    hypervisor.addOutside(DomainInfo{other.uuid, DomainState::Stopped, other, {}});
    EXPECT_EQ(startup().adopted, 0U);
    EXPECT_EQ(store.loadVms().size(), 1U);
    EXPECT_TRUE(hypervisor.has(other.uuid)) << "left alone, not deleted";
}

TEST_F(ReconcilerTest, MetadataLeftBehindByAnInterruptedRenameIsRewritten)
{
    auto r = record("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "old", VmPhase::Ready);
    hypervisor.define(r);
    r.name = "new"; // the row was renamed, the crash came before the metadata
    store.insertVm(r);
    startup();
    EXPECT_EQ(hypervisor.metadata(r.uuid)->name, "new");
    // And says so (found by the kill point rename.row-written: the rewrite used to go unrecorded).
    const auto events = store.events(EventFilter{});
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().action, "reconcile");
    EXPECT_EQ(events.back().vmName, "new");
    EXPECT_EQ(events.back().message, "a rename from 'old' was interrupted; finished it");
}

TEST_F(ReconcilerTest, ConnectionLossMarksVmsUnavailableAndReconnectRestoresThem)
{
    auto r = record("cccccccc-cccc-4ccc-8ccc-cccccccccccc", "remote", VmPhase::Ready);
    store.insertVm(r);
    hypervisor.define(r);
    hypervisor.start(r.uuid);
    startup();
    reconciler.handleHypervisorEvent({HypervisorEvent::Kind::ConnectionLost, "", DomainState::Stopped});
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Unavailable);
    reconciler.handleHypervisorEvent({HypervisorEvent::Kind::ConnectionRestored, "", DomainState::Stopped});
    executor.drain();
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Running);
}

TEST_F(ReconcilerTest, HypervisorThatCannotListLeavesVmsUnavailableAndSaysWhy)
{
    auto r = record("dddddddd-dddd-4ddd-8ddd-dddddddddddd", "dark", VmPhase::Ready);
    store.insertVm(r);
    hypervisor.failNext("listDomains", Error(ErrorCode::BackendFailure, "connection refused"));
    startup();
    EXPECT_EQ(inventory.find(r.uuid)->state, VmState::Unavailable);
    auto events = store.events(EventFilter{});
    ASSERT_FALSE(events.empty());
    EXPECT_NE(events.back().message.find("connection refused"), std::string::npos);
}

} // namespace
} // namespace hangar
