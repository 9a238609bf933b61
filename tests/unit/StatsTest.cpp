// The stats sampler: rates from the difference of two samples, figures only for Hangar's running VMs, addresses
// following the samples, and sampling on the interval without piling up.
#include "core/Stats.h"

#include "fakes/CoreFakes.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

constexpr const char* kUuid = "11111111-2222-4333-8444-555555555555";

class ScriptedSource final : public StatsSource
{
public:
    std::vector<DomainSample> sample() override
    {
        ++calls;
        return next;
    }
    std::vector<DomainSample> next;
    int calls = 0;
};

DomainSample at(std::int64_t seconds, std::uint64_t cpuNs, std::uint64_t readBytes)
{
    DomainSample s;
    s.uuid = kUuid;
    s.monotonicNs = seconds * 1'000'000'000;
    s.cpuTimeNs = cpuNs;
    s.diskReadBytes = readBytes;
    s.memoryUsedKiB = 1024;
    s.memoryAvailableKiB = 4096;
    return s;
}

class StatsTest : public ::testing::Test
{
protected:
    StatsTest()
    {
        Vm vm;
        vm.record.uuid = kUuid;
        vm.record.name = "measured";
        vm.record.spec.vcpus = 2;
        vm.state = VmState::Running;
        inventory.setObserver(&observer);
        inventory.add(std::move(vm));
    }

    Inventory inventory;
    testing::RecordingObserver observer;
    testing::FakeExecutor executor;
    ScriptedSource source;
    StatsSampler sampler{inventory, source, executor, std::chrono::seconds(5)};
};

TEST_F(StatsTest, FirstSampleHasCountersButNoRates)
{
    sampler.apply({at(10, 1'000'000'000, 0)}, 42);
    auto s = sampler.stats(kUuid);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->sampledAtUsec, 42);
    EXPECT_EQ(s->cpuTimeNs, std::optional<std::uint64_t>(1'000'000'000));
    EXPECT_EQ(s->memoryUsedBytes, std::optional<std::uint64_t>(1024 * 1024));
    EXPECT_EQ(s->memoryAvailableBytes, std::optional<std::uint64_t>(4096 * 1024));
    EXPECT_FALSE(s->cpuPercent.has_value()) << "a rate needs two samples";
}

TEST_F(StatsTest, CpuPercentIsOfOneHostCpuAndCanExceedHundredWithSeveralVcpus)
{
    sampler.apply({at(10, 0, 0)}, 1);
    // 2 vCPUs busy for the whole 5 s: 10 s of CPU time in 5 s of wall time.
    sampler.apply({at(15, 10'000'000'000, 5'000'000)}, 2);
    auto s = sampler.stats(kUuid);
    ASSERT_TRUE(s && s->cpuPercent);
    EXPECT_DOUBLE_EQ(*s->cpuPercent, 200.0);
    ASSERT_TRUE(s->diskReadBytesPerSec);
    EXPECT_DOUBLE_EQ(*s->diskReadBytesPerSec, 1'000'000.0);
    EXPECT_FALSE(s->netRxBytesPerSec.has_value()) << "a counter the hypervisor does not report stays absent";
}

TEST_F(StatsTest, CounterThatWentBackwardsGivesNoRate)
{
    sampler.apply({at(10, 9'000'000'000, 0)}, 1);
    sampler.apply({at(15, 1'000'000'000, 0)}, 2); // the guest was restarted in between
    EXPECT_FALSE(sampler.stats(kUuid)->cpuPercent.has_value());
}

TEST_F(StatsTest, DomainsThatAreNotHangarsAreIgnored)
{
    DomainSample foreign = at(10, 1, 1);
    foreign.uuid = "99999999-2222-4333-8444-555555555555";
    sampler.apply({foreign}, 1);
    EXPECT_TRUE(sampler.all().empty());
}

TEST_F(StatsTest, AddressesFollowTheSamplesAndAreClearedWhenTheVmStops)
{
    auto s = at(10, 0, 0);
    s.addresses = std::vector<std::string>{"192.168.122.15/24"};
    sampler.apply({s}, 1);
    EXPECT_EQ(inventory.find(kUuid)->addresses, std::vector<std::string>{"192.168.122.15/24"});
    sampler.apply({s}, 2);
    sampler.apply({}, 3); // no longer active
    EXPECT_TRUE(inventory.find(kUuid)->addresses.empty());
    EXPECT_FALSE(sampler.stats(kUuid).has_value());
}

TEST_F(StatsTest, SamplesOnTheIntervalOnWorkers)
{
    source.next = {at(10, 0, 0)};
    sampler.start();
    EXPECT_EQ(source.calls, 0) << "sampling runs on a worker, not on the loop";
    executor.drain();
    EXPECT_EQ(source.calls, 1);
    EXPECT_TRUE(sampler.stats(kUuid).has_value());
    executor.advance(std::chrono::seconds(5));
    executor.drain();
    EXPECT_EQ(source.calls, 2);
    sampler.stop();
    executor.advance(std::chrono::seconds(60));
    executor.drain();
    EXPECT_EQ(source.calls, 2);
}

} // namespace
} // namespace hangar
