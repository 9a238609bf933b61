// The alert monitor on the loop (core/AlertMonitor.h): a VM's CPU from the stats sampler and the host's pool from a
// reading raise alerts that reach the audit log before any sink, and GetAlerts' visibility: administrators see every
// alert, anyone else the host's and those about their own VMs.
#include "core/AlertMonitor.h"

#include "fakes/CoreFakes.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

constexpr const char* kUuid = "11111111-2222-4333-8444-555555555555";
constexpr std::uint32_t kOwner = 1000;
constexpr std::uint64_t kGiB = 1024ULL * 1024 * 1024;

class NoHost final : public HostSource
{
public:
    HostReading sample() override { return {}; }
};

// Records each change with the number of alert events the store held when it arrived.
class SeenSink final : public AlertSink
{
public:
    explicit SeenSink(Store& store) : m_store(store) {}
    void alertChanged(const AlertChange& change) override
    {
        EventFilter filter;
        filter.minSeverity = Severity::Info;
        std::size_t audited = 0;
        for (const auto& e : m_store.events(filter))
            audited += e.action == "alert" ? 1 : 0;
        seen.push_back({change, audited});
    }
    std::vector<std::pair<AlertChange, std::size_t>> seen;

private:
    Store& m_store;
};

class AlertMonitorTest : public ::testing::Test
{
protected:
    AlertMonitorTest()
    {
        Vm vm;
        vm.record.uuid = kUuid;
        vm.record.name = "busy";
        vm.record.owner = kOwner;
        vm.state = VmState::Running;
        inventory.add(std::move(vm));
        AlertSettings settings;
        settings.thresholds.vmCpuPercent = 150;
        settings.thresholds.vmCpuSustainSec = 0;
        settings.thresholds.poolFreePercent = 10;
        monitor.setSettings(settings);
        monitor.addSink(&sink);
        // Two samples 5 s apart with 10 s of CPU time: 200 % (two busy vCPUs).
        DomainSample first;
        first.uuid = kUuid;
        first.monotonicNs = 0;
        first.cpuTimeNs = 0;
        DomainSample second = first;
        second.monotonicNs = 5'000'000'000;
        second.cpuTimeNs = 10'000'000'000;
        sampler.apply({first}, 1);
        sampler.apply({second}, 2);
    }

    static HostReading lowPool()
    {
        HostReading r;
        r.pool = "hangar";
        r.poolCapacityBytes = 100 * kGiB;
        r.poolAvailableBytes = 5 * kGiB;
        return r;
    }

    std::vector<Alert> visibleTo(std::uint32_t uid)
    {
        std::vector<Alert> out;
        Caller caller;
        caller.uid = uid;
        monitor.visible(caller, [&](Outcome<std::vector<Alert>> r) { out = r.value(); });
        return out;
    }

    Inventory inventory;
    testing::FakeExecutor executor;
    testing::FakeAuthorizer authorizer;
    store::SqliteStore store{":memory:"};
    AuditLog audit{store, executor};
    NoHost host;
    class NoStats final : public StatsSource
    {
    public:
        std::vector<DomainSample> sample() override { return {}; }
    } stats;
    StatsSampler sampler{inventory, stats, executor, std::chrono::seconds(5)};
    AlertMonitor monitor{inventory, sampler, host, executor, audit, authorizer, AlertSettings{}};
    SeenSink sink{store};
};

TEST_F(AlertMonitorTest, Check_RaisesVmCpuAndPoolAlertsAuditedBeforeTheSinksHearOfThem)
{
    monitor.check(lowPool());
    ASSERT_EQ(sink.seen.size(), 2U);
    for (std::size_t i = 0; i < sink.seen.size(); ++i)
        EXPECT_EQ(sink.seen[i].second, i + 1) << "the audit event is stored before the sinks are told";

    const auto events = store.events({});
    ASSERT_EQ(events.size(), 2U);
    const EventRecord& cpu = events[0].vmUuid == kUuid ? events[0] : events[1];
    EXPECT_EQ(cpu.action, "alert");
    EXPECT_EQ(cpu.outcome, "raised");
    EXPECT_EQ(cpu.severity, Severity::Warning);
    EXPECT_EQ(cpu.vmName, "busy");
    ASSERT_TRUE(cpu.vmOwner.has_value());
    EXPECT_EQ(*cpu.vmOwner, kOwner) << "the VM's owner reads its alert in their events";
    EXPECT_NE(cpu.message.find("local/vm/busy: "), std::string::npos) << cpu.message;
    EXPECT_EQ(monitor.active().size(), 2U);
}

TEST_F(AlertMonitorTest, Visible_AdministratorsSeeAllOthersTheHostsAndTheirOwnVms)
{
    monitor.check(lowPool());
    ASSERT_EQ(monitor.active().size(), 2U);
    EXPECT_EQ(visibleTo(0).size(), 2U) << "allowed manage-all-vms";

    authorizer.denied[Action::ManageAllVms] = true;
    EXPECT_EQ(visibleTo(kOwner).size(), 2U) << "the owner sees their VM's alert";
    const auto stranger = visibleTo(4242);
    ASSERT_EQ(stranger.size(), 1U);
    EXPECT_EQ(stranger[0].kind, "pool-free");
    EXPECT_FALSE(authorizer.requests.back().caller.allowInteraction) << "reading alerts never prompts";
}

} // namespace
} // namespace hangar
