// Who is looking at a guest (core/ConsolePresence through VmManager, fed the hypervisor's events by the fake): the
// VM's ConsoleAttached and GraphicsClients, their change notifications, the audit lines, and the reset when the
// guest stops. Plus VM.OpenLog's core side (core/VmAccess): the log as the hypervisor hands it out, who may read it,
// and what a VM that never ran is told.
#include "CoreFixture.h"
#include "core/VmManager.h"
#include "fakes/FakeHypervisor.h"
#include "store/SqliteStore.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace hangar {
namespace {

using testing::kAlice;
using testing::kBob;

// Records each ConsoleAttached and GraphicsClients change, as the bus would emit PropertiesChanged for it.
class PresenceObserver final : public InventoryObserver
{
public:
    void vmAdded(const Vm&) override {}
    void vmRemoved(const Vm&) override {}
    void vmChanged(const Vm& vm, VmFields fields) override
    {
        if (has(fields, VmField::ConsoleAttached))
            console.push_back(vm.consoleAttached);
        if (has(fields, VmField::GraphicsClients))
            graphics.push_back(vm.graphicsClients);
    }
    void countsChanged(const InventoryCounts&) override {}
    std::vector<bool> console;
    std::vector<std::uint32_t> graphics;
};

HypervisorEvent consoleEvent(const std::string& uuid, std::uint64_t session, bool present)
{
    HypervisorEvent e{HypervisorEvent::Kind::ConsoleChanged, uuid, DomainState::Running};
    e.session = session;
    e.present = present;
    return e;
}

HypervisorEvent graphicsEvent(const std::string& uuid, bool present, std::string client = "127.0.0.1:40000")
{
    HypervisorEvent e{HypervisorEvent::Kind::GraphicsChanged, uuid, DomainState::Running};
    e.present = present;
    e.client = std::move(client);
    return e;
}

class ConsolePresenceTest : public testing::CoreFixture<PresenceObserver>
{
protected:
    std::string running(const std::string& name)
    {
        const auto uuid = create(name);
        EXPECT_TRUE(call([&](Done<> d) { manager.start(caller(kAlice), uuid, std::move(d)); }).ok());
        return uuid;
    }
    const Vm& vm(const std::string& uuid) { return *inventory.find(uuid); }
    std::string lastMessage() { return allEvents().back().message; }

