// LibvirtHypervisor's disks and snapshots on the test driver: volumes of the pool as the disk and CD-ROM, and
// libvirt's internal snapshots (the behaviour core relies on is also in tests/contract/SnapshotControlContractTest).
#include "LibvirtHypervisorFixture.h"

namespace hangar::virt {
namespace {

TEST_F(LibvirtHypervisorTest, Define_AttachesDiskAndCdromAsVolumesOfThePool)
{
    auto vm = withDisk("from-iso");
    vm.image = "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c";
    vm.cdromVolume = "img-0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c.iso";
    defineVm(vm);
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<source pool='default-pool' volume='" + vm.diskVolume + "'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<source pool='default-pool' volume='" + vm.cdromVolume + "'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<target dev='vda' bus='virtio'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<target dev='hdc' bus='ide'/>"), std::string::npos) << xml;
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(*info->record, vm) << "the metadata block carries the image and the volumes";
}

TEST_F(LibvirtHypervisorTest, Define_VolumeWithoutAPool_ThrowsInvalidArgumentAndDefinesNothing)
{
    LibvirtHypervisor hypervisor(kTestUri, m_loop.poster());
    const auto vm = withDisk("no-pool");
    const auto error = errorOf([&] { hypervisor.define(vm); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument) << error->what();
    EXPECT_FALSE(listed(vm.uuid).has_value());
}

TEST_F(LibvirtHypervisorTest, Snapshots_CreateListRevertDeleteStoppedAndRunning)
{
    const auto uuid = defineVm(withDisk("snap")).uuid;
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());

    m_hypervisor->createSnapshot(uuid, "stopped-1", "taken while stopped");
    m_hypervisor->start(uuid);
    m_hypervisor->createSnapshot(uuid, "running-1", "");
    auto snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 2U);
    EXPECT_EQ(snapshots[0].name, "stopped-1");
    EXPECT_EQ(snapshots[0].description, "taken while stopped");
    EXPECT_EQ(snapshots[0].state, "stopped");
    EXPECT_FALSE(snapshots[0].current);
    EXPECT_EQ(snapshots[1].name, "running-1");
    EXPECT_EQ(snapshots[1].state, "running");
    EXPECT_TRUE(snapshots[1].current);
    EXPECT_LE(snapshots[0].createdAtUsec, snapshots[1].createdAtUsec);
    EXPECT_GT(snapshots[0].createdAtUsec, 1600000000LL * 1000000) << "microseconds since the epoch";

    EXPECT_EQ(m_hypervisor->revertToSnapshot(uuid, "stopped-1"), DomainState::Stopped);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Stopped);
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid)[0].current);
    EXPECT_EQ(m_hypervisor->revertToSnapshot(uuid, "running-1"), DomainState::Running);
    EXPECT_EQ(m_hypervisor->state(uuid), DomainState::Running);

    m_hypervisor->deleteSnapshot(uuid, "stopped-1");
    snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 1U);
    EXPECT_EQ(snapshots[0].name, "running-1");
    EXPECT_TRUE(snapshots[0].current);
    m_hypervisor->deleteSnapshot(uuid, "running-1");
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_IsInternalForTheDiskAndLeavesOutTheCdrom)
{
    auto vm = withDisk("with-cdrom");
    vm.cdromVolume = "installer.iso";
    defineVm(vm);
    m_hypervisor->createSnapshot(vm.uuid, "s1", "a <b> & c");
    const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), vm.uuid.c_str()));
    ASSERT_TRUE(dom);
    const std::unique_ptr<virDomainSnapshot, decltype(&virDomainSnapshotFree)> snapshot(
        virDomainSnapshotLookupByName(dom.get(), "s1", 0), virDomainSnapshotFree);
    ASSERT_TRUE(snapshot);
    const CString xml(virDomainSnapshotGetXMLDesc(snapshot.get(), 0));
    ASSERT_TRUE(xml);
    const std::string text = xml.get();
    EXPECT_NE(text.find("<disk name='vda' snapshot='internal'/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<disk name='hdc' snapshot='no'/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<description>a &lt;b&gt; &amp; c</description>"), std::string::npos) << text;
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_TakenName_ThrowsAlreadyExistsAndKeepsTheFirst)
{
    const auto uuid = defineVm(withDisk("dup")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "first");
    const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, "s1", "second"); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::AlreadyExists) << error->what();
    const auto snapshots = m_hypervisor->listSnapshots(uuid);
    ASSERT_EQ(snapshots.size(), 1U);
    EXPECT_EQ(snapshots[0].description, "first");
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_WithoutADisk_ThrowsNotSupported)
{
    const auto uuid = defineVm("diskless").uuid;
    const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, "s1", ""); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, CreateSnapshot_InvalidName_ThrowsInvalidArgument)
{
    const auto uuid = defineVm(withDisk("names")).uuid;
    for (const char* bad : {"", "Upper", "a/b", "-dash", "a b", "<x>"}) {
        const auto error = errorOf([&] { m_hypervisor->createSnapshot(uuid, bad, ""); });
        ASSERT_TRUE(error) << bad;
        EXPECT_EQ(error->code(), ErrorCode::InvalidArgument) << bad;
    }
    EXPECT_TRUE(m_hypervisor->listSnapshots(uuid).empty());
}

