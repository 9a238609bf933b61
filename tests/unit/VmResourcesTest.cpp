// SetResources (core/VmResources): validation against CreateVM's ranges, grow-only disks, stopped VMs only, the
// owner's quota, failures that put everything back, and start-up finishing a change a crash interrupted.
#include "core/VmResources.h"

#include "CoreFixture.h"
#include "core/Reconciler.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

using testing::CoreFixture;
using testing::kAlice;
using testing::kBob;

class VmResourcesTest : public CoreFixture<>
{
protected:
    auto resize(std::uint32_t uid, const std::string& uuid, ResourceRequest request)
    {
        return call([&](auto d) { manager.setResources(caller(uid), uuid, request, d); });
    }
    std::uint64_t diskBytes(const std::string& uuid) { return storage.find("vm-" + uuid + ".qcow2")->capacityBytes; }
};

TEST_F(VmResourcesTest, GrowsDomainDiskRowAndAnnouncesIt)
{
    const auto uuid = create("grow");
    auto r = resize(kAlice, uuid, ResourceRequest{4, 2048, 20});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(hypervisor.resources(uuid), std::make_pair(4U, std::uint64_t{2048}));
    EXPECT_EQ(diskBytes(uuid), 20 * kGiB);
    EXPECT_EQ(store.loadVms().at(0).spec.vcpus, 4U);
    EXPECT_EQ(store.loadVms().at(0).spec.diskGiB, 20U);
    EXPECT_EQ(hypervisor.metadata(uuid)->spec.memoryMiB, 2048U) << "the metadata block follows";
    EXPECT_EQ(allEvents().back().action, "set-resources");
}

TEST_F(VmResourcesTest, OnlyGivenKeysChange)
{
    const auto uuid = create("partial");
    ASSERT_TRUE(resize(kAlice, uuid, ResourceRequest{std::nullopt, 1024, std::nullopt}).ok());
    const auto spec = inventory.find(uuid)->record.spec;
    EXPECT_EQ(spec.vcpus, 1U);
    EXPECT_EQ(spec.memoryMiB, 1024U);
    EXPECT_EQ(spec.diskGiB, 10U);
    EXPECT_EQ(storage.calls("resize"), 0) << "the disk was not asked to change";
}

TEST_F(VmResourcesTest, ShrinkingTheDiskOutOfRangeOrNothingIsInvalidAndChangesNothing)
{
    const auto uuid = create("strict");
    auto shrink = resize(kAlice, uuid, ResourceRequest{std::nullopt, std::nullopt, 5});
    EXPECT_EQ(shrink.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(shrink.message().find("disk_gib can only grow: the disk is 10 GiB, got 5"), std::string::npos)
        << shrink.message();
    auto cpus = resize(kAlice, uuid, ResourceRequest{0, std::nullopt, std::nullopt});
    EXPECT_EQ(cpus.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(cpus.message(), "vcpus must be 1..255, got 0");
    EXPECT_EQ(resize(kAlice, uuid, ResourceRequest{}).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(inventory.find(uuid)->record.spec, VmSpec{});
    EXPECT_EQ(hypervisor.calls("setResources"), 0);
}

TEST_F(VmResourcesTest, RunningVmIsBusy)
{
    const auto uuid = create("running");
    call([&](auto d) { manager.start(caller(kAlice), uuid, d); });
    auto r = resize(kAlice, uuid, ResourceRequest{2, std::nullopt, std::nullopt});
    EXPECT_EQ(r.code(), ErrorCode::Busy);
    EXPECT_NE(r.message().find("only a stopped VM's resources can be changed"), std::string::npos) << r.message();
    EXPECT_EQ(store.loadVms().at(0).spec.vcpus, 1U);
}

TEST_F(VmResourcesTest, OwnerIsHeldToTheQuotaAdministratorOfAnotherIsNot)
{
    QuotaLimits limits;
    limits.maxVcpus = 4;
    store.setQuota(kAlice, limits);
    const auto uuid = create("quota");
    auto r = resize(kAlice, uuid, ResourceRequest{8, std::nullopt, std::nullopt});
    EXPECT_EQ(r.code(), ErrorCode::QuotaExceeded);
    EXPECT_EQ(r.message(), "quota exceeded: max_vcpus is 4, 1 in use, this needs 7 more");
    EXPECT_TRUE(resize(kAlice, uuid, ResourceRequest{4, std::nullopt, std::nullopt}).ok()) << "up to the limit";
    EXPECT_TRUE(resize(kBob, uuid, ResourceRequest{8, std::nullopt, std::nullopt}).ok());
    EXPECT_EQ(inventory.find(uuid)->record.spec.vcpus, 8U);
}

TEST_F(VmResourcesTest, DiskFailureUndoesTheDomainAndTheRow)
{
    const auto uuid = create("undo");
    storage.failNext("resize", Error(ErrorCode::BackendFailure, "pool full"));
    auto r = resize(kAlice, uuid, ResourceRequest{2, 1024, 20});
    EXPECT_EQ(r.code(), ErrorCode::BackendFailure);
    EXPECT_EQ(hypervisor.resources(uuid), std::make_pair(1U, std::uint64_t{512}));
    EXPECT_EQ(store.loadVms().at(0).spec, VmSpec{});
    EXPECT_EQ(inventory.find(uuid)->record.spec, VmSpec{});
    EXPECT_EQ(diskBytes(uuid), 10 * kGiB);
}

TEST_F(VmResourcesTest, StartupFinishesAChangeACrashInterrupted)
{
    const auto uuid = create("crashed-midway");
    // What a crash right after the intent leaves: the row says 2 vCPUs and 20 GiB, domain and volume say otherwise.
    VmRecord intent = store.loadVms().at(0);
    intent.spec.vcpus = 2;
    intent.spec.diskGiB = 20;
    store.updateVm(intent);
    inventory.remove(uuid);
    Reconciler reconciler{inventory, store, hypervisor, storage, images, executor, audit};
    testing::runStartup(reconciler, executor);
    EXPECT_EQ(hypervisor.resources(uuid).first, 2U);
    EXPECT_EQ(diskBytes(uuid), 20 * kGiB);
    EXPECT_EQ(hypervisor.metadata(uuid)->spec.diskGiB, 20U);
    EXPECT_NE(allEvents().back().message.find("interrupted; finished"), std::string::npos);
}

} // namespace
} // namespace hangar
