// Behaviour of core's VmManager, with a fake hypervisor, a programmable authorizer, a driven executor and the
// real SQLite store in memory.
#include "core/VmManager.h"

#include "CoreFixture.h"
#include "core/AuditLog.h"
#include "core/Inventory.h"
#include "fakes/FakeHypervisor.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>
#include <optional>

namespace hangar {
namespace {

using testing::Capture;
using testing::CoreFixture;
using testing::kAlice;
using testing::kBob;

class VmManagerTest : public CoreFixture<>
{
protected:
    std::vector<EventRecord> eventsFor(std::uint32_t uid, const EventQuery& q)
    {
        Capture<std::vector<EventRecord>> r;
        manager.events(caller(uid), q, r.done());
        EXPECT_TRUE(r.ok());
        return r.ok() ? r.outcome->value() : std::vector<EventRecord>{};
    }
    std::optional<ErrorCode> eventsError(std::uint32_t uid, const EventQuery& q)
    {
        Capture<std::vector<EventRecord>> r;
        manager.events(caller(uid), q, r.done());
        if (!r.outcome || r.ok())
            return std::nullopt;
        return r.code();
    }
};

TEST_F(VmManagerTest, CreateVm_DefinesDomainStoresRowAndRecordsOwner)
{
    Capture<std::string> r;
    VmSpecRequest spec;
    spec.vcpus = 2;
    spec.memoryMiB = 1024;
    spec.description = "build box";
    manager.create(caller(kAlice), "web-1", spec, r.done());
    EXPECT_FALSE(r.outcome) << "create must wait for the hypervisor";
    executor.drain();
    ASSERT_TRUE(r.ok());
    const std::string uuid = r.outcome->value();

    EXPECT_TRUE(hypervisor.has(uuid));
    const Vm* vm = inventory.find(uuid);
    ASSERT_NE(vm, nullptr);
    EXPECT_EQ(vm->record.owner, kAlice);
    EXPECT_EQ(vm->record.spec.vcpus, 2U);
    EXPECT_EQ(vm->state, VmState::Stopped);
    auto rows = store.loadVms();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].phase, VmPhase::Ready);
    EXPECT_EQ(rows[0].owner, kAlice);
    EXPECT_EQ(observer.added, std::vector<std::string>{"web-1"});
    EXPECT_EQ(observer.states, std::vector<std::string>{"web-1:stopped"});
    // No quota anywhere (no own quota, no defaults): nothing to enforce, so polkit is not asked whether the
    // creator is an administrator.
    ASSERT_EQ(authorizer.requests.size(), 1U);
    EXPECT_EQ(authorizer.requests[0].action, Action::CreateVm);
    EXPECT_EQ(authorizer.requests[0].details.at("vm"), "web-1");
}

class CreateVmBadName : public VmManagerTest, public ::testing::WithParamInterface<std::string>
{
};

TEST_P(CreateVmBadName, IsInvalidArgumentAndChangesNothing)
{
    Capture<std::string> r;
    manager.create(caller(kAlice), GetParam(), {}, r.done());
    executor.drain();
    ASSERT_TRUE(r.outcome);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.message().find("a-z, 0-9 and '-'"), std::string::npos) << r.message();
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_TRUE(hypervisor.listDomains().empty());
    EXPECT_TRUE(observer.added.empty());
    EXPECT_TRUE(authorizer.requests.empty()) << "validation comes before authorization";
}

INSTANTIATE_TEST_SUITE_P(Names, CreateVmBadName,
                         ::testing::Values("", std::string(64, 'a'), "../x", "a/b", "caf\xc3\xa9", "<vm>", "a&b", "x'y",
                                           "-lead", "Upper", "with space", "a.b", "new\nline"));

