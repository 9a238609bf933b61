// Consoles and graphics handed out as sockets (core/VmAccess through VmManager) with a fake hypervisor: who may,
// in which states, the console's exclusivity, the audit trail, and GraphicsAddress following the VM's state.
#include "CoreFixture.h"
#include "core/VmManager.h"
#include "fakes/FakeHypervisor.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

namespace hangar {
namespace {

using testing::kAlice;
using testing::kBob;

// Records which VMs' GraphicsAddress changed, as the bus would emit PropertiesChanged for them.
class GraphicsObserver final : public InventoryObserver
{
public:
    void vmAdded(const Vm&) override {}
    void vmRemoved(const Vm&) override {}
    void vmChanged(const Vm& vm, VmFields fields) override
    {
        if (has(fields, VmField::GraphicsAddress))
            changes.push_back(vm.graphicsAddress);
    }
    void countsChanged(const InventoryCounts&) override {}
    std::vector<std::string> changes;
};

// Whether fd's peer has closed: a read returns end-of-file at once.
bool readsEof(int fd)
{
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1)
        return false;
    char byte = 0;
    return recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

class VmAccessTest : public testing::CoreFixture<GraphicsObserver>
{
protected:
    void start(const std::string& uuid)
    {
        std::optional<Outcome<>> r;
        manager.start(caller(kAlice), uuid, [&](Outcome<> o) { r.emplace(std::move(o)); });
        executor.drain();
        ASSERT_TRUE(r && r->ok());
    }

    Outcome<SharedFd> console(const std::string& uuid, bool force = false, std::uint32_t uid = kAlice)
    {
        std::optional<Outcome<SharedFd>> r;
        manager.openConsole(caller(uid), uuid, force, [&](Outcome<SharedFd> o) { r.emplace(std::move(o)); });
        executor.drain();
        EXPECT_TRUE(r.has_value());
        return r ? *r : Outcome<SharedFd>(Error(ErrorCode::Cancelled, "no outcome"));
    }

    Outcome<SharedFd> graphics(const std::string& uuid, std::uint32_t uid = kAlice)
    {
        std::optional<Outcome<SharedFd>> r;
        manager.openGraphics(caller(uid), uuid, [&](Outcome<SharedFd> o) { r.emplace(std::move(o)); });
        executor.drain();
        EXPECT_TRUE(r.has_value());
        return r ? *r : Outcome<SharedFd>(Error(ErrorCode::Cancelled, "no outcome"));
    }
};

TEST_F(VmAccessTest, OpenConsole_OfStoppedVmIsBusyWithoutAskingTheHypervisor)
{
    const auto uuid = create("web");
    const auto r = console(uuid);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::Busy);
    EXPECT_NE(std::string(r.error().what()).find("stopped"), std::string::npos) << r.error().what();
    EXPECT_EQ(hypervisor.calls("openConsole"), 0);
    EXPECT_EQ(allEvents().back().action, "console");
    EXPECT_EQ(allEvents().back().outcome, "Busy");
}

TEST_F(VmAccessTest, OpenConsole_GivesASocketConnectedToTheGuestConsole)
{
    const auto uuid = create("web");
    start(uuid);
    const auto r = console(uuid);
    ASSERT_TRUE(r.ok()) << r.error().what();
    const int fd = r.value()->get();
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, "ls\n", 3, 0), 3);
    char buffer[8] = {};
    ASSERT_EQ(recv(hypervisor.consoleGuestEnd(uuid), buffer, sizeof buffer, 0), 3);
    EXPECT_EQ(std::string(buffer, 3), "ls\n");
    EXPECT_EQ(allEvents().back().action, "console");
    EXPECT_EQ(allEvents().back().outcome, "ok");
    const auto& request = authorizer.requests.back();
    EXPECT_EQ(request.action, Action::ManageOwnVms);
    EXPECT_EQ(request.details.at("verb"), "console");
    EXPECT_EQ(request.details.at("vm"), "web");
}

TEST_F(VmAccessTest, OpenConsole_IsExclusiveUnlessForced)
{
    const auto uuid = create("web");
    start(uuid);
    const auto first = console(uuid);
    ASSERT_TRUE(first.ok());
    const auto second = console(uuid);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), ErrorCode::Busy);
    const auto forced = console(uuid, true);
    ASSERT_TRUE(forced.ok()) << forced.error().what();
    EXPECT_TRUE(readsEof(first.value()->get())) << "the session taken over ends";
    EXPECT_NE(allEvents().back().message.find("force"), std::string::npos) << allEvents().back().message;
}

TEST_F(VmAccessTest, OpenConsole_OfSomeoneElsesVmNeedsManageAllVms)
{
    const auto uuid = create("bobs", kBob);
    start(uuid);
    authorizer.denied[Action::ManageAllVms] = true;
    const auto r = console(uuid);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageAllVms);
    EXPECT_EQ(hypervisor.calls("openConsole"), 0) << "asked before anything is touched";
    EXPECT_EQ(allEvents().back().outcome, "PermissionDenied");
}

