// LibvirtHypervisor's events and connection on the test driver: events reach the sink only through the loop, a host
// that is not there yet is retried. Losing a running libvirtd is tests/libvirtd/ConnectionLossTest.cpp.
#include "LibvirtHypervisorFixture.h"
#include "support/TempDir.h"

#include <filesystem>

namespace hangar::virt {
namespace {

TEST_F(LibvirtHypervisorTest, Events_ReachSinkOnlyThroughPostToLoop)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    // Whatever libvirt's thread did meanwhile, nothing reached the sink: it runs only in closures we run.
    ASSERT_TRUE(m_loop.waitForPending(1));
    EXPECT_TRUE(m_events.empty());

    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
    m_hypervisor->suspend(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Paused));
    m_hypervisor->resume(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
    m_hypervisor->destroy(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped));
    m_hypervisor->undefine(uuid);
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::Undefined, uuid));

    ASSERT_FALSE(m_sinkThreads.empty());
    for (const auto& id : m_sinkThreads)
        EXPECT_EQ(id, std::this_thread::get_id());
}

TEST_F(LibvirtHypervisorTest, Events_ChangesMadeOutsideHangarAreReported)
{
    const auto uuid = defineVm("web-1").uuid;
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
    ASSERT_TRUE(dom);
    ASSERT_EQ(virDomainCreate(dom.get()), 0); // as another tool would, on its own connection
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::StateChanged, uuid, DomainState::Running));
}

TEST_F(LibvirtHypervisorTest, Events_AfterDestructionNothingIsDelivered)
{
    const auto uuid = defineVm("web-1").uuid;
    m_hypervisor->start(uuid);
    ASSERT_TRUE(m_loop.waitForPending(1));
    m_hypervisor.reset();
    m_loop.runPending();
    EXPECT_TRUE(m_events.empty());
}

TEST_F(LibvirtHypervisorTest, Subscribe_LateSubscriberGetsEventsPostedBefore)
{
    const auto uuid = defineVm("web-1").uuid;
    std::vector<HypervisorEvent> seen;
    m_hypervisor->subscribe(nullptr);
    m_hypervisor->start(uuid);
    ASSERT_TRUE(m_loop.waitForPending(1));
    m_hypervisor->subscribe([&](const HypervisorEvent& e) { seen.push_back(e); });
    EXPECT_TRUE(m_loop.runUntil(
        [&] { return std::any_of(seen.begin(), seen.end(), [&](const auto& e) { return e.uuid == uuid; }); }));
}

TEST(LibvirtConnection, RetryDelay_DoublesFromOneSecondUpToThirty)
{
    std::vector<long> delays;
    auto delay = LibvirtConnection::kFirstRetry;
    for (int i = 0; i < 8; ++i) {
        delays.push_back(static_cast<long>(delay.count()));
        delay = LibvirtConnection::nextRetryDelay(delay);
    }
    EXPECT_EQ(delays, (std::vector<long>{1, 2, 4, 8, 16, 30, 30, 30}));
}

TEST(LibvirtHypervisor, UnsupportedDriver_ThrowsNotSupported)
{
    try {
        LibvirtHypervisor hypervisor("lxc:///system", [](const std::function<void()>&) {});
        FAIL() << "constructed";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotSupported);
    }
}

TEST_F(LibvirtHypervisorTest, Unreachable_CallsThrowNotConnectedAndConnectionLostIsPosted)
{
    const support::TempDir dir("hangar-libvirt-");
    const std::string uri = "test://" + (std::filesystem::path(dir.path()) / "missing-node.xml").string();
    auto hypervisor = makeHypervisor(uri);
    EXPECT_FALSE(hypervisor->connected());
    const auto error = errorOf([&] { hypervisor->state(freshUuid()); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::BackendFailure);
    EXPECT_EQ(std::string(error->what()).rfind("not connected to " + uri + ": ", 0), 0U) << error->what();
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionLost));
}

TEST_F(LibvirtHypervisorTest, Unreachable_ReconnectsWhenHostAppears)
{
    const support::TempDir dir("hangar-libvirt-");
    const auto node = std::filesystem::path(dir.path()) / "node.xml";
    const std::string uri = "test://" + node.string();
    auto hypervisor = makeHypervisor(uri);
    ASSERT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionLost));

    const auto uuid = freshUuid();
    std::ofstream(node) << "<node><domain type='test'><name>from-file</name><uuid>" << uuid
                        << "</uuid><memory unit='MiB'>128</memory><os><type>hvm</type></os></domain></node>";
    EXPECT_TRUE(waitForEvent(HypervisorEvent::Kind::ConnectionRestored));
    EXPECT_TRUE(hypervisor->connected());
    EXPECT_EQ(hypervisor->state(uuid), DomainState::Running); // node-file domains start running
}

// A libvirtd of this test's own, with no driver modules (LIBVIRT_DRIVER_DIR points at an empty directory), so it

} // namespace
} // namespace hangar::virt