TEST_F(LibvirtHypervisorTest, Snapshots_UnknownSnapshotOrDomain_ThrowNotFound)
{
    const auto uuid = defineVm(withDisk("missing")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "");
    for (const auto& call : std::vector<std::function<void()>>{[&] { m_hypervisor->revertToSnapshot(uuid, "nope"); },
                                                               [&] { m_hypervisor->deleteSnapshot(uuid, "nope"); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotFound) << error->what();
        EXPECT_EQ(std::string(error->what()), "domain " + uuid + " has no snapshot 'nope'");
    }
    const auto other = freshUuid();
    for (const auto& call : std::vector<std::function<void()>>{[&] { m_hypervisor->createSnapshot(other, "s1", ""); },
                                                               [&] { m_hypervisor->listSnapshots(other); },
                                                               [&] { m_hypervisor->revertToSnapshot(other, "s1"); },
                                                               [&] { m_hypervisor->deleteSnapshot(other, "s1"); }}) {
        const auto error = errorOf(call);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotFound) << error->what();
    }
    EXPECT_EQ(snapshotNames(uuid), std::vector<std::string>{"s1"});
}

TEST_F(LibvirtHypervisorTest, ListDomains_ReportsSnapshotNamesOldestFirstLikeListSnapshots)
{
    const auto uuid = defineVm(withDisk("listed")).uuid;
    EXPECT_TRUE(listed(uuid)->snapshots.empty());
    m_hypervisor->createSnapshot(uuid, "first", "");
    EXPECT_EQ(listed(uuid)->snapshots, std::vector<std::string>{"first"});
    m_hypervisor->createSnapshot(uuid, "second", "");
    m_hypervisor->createSnapshot(uuid, "third", "");
    // All three fall within one second of creation time here: the order is the tree's, parents first.
    const std::vector<std::string> expected{"first", "second", "third"};
    EXPECT_EQ(snapshotNames(uuid), expected);
    EXPECT_EQ(listed(uuid)->snapshots, expected);
    m_hypervisor->deleteSnapshot(uuid, "second");
    EXPECT_EQ(listed(uuid)->snapshots, (std::vector<std::string>{"first", "third"}));
}

TEST_F(LibvirtHypervisorTest, Undefine_RemovesDomainWithSnapshotsTakenThroughHangar)
{
    const auto uuid = defineVm(withDisk("gone")).uuid;
    m_hypervisor->createSnapshot(uuid, "s1", "");
    m_hypervisor->start(uuid);
    m_hypervisor->createSnapshot(uuid, "s2", "");
    m_hypervisor->destroy(uuid);
    m_hypervisor->undefine(uuid);
    EXPECT_FALSE(listed(uuid).has_value());
}

} // namespace
} // namespace hangar::virt