    Outcome<SharedFd> openLog(const std::string& uuid, std::uint32_t uid = kAlice)
    {
        std::optional<Outcome<SharedFd>> r;
        manager.openLog(caller(uid), uuid, [&](Outcome<SharedFd> o) { r.emplace(std::move(o)); });
        executor.drain();
        EXPECT_TRUE(r.has_value());
        return r ? *r : Outcome<SharedFd>(Error(ErrorCode::Cancelled, "no outcome"));
    }
};

TEST_F(ConsolePresenceTest, ANewVmHasNoConsoleAndNoGraphicsClients)
{
    const auto uuid = running("web");
    EXPECT_FALSE(vm(uuid).consoleAttached);
    EXPECT_EQ(vm(uuid).graphicsClients, 0U);
}

TEST_F(ConsolePresenceTest, ConsoleAttachedFollowsTheBridgeAndAForcedTakeOverStaysAttached)
{
    const auto uuid = running("web");
    hypervisor.emit(consoleEvent(uuid, 7, true));
    EXPECT_TRUE(vm(uuid).consoleAttached);
    // A forced open: the first bridge ends, then the second begins; the property never flickers in between
    // because the end and the start are separate events about separate sessions.
    hypervisor.emit(consoleEvent(uuid, 8, true));
    hypervisor.emit(consoleEvent(uuid, 7, false));
    EXPECT_TRUE(vm(uuid).consoleAttached);
    hypervisor.emit(consoleEvent(uuid, 8, false));
    EXPECT_FALSE(vm(uuid).consoleAttached);
    EXPECT_EQ(observer.console, (std::vector<bool>{true, false}));
    EXPECT_EQ(allEvents().back().action, "console");
    EXPECT_EQ(lastMessage(), "serial console detached");
    EXPECT_EQ(allEvents().back().uid, 0U);
}

TEST_F(ConsolePresenceTest, AnEndOfAnUnknownSessionChangesNothing)
{
    const auto uuid = running("web");
    const auto before = allEvents().size();
    hypervisor.emit(consoleEvent(uuid, 3, false));
    EXPECT_FALSE(vm(uuid).consoleAttached);
    EXPECT_TRUE(observer.console.empty());
    EXPECT_EQ(allEvents().size(), before);
}

TEST_F(ConsolePresenceTest, OpenConsoleIsAuditedAsAttachedByTheCallersUid)
{
    const auto uuid = running("web");
    std::optional<Outcome<SharedFd>> r;
    manager.openConsole(caller(kAlice), uuid, false, [&](Outcome<SharedFd> o) { r.emplace(std::move(o)); });
    executor.drain();
    ASSERT_TRUE(r && r->ok());
    EXPECT_EQ(allEvents().back().uid, kAlice);
    EXPECT_NE(lastMessage().find("console attached by uid " + std::to_string(kAlice)), std::string::npos)
        << lastMessage();
}

TEST_F(ConsolePresenceTest, GraphicsClientsCountsConnectsAndDisconnectsWithAuditLines)
{
    const auto uuid = running("web");
    hypervisor.emit(graphicsEvent(uuid, true, "a local socket"));
    hypervisor.emit(graphicsEvent(uuid, true, "127.0.0.1:40000"));
    EXPECT_EQ(vm(uuid).graphicsClients, 2U);
    EXPECT_EQ(lastMessage(), "graphics client connected from 127.0.0.1:40000; 2 connected");
    EXPECT_EQ(allEvents().back().action, "graphics");
    hypervisor.emit(graphicsEvent(uuid, false, "a local socket"));
    EXPECT_EQ(vm(uuid).graphicsClients, 1U);
    EXPECT_EQ(lastMessage(), "graphics client disconnected from a local socket; 1 connected");
    EXPECT_EQ(observer.graphics, (std::vector<std::uint32_t>{1, 2, 1}));
}

TEST_F(ConsolePresenceTest, ADisconnectOfAClientNeverSeenConnectingIsNotCountedBelowZero)
{
    const auto uuid = running("web");
    const auto before = allEvents().size();
    hypervisor.emit(graphicsEvent(uuid, false));
    EXPECT_EQ(vm(uuid).graphicsClients, 0U);
    EXPECT_TRUE(observer.graphics.empty());
    EXPECT_EQ(allEvents().size(), before);
}

TEST_F(ConsolePresenceTest, StoppingTheGuestResetsBothAndLateReportsAreIgnored)
{
    const auto uuid = running("web");
    hypervisor.emit(consoleEvent(uuid, 1, true));
    hypervisor.emit(graphicsEvent(uuid, true));
    ASSERT_TRUE(call([&](Done<> d) { manager.stop(caller(kAlice), uuid, {true, 0}, std::move(d)); }).ok());
    EXPECT_FALSE(vm(uuid).consoleAttached);
    EXPECT_EQ(vm(uuid).graphicsClients, 0U);
    const auto events = allEvents();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const EventRecord& e) {
        return e.action == "console" && e.message == "serial console detached: the VM is stopped";
    })) << "the reset is audited";
    // The bridge's end and QEMU's last disconnect can arrive after the stop: nothing left to undo.
    hypervisor.emit(consoleEvent(uuid, 1, false));
    hypervisor.emit(graphicsEvent(uuid, false));
    hypervisor.emit(graphicsEvent(uuid, true)); // late, and about a guest that is not running
    EXPECT_FALSE(vm(uuid).consoleAttached);
    EXPECT_EQ(vm(uuid).graphicsClients, 0U);
    EXPECT_EQ(observer.console, (std::vector<bool>{true, false}));
    EXPECT_EQ(observer.graphics, (std::vector<std::uint32_t>{1, 0}));
}

TEST_F(ConsolePresenceTest, OpenLogGivesTheHypervisorsLogOfAStoppedVm)
{
    const auto uuid = create("web");
    hypervisor.setLog(uuid, "qemu-system-x86_64 -name guest=hangar-x\n");
    const auto r = openLog(uuid);
    ASSERT_TRUE(r.ok()) << r.error().what();
    char buffer[64] = {};
    const auto n = ::read(r.value()->get(), buffer, sizeof buffer);
    EXPECT_EQ(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0),
              "qemu-system-x86_64 -name guest=hangar-x\n");
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageOwnVms);
    EXPECT_EQ(authorizer.requests.back().details.at("verb"), "log");
    EXPECT_EQ(allEvents().back().action, "log");
    EXPECT_EQ(allEvents().back().outcome, "ok");
}

TEST_F(ConsolePresenceTest, OpenLogOfAVmThatNeverRanIsNotFoundSayingSo)
{
    const auto uuid = create("fresh");
    const auto r = openLog(uuid);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(r.error().what()).find("VM 'fresh' has no hypervisor log: it has not run"), std::string::npos)
        << r.error().what();
    EXPECT_EQ(allEvents().back().outcome, "NotFound");
}

TEST_F(ConsolePresenceTest, OpenLogOfSomeoneElsesVmNeedsManageAllVmsAndTouchesNothingWhenDenied)
{
    const auto uuid = create("bobs", kBob);
    hypervisor.setLog(uuid, "secret\n");
    authorizer.denied[Action::ManageAllVms] = true;
    const auto r = openLog(uuid);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageAllVms);
    EXPECT_EQ(hypervisor.calls("openLog"), 0);
}

} // namespace
} // namespace hangar
