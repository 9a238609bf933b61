// The operation pipeline itself (core/OperationRunner): its one failure path records the failure and clears the
// mark the operation holds (and only that one), a VM deleted while polkit decides ends the request with NotFound,
// the guard keeps a second operation off a busy VM; and core refuses to be entered off the loop thread.
#include "core/OperationRunner.h"

#include "CoreFixture.h"
#include "core/LoopThread.h"

#include <gtest/gtest.h>
#include <thread>

namespace hangar {
namespace {

using testing::Capture;
using testing::CoreFixture;
using testing::kAlice;
using testing::kBob;

class OperationRunnerTest : public CoreFixture<>
{
protected:
    OperationRunnerTest() : uuid(create("web")) {}

    Vm& vm() { return *inventory.find(uuid); }
    EventRecord lastEvent()
    {
        const auto events = allEvents();
        return events.empty() ? EventRecord{} : events.back();
    }

    OperationRunner runner{inventory, authorizer, executor, audit, quotas};
    std::string uuid;
};

TEST_F(OperationRunnerTest, Fail_RecordsTheFailureClearsTheMarkAndRepliesOnce)
{
    Capture<std::monostate> reply;
    const Ticket ticket = OperationRunner::open(caller(kAlice), uuid, VmOperation::Start, reply.done());
    ASSERT_TRUE(runner.claim(ticket, vm(), Guard::Settled));
    EXPECT_EQ(vm().operation, VmOperation::Start);

    runner.fail(ticket, Error(ErrorCode::BackendFailure, "the hypervisor went away"));

    EXPECT_FALSE(vm().operation.has_value()) << "the failure path clears the mark";
    ASSERT_TRUE(reply.outcome.has_value());
    EXPECT_EQ(reply.code(), ErrorCode::BackendFailure);
    const EventRecord e = lastEvent();
    EXPECT_EQ(e.action, "start");
    EXPECT_EQ(e.outcome, "BackendFailure");
    EXPECT_EQ(e.message, "the hypervisor went away");
    EXPECT_EQ(e.vmUuid, uuid);
    EXPECT_EQ(e.uid, kAlice);
}

TEST_F(OperationRunnerTest, Step_AFailingWorkerStepIsRecordedAndTheMarkCleared)
{
    Capture<std::monostate> reply;
    const Ticket ticket = OperationRunner::open(caller(kAlice), uuid, VmOperation::Reboot, reply.done());
    ASSERT_TRUE(runner.claim(ticket, vm(), Guard::Settled));
    bool settled = false;
    runner.step<int>(
        ticket, []() -> int { throw Error(ErrorCode::BackendFailure, "reboot failed"); },
        [&](Vm&, Outcome<int> outcome) {
            settled = true;
            if (!outcome.ok())
                throw outcome.error();
        });
    EXPECT_EQ(vm().operation, VmOperation::Reboot) << "marked while the step runs";
    executor.drain();

    EXPECT_TRUE(settled);
    EXPECT_FALSE(vm().operation.has_value());
    ASSERT_TRUE(reply.outcome.has_value());
    EXPECT_EQ(reply.message(), "reboot failed");
    EXPECT_EQ(lastEvent().action, "reboot");
    EXPECT_EQ(lastEvent().outcome, "BackendFailure");
}

TEST_F(OperationRunnerTest, Step_SuccessIsRecordedAndReplied)
{
    Capture<std::monostate> reply;
    const Ticket ticket = OperationRunner::open(caller(kAlice), uuid, VmOperation::Pause, reply.done());
    ASSERT_TRUE(runner.claim(ticket, vm(), Guard::Settled));
    runner.step<int>(
        ticket, [] { return 7; },
        [&](Vm& vm, Outcome<int> outcome) {
            runner.succeed(ticket, vm.record, "got " + std::to_string(outcome.value()));
        });
    executor.drain();

    EXPECT_TRUE(reply.ok());
    EXPECT_FALSE(vm().operation.has_value());
    EXPECT_EQ(lastEvent().action, "pause");
    EXPECT_EQ(lastEvent().outcome, "ok");
    EXPECT_EQ(lastEvent().message, "got 7");
}

TEST_F(OperationRunnerTest, Guard_ABusyVmIsBusyAndKeepsTheOtherOperationsMark)
{
    Capture<std::monostate> first;
    const Ticket holder = OperationRunner::open(caller(kAlice), uuid, VmOperation::Start, first.done());
    ASSERT_TRUE(runner.claim(holder, vm(), Guard::Settled));

    Capture<std::monostate> second;
    const Ticket other = OperationRunner::open(caller(kAlice), uuid, VmOperation::Stop, second.done());
    EXPECT_FALSE(runner.claim(other, vm(), Guard::Settled));

    ASSERT_TRUE(second.outcome.has_value());
    EXPECT_EQ(second.code(), ErrorCode::Busy);
    EXPECT_EQ(second.message(), "VM 'web' is busy: 'start' is in progress");
    EXPECT_EQ(vm().operation, VmOperation::Start) << "a refused request must not clear the mark it does not hold";
    EXPECT_EQ(lastEvent().action, "stop");
    EXPECT_EQ(lastEvent().outcome, "Busy");
    EXPECT_FALSE(first.outcome.has_value());
}

TEST_F(OperationRunnerTest, Guard_SettledRefusesAnUnavailableVmNotInFluxDoesNot)
{
    inventory.setState(vm(), VmState::Unavailable);
    Capture<std::monostate> settled;
    EXPECT_FALSE(runner.guard(OperationRunner::open(caller(kAlice), uuid, VmOperation::Start, settled.done()), vm(),
                              Guard::Settled));
    EXPECT_EQ(settled.message(),
              "VM 'web' is unavailable: the hypervisor cannot be reached or does not know its domain");

    Capture<std::monostate> inFlux;
    EXPECT_TRUE(runner.guard(OperationRunner::open(caller(kAlice), uuid, VmOperation::Delete, inFlux.done()), vm(),
                             Guard::NotInFlux));
    EXPECT_FALSE(inFlux.outcome.has_value()) << "a passed guard does not reply";
    EXPECT_FALSE(vm().operation.has_value()) << "guard alone does not mark";
}

TEST_F(OperationRunnerTest, Authorize_AVmDeletedWhileAuthorizationWasPendingIsNotFound)
{
    authorizer.hold = true;
    Capture<std::monostate> reply;
    const Ticket ticket = OperationRunner::open(caller(kAlice), uuid, VmOperation::Start, reply.done());
    bool ran = false;
    runner.authorize(ticket, [&](Vm&) { ran = true; });
    ASSERT_EQ(authorizer.held.size(), 1U);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageOwnVms);
    EXPECT_EQ(authorizer.requests.back().details.at("verb"), "start");
    const std::size_t eventsBefore = allEvents().size();