TEST_F(VmManagerTest, CreateVm_RejectsOutOfRangeSizesWithTheAllowedRange)
{
    struct Case
    {
        VmSpecRequest spec;
        std::string expect;
    };
    std::vector<Case> cases(4);
    cases[0].spec.vcpus = 0;
    cases[0].expect = "vcpus must be 1..255, got 0";
    cases[1].spec.memoryMiB = 0;
    cases[1].expect = "memory_mib must be 64..4194304, got 0";
    cases[2].spec.memoryMiB = UINT64_MAX;
    cases[2].expect = "memory_mib must be 64..4194304";
    cases[3].spec.diskGiB = 0;
    cases[3].expect = "disk_gib must be 1..65536, got 0";
    for (const auto& c : cases) {
        Capture<std::string> r;
        manager.create(caller(kAlice), "vm", c.spec, r.done());
        executor.drain();
        ASSERT_TRUE(r.outcome);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(r.message().find(c.expect), std::string::npos) << r.message();
    }
    EXPECT_TRUE(store.loadVms().empty());
}

TEST_F(VmManagerTest, CreateVm_DuplicateNameIsAlreadyExists)
{
    create("dup");
    Capture<std::string> r;
    manager.create(caller(kBob), "dup", {}, r.done());
    executor.drain();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(store.loadVms().size(), 1U);
}

TEST_F(VmManagerTest, CreateVm_SameNameRacingThroughAuthorizationCreatesOne)
{
    authorizer.hold = true;
    Capture<std::string> first, second;
    manager.create(caller(kAlice), "race", {}, first.done());
    manager.create(caller(kBob), "race", {}, second.done());
    ASSERT_EQ(authorizer.held.size(), 2U);
    authorizer.allowAllHeld();
    executor.drain();
    EXPECT_TRUE(first.ok());
    ASSERT_TRUE(second.outcome);
    EXPECT_EQ(second.code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(hypervisor.listDomains().size(), 1U);
}

TEST_F(VmManagerTest, CreateVm_DeniedChangesNothingAndIsAudited)
{
    authorizer.denied[Action::CreateVm] = true;
    Capture<std::string> r;
    manager.create(caller(kAlice), "nope", {}, r.done());
    executor.drain();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::PermissionDenied);
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_TRUE(hypervisor.listDomains().empty());
    auto events = allEvents();
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].action, "create");
    EXPECT_EQ(events[0].outcome, "PermissionDenied");
    EXPECT_EQ(events[0].uid, kAlice);
}

TEST_F(VmManagerTest, CreateVm_HypervisorFailureLeavesNoRowNoDomainNoObject)
{
    hypervisor.failNext("define", Error(ErrorCode::BackendFailure, "disk full"));
    Capture<std::string> r;
    manager.create(caller(kAlice), "broken", {}, r.done());
    executor.drain();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), ErrorCode::BackendFailure);
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_TRUE(hypervisor.listDomains().empty());
    EXPECT_EQ(inventory.counts().vms, 0U);
    EXPECT_EQ(observer.added, std::vector<std::string>{"broken"});
    EXPECT_EQ(observer.removed, std::vector<std::string>{"broken"});
    EXPECT_EQ(allEvents().back().outcome, "BackendFailure");
}