TEST_F(VmAccessTest, OpenConsole_HypervisorFailureReachesTheCaller)
{
    const auto uuid = create("web");
    start(uuid);
    hypervisor.failNext("openConsole", Error(ErrorCode::NotSupported, "this driver has no consoles"));
    const auto r = console(uuid);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::NotSupported);
    EXPECT_EQ(allEvents().back().outcome, "NotSupported");
}

TEST_F(VmAccessTest, OpenConsole_DoesNotBlockLifecycleOperations)
{
    const auto uuid = create("web");
    start(uuid);
    std::optional<Outcome<SharedFd>> opened;
    manager.openConsole(caller(kAlice), uuid, false, [&](Outcome<SharedFd> o) { opened.emplace(std::move(o)); });
    std::optional<Outcome<>> stopped;
    manager.stop(caller(kAlice), uuid, {true, 0}, [&](Outcome<> o) { stopped.emplace(std::move(o)); });
    executor.drain();
    ASSERT_TRUE(stopped.has_value());
    EXPECT_TRUE(stopped->ok()) << "a console open is not an operation that makes Stop Busy";
}

TEST_F(VmAccessTest, OpenGraphics_ManyAtOnceWhileRunningBusyOtherwise)
{
    const auto uuid = create("web");
    const auto stopped = graphics(uuid);
    ASSERT_FALSE(stopped.ok());
    EXPECT_EQ(stopped.error().code(), ErrorCode::Busy);
    start(uuid);
    const auto a = graphics(uuid);
    const auto b = graphics(uuid);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok());
    EXPECT_NE(a.value()->get(), b.value()->get());
    EXPECT_EQ(allEvents().back().action, "graphics");
    EXPECT_EQ(authorizer.requests.back().details.at("verb"), "graphics");
}

TEST_F(VmAccessTest, GraphicsAddress_FollowsTheStateWithChangeNotifications)
{
    hypervisor.setGraphicsAddress("vnc://127.0.0.1:5907");
    const auto uuid = create("web");
    EXPECT_EQ(inventory.find(uuid)->graphicsAddress, "");
    start(uuid);
    EXPECT_EQ(inventory.find(uuid)->graphicsAddress, "vnc://127.0.0.1:5907");
    EXPECT_EQ(observer.changes, std::vector<std::string>{"vnc://127.0.0.1:5907"});

    std::optional<Outcome<>> paused;
    manager.pause(caller(kAlice), uuid, [&](Outcome<> o) { paused.emplace(std::move(o)); });
    executor.drain();
    EXPECT_EQ(hypervisor.calls("graphicsAddress"), 1) << "paused keeps its VNC server and port";

    hypervisor.setStateOutside(uuid, DomainState::Stopped); // the guest powered off
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped});
    executor.drain();
    EXPECT_EQ(inventory.find(uuid)->graphicsAddress, "");
    EXPECT_EQ(observer.changes, (std::vector<std::string>{"vnc://127.0.0.1:5907", ""}));
}

TEST_F(VmAccessTest, GraphicsAddress_OfAVmThatArrivesRunningIsLookedUp)
{
    // As the Reconciler adopts a running domain that carries Hangar metadata: added straight in state running.
    VmRecord record;
    record.uuid = "aaaaaaaa-0000-4000-8000-00000000000a";
    record.name = "adopted";
    record.phase = VmPhase::Ready;
    hypervisor.addOutside({record.uuid, DomainState::Running, record, {}});
    Vm vm;
    vm.record = record;
    vm.state = VmState::Running;
    inventory.add(std::move(vm));
    executor.drain();
    EXPECT_EQ(inventory.find(record.uuid)->graphicsAddress, "vnc://127.0.0.1:5900");
}

TEST_F(VmAccessTest, GraphicsAddress_AnswerFromBeforeARestartIsDropped)
{
    const auto uuid = create("web");
    std::optional<Outcome<>> started;
    manager.start(caller(kAlice), uuid, [&](Outcome<> o) { started.emplace(std::move(o)); });
    executor.drainOne(); // the start and its completion, which asks for the address
    // Each start also asks whether a guest agent is connected (core/VmGuestCommands), queued after the lookup.
    ASSERT_EQ(executor.pending(), 2U) << "the first address lookup and agent probe";
    // The guest stops and starts again (behind Hangar's back) before that answer arrives: a second lookup.
    hypervisor.setStateOutside(uuid, DomainState::Stopped);
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped});
    hypervisor.setStateOutside(uuid, DomainState::Running);
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running});
    ASSERT_EQ(executor.pending(), 4U);
    hypervisor.setGraphicsAddress("vnc://127.0.0.1:5900"); // what the first lookup sees: the old port
    executor.drainOne();
    EXPECT_EQ(inventory.find(uuid)->graphicsAddress, "") << "the first answer is stale";
    hypervisor.setGraphicsAddress("vnc://127.0.0.1:5901");
    executor.drain();
    EXPECT_EQ(inventory.find(uuid)->graphicsAddress, "vnc://127.0.0.1:5901");
}

} // namespace
} // namespace hangar