    inventory.remove(uuid);
    authorizer.allowAllHeld();

    EXPECT_FALSE(ran);
    ASSERT_TRUE(reply.outcome.has_value());
    EXPECT_EQ(reply.code(), ErrorCode::NotFound);
    EXPECT_EQ(reply.message(), "the VM was deleted while authorization was pending");
    EXPECT_EQ(allEvents().size(), eventsBefore) << "nothing left to record it about";
}

TEST_F(OperationRunnerTest, Authorize_ADenialIsRecordedAndStopsThePipeline)
{
    authorizer.denied[Action::ManageAllVms] = true;
    Capture<std::monostate> reply;
    bool ran = false;
    runner.authorize(OperationRunner::open(caller(kBob), uuid, VmOperation::Delete, reply.done()),
                     [&](Vm&) { ran = true; });

    EXPECT_FALSE(ran);
    EXPECT_EQ(reply.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageAllVms) << "bob does not own alice's VM";
    EXPECT_EQ(lastEvent().action, "delete");
    EXPECT_EQ(lastEvent().outcome, "PermissionDenied");
    EXPECT_EQ(lastEvent().uid, kBob);
}

TEST_F(OperationRunnerTest, Step_AVmDeletedWhileTheStepRanIsNotFoundAndNotSettled)
{
    Capture<std::monostate> reply;
    const Ticket ticket = OperationRunner::open(caller(kAlice), uuid, VmOperation::Start, reply.done());
    ASSERT_TRUE(runner.claim(ticket, vm(), Guard::Settled));
    bool settled = false;
    runner.step<int>(
        ticket, [] { return 1; }, [&](Vm&, Outcome<int>) { settled = true; });
    inventory.remove(uuid);
    executor.drain();

    EXPECT_FALSE(settled);
    EXPECT_EQ(reply.code(), ErrorCode::NotFound);
    EXPECT_EQ(reply.message(), "the VM was deleted meanwhile");
}

TEST_F(OperationRunnerTest, Facade_ASecondRequestWhileOneRunsIsBusyAndTheFirstStillCompletes)
{
    Capture<std::monostate> start;
    manager.start(caller(kAlice), uuid, start.done());
    EXPECT_EQ(vm().operation, VmOperation::Start);
    Capture<std::monostate> remove;
    manager.remove(caller(kAlice), uuid, {}, remove.done());
    ASSERT_TRUE(remove.outcome.has_value());
    EXPECT_EQ(remove.message(), "VM 'web' is busy: 'start' is in progress");

    executor.drain();
    EXPECT_TRUE(start.ok());
    EXPECT_FALSE(vm().operation.has_value());
    EXPECT_EQ(vm().state, VmState::Running);
}

TEST(LoopThreadDeathTest, EnteringCoreOffTheLoopThreadAborts)
{
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    Inventory inventory;
    Vm vm;
    vm.record.uuid = "u";
    vm.record.name = "v";
    Vm& added = inventory.add(std::move(vm)); // binds this thread as the loop's, unless a test before did
    EXPECT_DEATH(
        {
            std::thread other([&] { inventory.setPhase(added, VmPhase::Ready); });
            other.join();
        },
        "Inventory::setPhase entered off the event loop's thread");
}

} // namespace
} // namespace hangar
