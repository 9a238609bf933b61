// The rules of resource alerts (core/AlertPolicy.h) with made-up readings and times: thresholds, the clear margin
// that makes a flapping value alert once, sustain times, and thresholds changed by a reload.
#include "core/AlertPolicy.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

constexpr std::uint64_t kGiB = 1024ULL * 1024 * 1024;

AlertTime at(std::int64_t seconds)
{
    return AlertTime{1'700'000'000'000'000 + seconds * 1'000'000, seconds * 1'000'000};
}

HostReading pool(std::uint64_t freeGiB, std::uint64_t capacityGiB = 100)
{
    HostReading r;
    r.pool = "hangar";
    r.poolCapacityBytes = capacityGiB * kGiB;
    r.poolAvailableBytes = freeGiB * kGiB;
    return r;
}

std::vector<VmCpuReading> cpu(double percent)
{
    return {VmCpuReading{"11111111-2222-4333-8444-555555555555", "web", percent}};
}

TEST(AlertPolicyTest, PoolFreePercent_RaisesBelowThresholdOnceAndClearsOnlyPastTheMargin)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.poolFreePercent = 10;
    t.clearMarginPercent = 5;
    policy.setThresholds(t);

    EXPECT_TRUE(policy.observeHost(pool(50), at(0)).empty());
    const auto raised = policy.observeHost(pool(9), at(10));
    ASSERT_EQ(raised.size(), 1U);
    EXPECT_TRUE(raised[0].raised);
    EXPECT_EQ(raised[0].alert.id, "pool-free:local/hangar");
    EXPECT_EQ(raised[0].alert.subject, "local/pool/hangar");
    EXPECT_EQ(raised[0].alert.severity, Severity::Warning);
    EXPECT_EQ(raised[0].alert.raisedAtUsec, at(10).wallUsec);
    EXPECT_NE(raised[0].message.find("9.0% free"), std::string::npos) << raised[0].message;

    // Flapping around the threshold, and up to just under the clear level: nothing new.
    for (std::uint64_t freeGiB : {11, 9, 12, 8, 14, 9})
        EXPECT_TRUE(policy.observeHost(pool(freeGiB), at(20)).empty()) << freeGiB;
    ASSERT_EQ(policy.active().size(), 1U);

    const auto cleared = policy.observeHost(pool(15), at(30));
    ASSERT_EQ(cleared.size(), 1U);
    EXPECT_FALSE(cleared[0].raised);
    EXPECT_EQ(cleared[0].alert.id, "pool-free:local/hangar");
    EXPECT_EQ(cleared[0].message.rfind("cleared: ", 0), 0U) << cleared[0].message;
    EXPECT_TRUE(policy.active().empty());

    EXPECT_EQ(policy.observeHost(pool(5), at(40)).size(), 1U) << "raised again once it falls again";
}

TEST(AlertPolicyTest, PoolFreeBytes_ClearsAtThresholdPlusMarginPercentOfIt)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.poolFreeBytes = 20 * kGiB;
    t.clearMarginPercent = 10; // clears at 22 GiB
    policy.setThresholds(t);

    ASSERT_EQ(policy.observeHost(pool(19), at(0)).size(), 1U);
    EXPECT_TRUE(policy.observeHost(pool(21), at(1)).empty());
    EXPECT_EQ(policy.observeHost(pool(22), at(2)).size(), 1U);
}

TEST(AlertPolicyTest, UnknownFiguresLeaveAnAlertAsItIs)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.poolFreePercent = 10;
    t.hostMemoryFreeBytes = kGiB;
    policy.setThresholds(t);
    HostReading low = pool(1);
    low.memoryFreeBytes = kGiB / 2;
    ASSERT_EQ(policy.observeHost(low, at(0)).size(), 2U);

    HostReading unknown; // the host did not answer: no figures
    unknown.reachable = false;
    EXPECT_TRUE(policy.observeHost(unknown, at(1)).empty());
    EXPECT_EQ(policy.active().size(), 2U);
}

TEST(AlertPolicyTest, HostMemory_RaisesBelowAndClearsAboveTheMargin)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.hostMemoryFreeBytes = 4 * kGiB;
    policy.setThresholds(t);
    HostReading r;
    r.memoryFreeBytes = 3 * kGiB;
    const auto raised = policy.observeHost(r, at(0));
    ASSERT_EQ(raised.size(), 1U);
    EXPECT_EQ(raised[0].alert.id, "host-memory:local");
    EXPECT_EQ(raised[0].alert.subject, "local");
    r.memoryFreeBytes = 4 * kGiB; // back at the threshold, under the 5 % margin
    EXPECT_TRUE(policy.observeHost(r, at(1)).empty());
    r.memoryFreeBytes = 5 * kGiB;
    EXPECT_EQ(policy.observeHost(r, at(2)).size(), 1U);
}

