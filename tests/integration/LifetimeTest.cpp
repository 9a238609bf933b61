// Ephemeral VMs, expiry and SetResources on the real hangard (private bus, libvirt's test driver): objects that
// disappear by themselves (InterfacesRemoved), across a restart too, and resources that change with
// PropertiesChanged. Who may do what beyond their limits is in tests/integration/polkit.
#include "DaemonFixture.h"

#include <ctime>
#include <gtest/gtest.h>

namespace hangar::it {
namespace {

using namespace std::chrono_literals;

class LifetimeTest : public ConnectedDaemonFixture
{
protected:
    bool removed(const std::string& path, std::chrono::milliseconds deadline = 10s)
    {
        return waitFor(
            [&] {
                const auto gone = manager->removed();
                return std::find(gone.begin(), gone.end(), path) != gone.end();
            },
            deadline);
    }
    bool audited(const std::string& vmName, const std::string& action, const std::string& words)
    {
        return waitFor([&] {
            for (const auto& e : manager->events())
                if (e.vmName == vmName && e.action == action && e.message.find(words) != std::string::npos)
                    return true;
            return false;
        });
    }
};

TEST_F(LifetimeTest, Ephemeral_DeletedAfterStopButNotBeforeItRan)
{
    const std::string path = create("scratch", {{"ephemeral", sdbus::Variant(true)}});
    auto& v = vm(path);
    EXPECT_TRUE(v.Ephemeral());
    EXPECT_EQ(v.ExpiresAt(), 0U);
    // Stopped as created, it never ran: it stays.
    EXPECT_EQ(errorOf([&] { v.Stop({{"force", sdbus::Variant(true)}}); }), "org.hangar.Hangar1.Error.Busy");
    EXPECT_EQ(manager->VMCount(), 1U);
    v.Start({});
    v.Stop({});
    ASSERT_TRUE(removed(path)) << "an ephemeral VM goes once it has run and stopped";
    EXPECT_EQ(manager->VMCount(), 0U);
    EXPECT_TRUE(audited("scratch", "delete", "ephemeral VM stopped after it ran"));
}

TEST_F(LifetimeTest, Ttl_DeletesARunningVmWhenItExpires)
{
    const std::string path = create("brief", {{"ttl_sec", sdbus::Variant(uint64_t{2})}});
    auto& v = vm(path);
    EXPECT_NEAR(static_cast<double>(v.ExpiresAt()), static_cast<double>(std::time(nullptr) + 2), 2.0);
    v.Start({});
    ASSERT_TRUE(removed(path));
    EXPECT_TRUE(audited("brief", "delete", "powered off and deleted"));
}

TEST_F(LifetimeTest, SetExpiry_ChangesExpiresAtRefusesThePastAndClears)
{
    const std::string path = create("later");
    auto& v = vm(path);
    const auto at = static_cast<uint64_t>(std::time(nullptr) + 3600);
    v.SetExpiry(at, {});
    EXPECT_EQ(v.ExpiresAt(), at);
    EXPECT_TRUE(waitFor([&] {
        auto names = v.changedNames();
        return std::find(names.begin(), names.end(), "ExpiresAt") != names.end();
    }));
    std::string message;
    EXPECT_EQ(errorOf([&] { v.SetExpiry(1000, {}); }, &message), "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_NE(message.find("not in the future"), std::string::npos) << message;
    v.SetExpiry(0, {});
    EXPECT_EQ(v.ExpiresAt(), 0U);
}

TEST_F(LifetimeTest, Expiry_PassedWhileTheDaemonWasDownIsHandledAtStartup)
{
    const std::string path = create("outlived", {{"ttl_sec", sdbus::Variant(uint64_t{4})}});
    const auto expiresAt = static_cast<std::time_t>(vm(path).ExpiresAt());
    disconnect();
    ASSERT_EQ(daemon->stop(), 0);
    daemon.reset();
    ASSERT_LT(std::time(nullptr), expiresAt) << "stopped too late for the test to mean anything";
    ASSERT_TRUE(waitFor([&] { return std::time(nullptr) > expiresAt; }, 10s));

    startDaemon();
    EXPECT_TRUE(waitFor([&] { return manager->VMCount() == 0; }));
    const auto rows = manager->GetEvents({});
    const bool expired = std::any_of(rows.begin(), rows.end(), [](const auto& row) {
        return row.template get<4>() == "outlived" && row.template get<5>() == "delete" &&
               row.template get<7>().find("expired at") != std::string::npos;
    });
    EXPECT_TRUE(expired);
}

TEST_F(LifetimeTest, SetResources_StoppedOnlyGrowsWithPropertiesChangedWithinQuota)
{
    const std::string path = create("elastic");
    auto& v = vm(path);
    v.Start({});
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      v.SetResources({{"vcpus", sdbus::Variant(uint32_t{2})}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.Busy");
    EXPECT_NE(message.find("only a stopped VM"), std::string::npos) << message;
    v.Stop({{"force", sdbus::Variant(true)}});

    v.SetResources({{"vcpus", sdbus::Variant(uint32_t{2})}, {"memory_mib", sdbus::Variant(uint64_t{1024})}});
    EXPECT_EQ(v.VCPUs(), 2U);
    EXPECT_EQ(v.MemoryMiB(), 1024U);
    EXPECT_TRUE(waitFor([&] {
        auto names = v.changedNames();
        return std::count(names.begin(), names.end(), "VCPUs") > 0 &&
               std::count(names.begin(), names.end(), "MemoryMiB") > 0;
    }));
    EXPECT_EQ(errorOf(
                  [&] {
                      v.SetResources({{"disk_gib", sdbus::Variant(uint64_t{1})}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_NE(message.find("can only grow"), std::string::npos) << message;

    manager->SetQuota(getuid(), {{"max_vcpus", sdbus::Variant(uint32_t{3})}});
    EXPECT_EQ(errorOf(
                  [&] {
                      v.SetResources({{"vcpus", sdbus::Variant(uint32_t{4})}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.QuotaExceeded");
    EXPECT_EQ(message, "quota exceeded: max_vcpus is 3, 2 in use, this needs 2 more");
    EXPECT_EQ(v.VCPUs(), 2U);

    disconnect(); // the row holds the change: the restarted daemon defines the test driver's domain from it
    ASSERT_EQ(daemon->stop(), 0);
    daemon.reset();
    startDaemon();
    EXPECT_EQ(vm(path).VCPUs(), 2U);
    vm(path).Start({});
}

} // namespace
} // namespace hangar::it
