// The real hangard on a private dbus-daemon with libvirt's test driver, driven through the generated proxies
// as a frontend would: objects, properties and their change signals, errors, the audit log, restarts.
#include "DaemonFixture.h"

#include <cctype>
#include <csignal>
#include <gtest/gtest.h>
#include <memory>

namespace hangar::it {
namespace {

using namespace std::chrono_literals;

class DaemonTest : public ConnectedDaemonFixture
{
};

TEST_F(DaemonTest, Manager_ExposesVersionCountsAndHypervisorUri)
{
    EXPECT_EQ(manager->Version(), "0.1.0");
    EXPECT_EQ(manager->HypervisorURI(), "test:///default");
    EXPECT_EQ(manager->VMCount(), 0U);
    EXPECT_EQ(manager->RunningVMCount(), 0U);
}

TEST_F(DaemonTest, CreateVm_PublishesAnObjectWithItsPropertiesAndOwner)
{
    const std::string path = create("web-1", {{"vcpus", sdbus::Variant(uint32_t{2})},
                                              {"memory_mib", sdbus::Variant(uint64_t{1024})},
                                              {"disk_gib", sdbus::Variant(uint64_t{20})},
                                              {"description", sdbus::Variant(std::string("front <end> & 'co'"))}});
    EXPECT_EQ(path.rfind("/org/hangar/Hangar1/vm/", 0), 0U) << path;
    auto& v = vm(path);
    EXPECT_EQ(v.Name(), "web-1");
    EXPECT_EQ(v.State(), "stopped");
    EXPECT_EQ(v.VCPUs(), 2U);
    EXPECT_EQ(v.MemoryMiB(), 1024U);
    EXPECT_EQ(v.DiskGiB(), 20U);
    EXPECT_EQ(v.Description(), "front <end> & 'co'");
    EXPECT_EQ(v.Owner(), getuid()) << "the owner is the caller's uid, from the bus";
    EXPECT_EQ(v.Host(), "local");
    EXPECT_EQ(
        path, "/org/hangar/Hangar1/vm/" + [&] {
            std::string label;
            for (char c : v.UUID())
                if (c != '-')
                    label += c;
            return label;
        }());
    EXPECT_TRUE(waitFor([&] { return manager->added() == std::vector<std::string>{path}; }));
    EXPECT_EQ(manager->GetVM("web-1"), path);
    EXPECT_EQ(manager->VMCount(), 1U);

    auto objects = manager->GetManagedObjects();
    ASSERT_EQ(objects.count(sdbus::ObjectPath(path)), 1U);
    EXPECT_EQ(objects.at(sdbus::ObjectPath(path)).at("org.hangar.Hangar1.VM").at("Name").get<std::string>(), "web-1");
}

TEST_F(DaemonTest, Lifecycle_EveryTransitionEmitsPropertiesChangedOnState)
{
    const std::string path = create("life");
    auto& v = vm(path);
    v.Start({});
    EXPECT_EQ(v.State(), "running");
    EXPECT_EQ(manager->RunningVMCount(), 1U);
    v.Pause({});
    v.Resume({});
    v.Reboot({});
    v.Stop({});
    EXPECT_TRUE(waitFor([&] {
        return v.states() == std::vector<std::string>{"running", "paused", "running", "stopped"};
    })) << ::testing::PrintToString(v.states());
    v.Start({});
    v.Stop({{"force", sdbus::Variant(true)}});
    EXPECT_TRUE(waitFor([&] { return v.states().size() == 6 && v.states().back() == "stopped"; }));
    EXPECT_EQ(manager->RunningVMCount(), 0U);
}

TEST_F(DaemonTest, WrongState_IsBusyAndSaysWhy)
{
    const std::string path = create("state-check");
    auto& v = vm(path);
    std::string message;
    EXPECT_EQ(errorOf([&] { v.Stop({}); }, &message), "org.hangar.Hangar1.Error.Busy");
    EXPECT_EQ(message, "VM 'state-check' is already stopped");
    EXPECT_EQ(errorOf([&] { v.Resume({}); }), "org.hangar.Hangar1.Error.Busy");
    v.Start({});
    EXPECT_EQ(errorOf([&] { v.Start({}); }, &message), "org.hangar.Hangar1.Error.Busy");
    EXPECT_NE(message.find("is running"), std::string::npos) << message;
    EXPECT_EQ(errorOf([&] { v.Delete({}); }, &message), "org.hangar.Hangar1.Error.Busy");
    EXPECT_NE(message.find("stop it first or delete with force"), std::string::npos) << message;
    EXPECT_EQ(v.State(), "running");
    EXPECT_EQ(vmCount(), 1U);
}

TEST_F(DaemonTest, Delete_RemovesTheObjectAndEmitsInterfacesRemoved)
{
    const std::string path = create("short-lived");
    vm(path).Start({});
    vm(path).Delete({{"force", sdbus::Variant(true)}});
    EXPECT_TRUE(waitFor([&] { return manager->removed() == std::vector<std::string>{path}; }));
    EXPECT_EQ(errorOf([&] { manager->GetVM("short-lived"); }), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_EQ(manager->VMCount(), 0U);
}

TEST_F(DaemonTest, Rename_KeepsTheObjectPathAndSignalsName)
{
    const std::string path = create("before");
    auto& v = vm(path);
    v.Rename("after", {});
    EXPECT_EQ(manager->GetVM("after"), path);
    EXPECT_EQ(errorOf([&] { manager->GetVM("before"); }), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_TRUE(waitFor([&] {
        auto names = v.changedNames();
        return std::find(names.begin(), names.end(), "Name") != names.end();
    }));
    create("taken");
    EXPECT_EQ(errorOf([&] { v.Rename("taken", {}); }), "org.hangar.Hangar1.Error.AlreadyExists");
    EXPECT_EQ(v.Name(), "after");
}

struct BadName
{
    std::string name;
    std::string why;
};

void PrintTo(const BadName& b, std::ostream* os)
{
    *os << b.why;
}

class DaemonBadNameTest : public DaemonTest, public ::testing::WithParamInterface<BadName>
{
};

TEST_P(DaemonBadNameTest, CreateVm_IsInvalidArgumentAndChangesNothing)
{
    std::string message;
    EXPECT_EQ(errorOf([&] { create(GetParam().name); }, &message), "org.hangar.Hangar1.Error.InvalidArgument")
        << GetParam().why;
    EXPECT_NE(message.find("a-z, 0-9 and '-'"), std::string::npos) << message;
    EXPECT_EQ(vmCount(), 0U);
    EXPECT_EQ(manager->VMCount(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Names, DaemonBadNameTest,
                         ::testing::Values(BadName{"", "empty"}, BadName{std::string(64, 'x'), "too long"},
                                           BadName{"../x", "traversal"}, BadName{"a/b", "slash"},
                                           BadName{"caf\xc3\xa9", "non-ASCII"}, BadName{"<vm>", "XML"},
                                           BadName{"a&b", "XML"}, BadName{"a'b\"c", "quotes"},
                                           BadName{"-x", "leading dash"}, BadName{"UPPER", "upper case"},
                                           BadName{"a b", "space"}, BadName{"tab\there", "control"}),
                         [](const ::testing::TestParamInfo<BadName>& info) {
                             std::string id;
                             for (char c : info.param.why)
                                 id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return id + "_" + std::to_string(info.index);
                         });

TEST_F(DaemonTest, CreateVm_SizesOutOfRangeAreInvalidArgumentNamingTheRange)
{
    struct Case
    {
        Dict spec;
        std::string expect;
    };
    const std::vector<Case> cases{
        {{{"vcpus", sdbus::Variant(uint32_t{0})}}, "vcpus must be 1..255, got 0"},
        {{{"vcpus", sdbus::Variant(uint32_t{100000})}}, "vcpus must be 1..255, got 100000"},
        {{{"memory_mib", sdbus::Variant(uint64_t{0})}}, "memory_mib must be 64..4194304, got 0"},
        {{{"memory_mib", sdbus::Variant(UINT64_MAX)}}, "memory_mib must be 64..4194304"},
        {{{"disk_gib", sdbus::Variant(uint64_t{0})}}, "disk_gib must be 1..65536, got 0"},
        {{{"disk_gib", sdbus::Variant(uint64_t{1} << 40)}}, "disk_gib must be 1..65536"},
        {{{"description", sdbus::Variant(std::string(2000, 'd'))}}, "description must be at most 1024"},
    };
    for (const auto& c : cases) {
        std::string message;
        EXPECT_EQ(errorOf([&] { create("sized", c.spec); }, &message), "org.hangar.Hangar1.Error.InvalidArgument");
        EXPECT_NE(message.find(c.expect), std::string::npos) << message;
    }
    EXPECT_EQ(vmCount(), 0U);
}

TEST_F(DaemonTest, CreateVm_WrongOptionTypesAndUnknownKeysAreInvalidArgument)
{
    struct Case
    {
        Dict spec;
        std::string expect;
    };
    const std::vector<Case> cases{
        {{{"vcpus", sdbus::Variant(std::string("2"))}}, "key 'vcpus' must be of type u (uint32), got s (string)"},
        {{{"memory_mib", sdbus::Variant(uint32_t{512})}}, "key 'memory_mib' must be of type t (uint64), got u"},
        {{{"disk_gib", sdbus::Variant(int64_t{-1})}}, "key 'disk_gib' must be of type t (uint64), got x"},
        {{{"description", sdbus::Variant(true)}}, "key 'description' must be of type s (string), got b"},
        {{{"colour", sdbus::Variant(std::string("red"))}}, "unknown spec key 'colour'; allowed keys:"},
        {{{"auth.no_user_interaction", sdbus::Variant(std::string("yes"))}},
         "key 'auth.no_user_interaction' must be of type b"},
    };
    for (const auto& c : cases) {
        std::string message;
        EXPECT_EQ(errorOf([&] { create("typed", c.spec); }, &message), "org.hangar.Hangar1.Error.InvalidArgument");
        EXPECT_NE(message.find(c.expect), std::string::npos) << message;
    }
    EXPECT_EQ(vmCount(), 0U);
    const std::string path = create("typed");
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      vm(path).Stop({{"timeout_sec", sdbus::Variant(std::string("5"))}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_EQ(errorOf([&] {
                  vm(path).Start({{"bogus", sdbus::Variant(true)}});
              }),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_EQ(vm(path).State(), "stopped");
    EXPECT_EQ(errorOf([&] {
                  manager->ListVMs({{"state", sdbus::Variant(std::string("flying"))}});
              }),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_EQ(errorOf([&] {
                  manager->GetEvents({{"limit", sdbus::Variant(uint32_t{0})}});
              }),
              "org.hangar.Hangar1.Error.InvalidArgument");
}

TEST_F(DaemonTest, CreateVm_DuplicateNameIsAlreadyExists)
{
    create("twin");
    std::string message;
    EXPECT_EQ(errorOf([&] { create("twin"); }, &message), "org.hangar.Hangar1.Error.AlreadyExists");
    EXPECT_EQ(message, "a VM named 'twin' already exists");
    EXPECT_EQ(vmCount(), 1U);
}

TEST_F(DaemonTest, Events_AreLoggedFilteredAndBroadcast)
{
    const std::string path = create("audited");
    vm(path).Start({});
    errorOf([&] { vm(path).Start({}); });
    const auto rows = manager->GetEvents({{"vm", sdbus::Variant(std::string("audited"))}});
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].get<5>(), "create");
    EXPECT_EQ(rows[1].get<5>(), "start");
    EXPECT_EQ(rows[1].get<6>(), "ok");
    EXPECT_EQ(rows[2].get<6>(), "Busy");
    EXPECT_EQ(rows[1].get<8>(), "info");
    EXPECT_EQ(rows[2].get<8>(), "warning") << "a refused request is a warning";
    EXPECT_EQ(rows[2].get<2>(), getuid());
    EXPECT_LT(rows[0].get<0>(), rows[1].get<0>());
    EXPECT_EQ(manager->GetEvents({{"limit", sdbus::Variant(uint32_t{1})}}).size(), 1U);
    EXPECT_EQ(manager->GetEvents({{"uid", sdbus::Variant(uint32_t{424242})}}).size(), 0U);
    EXPECT_TRUE(waitFor([&] {
        auto seen = manager->events();
        return seen.size() >= 3 && seen.back().outcome == "Busy" && seen.back().vmName == "audited" &&
               seen.back().severity == "warning";
    }));
}

TEST_F(DaemonTest, Restart_InventoryOwnersAndEventsSurvive)
{
    const std::string path = create("durable", {{"vcpus", sdbus::Variant(uint32_t{3})}});
    const std::string uuid = vm(path).UUID();
    create("second");
    vm(path).Rename("durable-renamed", {});
    disconnect();
    EXPECT_EQ(daemon->stop(), 0) << "SIGTERM must stop hangard cleanly";
    daemon.reset();

    startDaemon();
    EXPECT_EQ(manager->VMCount(), 2U);
    EXPECT_EQ(manager->GetVM("durable-renamed"), path) << "same UUID, same object path";
    auto& v = vm(path);
    EXPECT_EQ(v.UUID(), uuid);
    EXPECT_EQ(v.VCPUs(), 3U);
    EXPECT_EQ(v.Owner(), getuid());
    EXPECT_EQ(v.State(), "stopped");
    v.Start({}); // the domain is really back in libvirt, not only the row
    EXPECT_EQ(v.State(), "running");
    const auto rows = manager->GetEvents({{"vm", sdbus::Variant(uuid)}});
    ASSERT_GE(rows.size(), 3U);
    EXPECT_EQ(rows[0].get<5>(), "create");
}

TEST_F(DaemonTest, ListVms_ShowsOwnByDefaultAndFiltersByState)
{
    vm(create("one")).Start({});
    create("two");
    auto rows = manager->ListVMs({});
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].get<0>(), "one");
    EXPECT_EQ(rows[0].get<2>(), "running");
    EXPECT_EQ(rows[0].get<3>(), getuid());
    auto running = manager->ListVMs({{"state", sdbus::Variant(std::string("running"))}});
    ASSERT_EQ(running.size(), 1U);
    EXPECT_EQ(running[0].get<0>(), "one");
    EXPECT_EQ(manager->ListVMs({{"owner", sdbus::Variant(uint32_t{424242})}}).size(), 0U);
}

TEST_F(DaemonTest, SetQuota_RefusesTheNoUserUidAndSaysTheRange)
{
    constexpr uint32_t kNoUser = 4294967295U; // (uid_t)-1
    const Dict limits{{"max_vms", sdbus::Variant(uint32_t{3})}};
    const auto before = manager->GetQuota(kNoUser, {});
    std::string message;
    EXPECT_EQ(errorOf([&] { manager->SetQuota(kNoUser, limits); }, &message),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_NE(message.find("uid must be 0..4294967294"), std::string::npos) << message;
    EXPECT_EQ(manager->GetQuota(kNoUser, {}).at("source").get<std::string>(), before.at("source").get<std::string>())
        << "the refused call changed the quota";
    manager->SetQuota(kNoUser - 1, limits); // the largest real uid is accepted
    EXPECT_EQ(manager->GetQuota(kNoUser - 1, {}).at("source").get<std::string>(), "user");
}

TEST_F(DaemonTest, Daemon_SecondInstanceOnTheSameBusFailsClearly)
{
    TempDir other;
    EXPECT_THROW(Hangard(bus->address(), other.path() + "/state", other.path() + "/log"), std::runtime_error);
    EXPECT_NE(readFile(other.path() + "/log").find("cannot serve org.hangar.Hangar1"), std::string::npos)
        << readFile(other.path() + "/log");
    EXPECT_EQ(manager->VMCount(), 0U) << "the first instance keeps serving";
}

TEST_F(DaemonTest, Stats_RunningVmsAreSampledAndAnsweredInOneCall)
{
    // A daemon that samples every second, so the test does not wait for the default interval.
    disconnect();
    daemon.reset();
    daemon = std::make_unique<Hangard>(bus->address(), state() + "-fast", log(), std::vector<std::string>{},
                                       "[Daemon]\nstats_interval_sec = 1\n");
    connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
    manager = std::make_unique<ManagerClient>(*connection);
    connection->enterEventLoopAsync();

    const std::string running = create("sampled");
    const std::string idle = create("idle");
    vm(running).Start({});
    EXPECT_TRUE(vm(idle).GetStats().empty()) << "a stopped VM has no figures";
    ASSERT_TRUE(waitFor([&] { return !vm(running).GetStats().empty(); }, std::chrono::seconds(10)));
    const auto stats = vm(running).GetStats();
    ASSERT_EQ(stats.count("sampled_at_usec"), 1U);
    EXPECT_GT(stats.at("sampled_at_usec").get<uint64_t>(), 0U);
    const auto all = manager->GetAllStats();
    ASSERT_EQ(all.size(), 1U) << "only running VMs";
    EXPECT_EQ(std::string(all[0].get<0>()), running);
    // The domain's interface is on the test driver's "default" network, for which the driver makes up a lease.
    EXPECT_TRUE(waitFor([&] { return !vm(running).Addresses().empty(); }, std::chrono::seconds(10)))
        << "the test driver reports an address for the domain's interface";
    vm(running).Stop({{"force", sdbus::Variant(true)}});
    EXPECT_TRUE(waitFor([&] { return manager->GetAllStats().empty(); }, std::chrono::seconds(10)));
}

} // namespace
} // namespace hangar::it