TEST(AlertPolicyTest, VmCpu_RaisesOnlyAfterTheSustainTimeAndAShortSpikeDoesNot)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.vmCpuPercent = 90;
    t.vmCpuSustainSec = 60;
    policy.setThresholds(t);

    EXPECT_TRUE(policy.observeVms("local", cpu(95), at(0)).empty());
    EXPECT_TRUE(policy.observeVms("local", cpu(99), at(30)).empty());
    EXPECT_TRUE(policy.observeVms("local", cpu(50), at(40)).empty()) << "the spike ended before 60 s";
    EXPECT_TRUE(policy.observeVms("local", cpu(95), at(50)).empty()) << "a new streak starts";
    EXPECT_TRUE(policy.observeVms("local", cpu(95), at(109)).empty());
    const auto raised = policy.observeVms("local", cpu(95), at(110));
    ASSERT_EQ(raised.size(), 1U);
    EXPECT_EQ(raised[0].alert.id, "vm-cpu:local/11111111-2222-4333-8444-555555555555");
    EXPECT_EQ(raised[0].alert.subject, "local/vm/web");
    EXPECT_EQ(raised[0].alert.vmUuid, "11111111-2222-4333-8444-555555555555");

    EXPECT_TRUE(policy.observeVms("local", cpu(86), at(120)).empty()) << "under 90 but not under 85";
    EXPECT_EQ(policy.observeVms("local", cpu(84), at(130)).size(), 1U);
}

TEST(AlertPolicyTest, VmCpu_AlertOfAVmThatStoppedClears)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.vmCpuPercent = 90;
    t.vmCpuSustainSec = 0;
    policy.setThresholds(t);
    ASSERT_EQ(policy.observeVms("local", cpu(100), at(0)).size(), 1U);
    const auto cleared = policy.observeVms("local", {}, at(5));
    ASSERT_EQ(cleared.size(), 1U);
    EXPECT_FALSE(cleared[0].raised);
    EXPECT_NE(cleared[0].message.find("no longer running"), std::string::npos) << cleared[0].message;
}

TEST(AlertPolicyTest, Unreachable_IsAnErrorRaisedAfterItsTimeAndClearedWhenTheHostAnswers)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.unreachableSec = 30;
    policy.setThresholds(t);
    HostReading down;
    down.reachable = false;
    down.error = "Cannot recv data: Connection reset by peer";
    EXPECT_TRUE(policy.observeHost(down, at(0)).empty());
    EXPECT_TRUE(policy.observeHost(down, at(29)).empty());
    const auto raised = policy.observeHost(down, at(30));
    ASSERT_EQ(raised.size(), 1U);
    EXPECT_EQ(raised[0].alert.id, "host-unreachable:local");
    EXPECT_EQ(raised[0].alert.severity, Severity::Error);
    EXPECT_NE(raised[0].message.find("Connection reset"), std::string::npos) << raised[0].message;
    EXPECT_TRUE(policy.observeHost(down, at(60)).empty());
    EXPECT_EQ(policy.observeHost(HostReading{}, at(61)).size(), 1U);
}

TEST(AlertPolicyTest, ThresholdRemovedByAReloadClearsItsAlert)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.poolFreePercent = 10;
    policy.setThresholds(t);
    ASSERT_EQ(policy.observeHost(pool(1), at(0)).size(), 1U);
    policy.setThresholds(AlertThresholds{});
    const auto cleared = policy.observeHost(pool(1), at(1));
    ASSERT_EQ(cleared.size(), 1U);
    EXPECT_FALSE(cleared[0].raised);
    EXPECT_NE(cleared[0].message.find("removed"), std::string::npos);
    EXPECT_TRUE(policy.active().empty());
}

TEST(AlertPolicyTest, ActiveListsOldestFirst)
{
    AlertPolicy policy;
    AlertThresholds t;
    t.poolFreePercent = 10;
    t.hostMemoryFreeBytes = kGiB;
    policy.setThresholds(t);
    ASSERT_EQ(policy.observeHost(pool(1), at(0)).size(), 1U);
    HostReading both = pool(1);
    both.memoryFreeBytes = 1;
    ASSERT_EQ(policy.observeHost(both, at(5)).size(), 1U);
    const auto active = policy.active();
    ASSERT_EQ(active.size(), 2U);
    EXPECT_EQ(active[0].kind, "pool-free");
    EXPECT_EQ(active[1].kind, "host-memory");
}

} // namespace
} // namespace hangar