TEST_F(VmManagerTest, Lifecycle_StartPauseResumeStopFollowTheHypervisor)
{
    const auto uuid = create("life");
    EXPECT_TRUE(call([&](auto d) { manager.start(caller(kAlice), uuid, d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Running);
    EXPECT_EQ(inventory.counts().running, 1U);
    EXPECT_TRUE(call([&](auto d) { manager.pause(caller(kAlice), uuid, d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Paused);
    EXPECT_TRUE(call([&](auto d) { manager.resume(caller(kAlice), uuid, d); }).ok());
    EXPECT_TRUE(call([&](auto d) { manager.reboot(caller(kAlice), uuid, d); }).ok());
    EXPECT_TRUE(call([&](auto d) { manager.stop(caller(kAlice), uuid, {}, d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
    EXPECT_EQ(observer.states, (std::vector<std::string>{"life:stopped", "life:running", "life:paused", "life:running",
                                                         "life:stopped"}));
    EXPECT_EQ(observer.counts.back().running, 0U);
}

TEST_F(VmManagerTest, WrongStateIsBusyWithAMessageNamingTheVm)
{
    const auto uuid = create("busy-vm");
    auto stop = call([&](auto d) { manager.stop(caller(kAlice), uuid, {}, d); });
    EXPECT_EQ(stop.code(), ErrorCode::Busy);
    EXPECT_EQ(stop.message(), "VM 'busy-vm' is already stopped");
    EXPECT_EQ(call([&](auto d) { manager.pause(caller(kAlice), uuid, d); }).code(), ErrorCode::Busy);
    EXPECT_EQ(call([&](auto d) { manager.resume(caller(kAlice), uuid, d); }).code(), ErrorCode::Busy);
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    auto again = call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    EXPECT_EQ(again.code(), ErrorCode::Busy);
    EXPECT_NE(again.message().find("only a stopped or crashed VM can be started"), std::string::npos);
    EXPECT_EQ(hypervisor.calls("start"), 1) << "a refused call must not reach the hypervisor";
}

TEST_F(VmManagerTest, SecondOperationWhileOneRunsIsBusy)
{
    const auto uuid = create("one-at-a-time");
    Capture<std::monostate> first, second;
    manager.start(caller(kAlice), uuid, first.done());
    manager.start(caller(kAlice), uuid, second.done());
    ASSERT_TRUE(second.outcome);
    EXPECT_EQ(second.code(), ErrorCode::Busy);
    EXPECT_NE(second.message().find("'start' is in progress"), std::string::npos);
    executor.drain();
    EXPECT_TRUE(first.ok());
}

TEST_F(VmManagerTest, Delete_RunningWithoutForceIsBusyAndKeepsTheVm)
{
    const auto uuid = create("keep");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    auto r = call([&](auto d) { manager.remove(caller(kAlice), uuid, {}, d); });
    EXPECT_EQ(r.code(), ErrorCode::Busy);
    EXPECT_NE(inventory.find(uuid), nullptr);
    EXPECT_TRUE(hypervisor.has(uuid));
    EXPECT_EQ(store.loadVms().at(0).phase, VmPhase::Ready);
}

TEST_F(VmManagerTest, Delete_WithForcePowersOffAndRemovesEverything)
{
    const auto uuid = create("gone");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    EXPECT_TRUE(call([&](auto d) { manager.remove(caller(kAlice), uuid, DeleteOptions{true}, d); }).ok());
    EXPECT_EQ(inventory.find(uuid), nullptr);
    EXPECT_FALSE(hypervisor.has(uuid));
    EXPECT_TRUE(store.loadVms().empty());
    EXPECT_EQ(observer.removed, std::vector<std::string>{"gone"});
    EXPECT_EQ(allEvents().back().action, "delete");
    EXPECT_EQ(allEvents().back().outcome, "ok");
}

TEST_F(VmManagerTest, Delete_HypervisorFailureRestoresTheVm)
{
    const auto uuid = create("sticky");
    hypervisor.failNext("undefine", Error(ErrorCode::BackendFailure, "libvirt said no"));
    auto r = call([&](auto d) { manager.remove(caller(kAlice), uuid, {}, d); });
    EXPECT_EQ(r.code(), ErrorCode::BackendFailure);
    ASSERT_NE(inventory.find(uuid), nullptr);
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
    EXPECT_EQ(store.loadVms().at(0).phase, VmPhase::Ready);
}

TEST_F(VmManagerTest, Stop_GracefulWaitsForTheGuestThenForcesOffAtTheDeadline)
{
    hypervisor.setGracefulShutdownCompletes(false);
    const auto uuid = create("slow");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    EXPECT_TRUE(call([&](auto d) { manager.stop(caller(kAlice), uuid, StopOptions{false, 30}, d); }).ok());
    EXPECT_EQ(inventory.find(uuid)->state, VmState::ShuttingDown);
    // The hypervisor keeps reporting "running" while the guest shuts down; that must not undo shutting-down.
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running});
    EXPECT_EQ(inventory.find(uuid)->state, VmState::ShuttingDown);
    executor.advance(std::chrono::seconds(29));
    executor.drain();
    EXPECT_EQ(inventory.find(uuid)->state, VmState::ShuttingDown);
    executor.advance(std::chrono::seconds(1));
    executor.drain();
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
    EXPECT_EQ(hypervisor.calls("destroy"), 1);
    EXPECT_EQ(allEvents().back().action, "force-stop");
}

TEST_F(VmManagerTest, Stop_DeadlineIsCancelledWhenTheGuestStopsInTime)
{
    hypervisor.setGracefulShutdownCompletes(false);
    const auto uuid = create("polite");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    call([&](auto d) { manager.stop(caller(kAlice), uuid, StopOptions{false, 30}, d); });
    EXPECT_EQ(executor.timers(), 1U);
    hypervisor.setStateOutside(uuid, DomainState::Stopped);
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped});
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
    EXPECT_EQ(executor.timers(), 0U);
    // Started again before the old deadline: it must not be powered off by it.
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    executor.advance(std::chrono::seconds(60));
    executor.drain();
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Running);
    EXPECT_EQ(hypervisor.calls("destroy"), 0);
}

TEST_F(VmManagerTest, Stop_RejectsAnAbsurdTimeout)
{
    const auto uuid = create("t");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    auto r = call([&](auto d) { manager.stop(caller(kAlice), uuid, StopOptions{false, 86401}, d); });
    EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Running);
}

TEST_F(VmManagerTest, Rename_KeepsUuidAndUpdatesStoreAndDomainMetadata)
{
    const auto uuid = create("old-name");
    EXPECT_TRUE(call([&](auto d) { manager.rename(caller(kAlice), uuid, "new-name", d); }).ok());
    EXPECT_EQ(inventory.findByName("new-name")->record.uuid, uuid);
    EXPECT_EQ(inventory.findByName("old-name"), nullptr);
    EXPECT_EQ(store.loadVms().at(0).name, "new-name");
    EXPECT_EQ(hypervisor.metadata(uuid)->name, "new-name");
    EXPECT_EQ(observer.renames, std::vector<std::string>{"new-name"});
}

TEST_F(VmManagerTest, Rename_ToATakenOrInvalidNameChangesNothing)
{
    const auto a = create("a");
    create("b");
    EXPECT_EQ(call([&](auto d) { manager.rename(caller(kAlice), a, "b", d); }).code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(call([&](auto d) { manager.rename(caller(kAlice), a, "../etc", d); }).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(inventory.find(a)->record.name, "a");
    EXPECT_EQ(hypervisor.metadata(a)->name, "a");
}

TEST_F(VmManagerTest, Rename_HypervisorFailureRevertsTheName)
{
    const auto uuid = create("first");
    hypervisor.failNext("updateMetadata", Error(ErrorCode::BackendFailure, "nope"));
    EXPECT_EQ(call([&](auto d) { manager.rename(caller(kAlice), uuid, "second", d); }).code(),
              ErrorCode::BackendFailure);
    EXPECT_EQ(inventory.find(uuid)->record.name, "first");
    EXPECT_EQ(store.loadVms().at(0).name, "first");
    EXPECT_FALSE(inventory.nameTaken("second"));
}

TEST_F(VmManagerTest, Authorization_OwnerNeedsManageOwnOthersNeedManageAll)
{
    const auto uuid = create("mine", kAlice);
    authorizer.requests.clear();
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    call([&](auto d) { manager.stop(caller(kBob), uuid, StopOptions{true, 0}, d); });
    // Without any quota configured the owner's start asks only for manage-own-vms (QuotaTest covers the quiet
    // administrator question when limits exist).
    ASSERT_EQ(authorizer.requests.size(), 2U);
    EXPECT_EQ(authorizer.requests[0].action, Action::ManageOwnVms);
    EXPECT_EQ(authorizer.requests[0].details.at("verb"), "start");
    EXPECT_EQ(authorizer.requests[1].action, Action::ManageAllVms);
    EXPECT_EQ(authorizer.requests[1].details.at("verb"), "force-stop");
    EXPECT_EQ(authorizer.requests[1].details.at("vm"), "mine");
}

TEST_F(VmManagerTest, Authorization_DeniedOperationChangesNothing)
{
    const auto uuid = create("guarded", kAlice);
    authorizer.denied[Action::ManageAllVms] = true;
    auto r = call([&](auto d) { manager.start(caller(kBob), uuid, d); });
    EXPECT_EQ(r.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
    EXPECT_EQ(hypervisor.calls("start"), 0);
    EXPECT_EQ(allEvents().back().outcome, "PermissionDenied");
    EXPECT_EQ(allEvents().back().uid, kBob);
}

TEST_F(VmManagerTest, Authorization_VmDeletedWhileWaitingIsNotFound)
{
    const auto uuid = create("vanishing");
    authorizer.hold = true;
    Capture<std::monostate> start, del;
    manager.start(caller(kAlice), uuid, start.done());
    manager.remove(caller(kAlice), uuid, {}, del.done());
    authorizer.held[1](std::nullopt);
    executor.drain();
    ASSERT_TRUE(del.ok());
    authorizer.held[0](std::nullopt);
    ASSERT_TRUE(start.outcome);
    EXPECT_EQ(start.code(), ErrorCode::NotFound);
    EXPECT_EQ(hypervisor.calls("start"), 0);
}

TEST_F(VmManagerTest, HypervisorEvents_OutsideChangesUpdateStateAndAreAudited)
{
    const auto uuid = create("outside");
    hypervisor.setStateOutside(uuid, DomainState::Running);
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running});
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Running);
    EXPECT_EQ(allEvents().back().action, "state");
    EXPECT_EQ(allEvents().back().uid, 0U);
    hypervisor.emit({HypervisorEvent::Kind::Undefined, uuid, DomainState::Stopped});
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Unavailable);
    EXPECT_EQ(call([&](auto d) { manager.start(caller(kAlice), uuid, d); }).code(), ErrorCode::Busy);
}

TEST_F(VmManagerTest, List_ShowsOwnVmsUnlessAllOrOwnerIsAsked)
{
    create("alice-1", kAlice);
    create("bob-1", kBob);
    create("alice-2", kAlice);
    auto names = [](const std::vector<const Vm*>& vms) {
        std::vector<std::string> out;
        for (const auto* vm : vms)
            out.push_back(vm->record.name);
        return out;
    };
    EXPECT_EQ(names(manager.list(caller(kAlice), {})), (std::vector<std::string>{"alice-1", "alice-2"}));
    EXPECT_EQ(names(manager.list(caller(kAlice), ListFilter{true, std::nullopt, std::nullopt})),
              (std::vector<std::string>{"alice-1", "alice-2", "bob-1"}));
    EXPECT_EQ(names(manager.list(caller(kAlice), ListFilter{false, kBob, std::nullopt})),
              (std::vector<std::string>{"bob-1"}));
    EXPECT_EQ(names(manager.list(caller(kAlice), ListFilter{true, std::nullopt, VmState::Running})),
              std::vector<std::string>{});
}

TEST_F(VmManagerTest, Events_FilterByVmNameOrUuidUidAndLimit)
{
    const auto uuid = create("logged", kAlice);
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    create("other", kBob);
    EventQuery q;
    q.vm = "logged";
    auto events = eventsFor(kAlice, q);
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].action, "create");
    EXPECT_EQ(events[1].action, "start");
    q.vm = uuid;
    EXPECT_EQ(eventsFor(kAlice, q).size(), 2U);
    EventQuery byUid;
    byUid.uid = kBob;
    EXPECT_EQ(eventsFor(kAlice, byUid).size(), 1U);
    EventQuery limited;
    limited.limit = 1;
    auto last = eventsFor(kAlice, limited);
    ASSERT_EQ(last.size(), 1U);
    EXPECT_EQ(last[0].vmName, "other");
    limited.limit = 0;
    EXPECT_EQ(eventsError(kAlice, limited), ErrorCode::InvalidArgument);
    EventQuery unknown;
    unknown.vm = "never-existed";
    EXPECT_EQ(eventsError(kAlice, unknown), ErrorCode::NotFound);
}

} // namespace
} // namespace hangar
