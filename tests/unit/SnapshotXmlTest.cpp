// The <domainsnapshot> XML: which disks a snapshot includes, the definition written for libvirt, and the reading of
// libvirt's description of a snapshot.
#include "virt/SnapshotXml.h"

#include "XmlTestSupport.h"
#include "core/Error.h"
#include "virt/DomainXml.h"

#include <gtest/gtest.h>

namespace hangar::virt {
namespace {

using testing::ParsedXml;

VmRecord vmWithCdrom()
{
    VmRecord vm;
    vm.uuid = "3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d";
    vm.name = "db";
    vm.diskVolume = "vm-3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d.qcow2";
    vm.cdromVolume = "installer.iso";
    return vm;
}

TEST(SnapshotXml, SnapshotDisks_OfHangarsDefinitionTakeTheDiskAndLeaveTheCdrom)
{
    DomainXmlOptions options;
    options.storagePool = "hangar";
    const auto disks = snapshotDisks(buildDomainXml(vmWithCdrom(), options));
    EXPECT_EQ(disks, (std::vector<SnapshotDisk>{{"hdc", false}, {"vda", true}}));
}

TEST(SnapshotXml, SnapshotDisks_LeavesOutReadOnlyAndRemovableDisks)
{
    const std::string xml = "<domain type='kvm'><devices>"
                            "<disk type='file' device='disk'><target dev='vda'/></disk>"
                            "<disk type='file'><target dev='vdb'/></disk>"
                            "<disk type='file' device='disk'><readonly/><target dev='vdc'/></disk>"
                            "<disk type='file' device='cdrom'><target dev='sda'/></disk>"
                            "<disk type='file' device='floppy'><target dev='fda'/></disk>"
                            "<disk type='file' device='disk'><source file='/x'/></disk>" // no target: not a disk
                            "<interface type='user'/></devices></domain>";
    EXPECT_EQ(snapshotDisks(xml), (std::vector<SnapshotDisk>{
                                      {"vda", true}, {"vdb", true}, {"vdc", false}, {"sda", false}, {"fda", false}}));
}

TEST(SnapshotXml, SnapshotDisks_NoneForMalformedOrForeignXml)
{
    EXPECT_TRUE(snapshotDisks("").empty());
    EXPECT_TRUE(snapshotDisks("<domain><devices>").empty());
    EXPECT_TRUE(snapshotDisks("<pool><devices><disk><target dev='vda'/></disk></devices></pool>").empty());
    EXPECT_TRUE(snapshotDisks("<domain type='kvm'><devices/></domain>").empty());
}

TEST(SnapshotXml, BuildSnapshotXml_NamesEveryDiskAndEscapesText)
{
    const std::string description = "before <upgrade> & 'more' \"quotes\" ünïcødé\nline two";
    const auto raw = buildSnapshotXml("before-upgrade", description, {{"hdc", false}, {"vda", true}});
    EXPECT_EQ(raw.find("<upgrade>"), std::string::npos) << raw;
    const ParsedXml xml(raw);
    ASSERT_TRUE(xml.ok()) << raw;
    EXPECT_EQ(xml.value("/domainsnapshot/name"), "before-upgrade");
    EXPECT_EQ(xml.value("/domainsnapshot/description"), description);
    EXPECT_EQ(xml.value("/domainsnapshot/disks/disk[@name='vda']/@snapshot"), "internal");
    EXPECT_EQ(xml.value("/domainsnapshot/disks/disk[@name='hdc']/@snapshot"), "no");
    EXPECT_FALSE(xml.value("/domainsnapshot/memory").has_value()) << "libvirt decides: memory when running";
}

TEST(SnapshotXml, BuildSnapshotXml_OmitsAnEmptyDescription)
{
    const ParsedXml xml(buildSnapshotXml("s1", "", {{"vda", true}}));
    EXPECT_FALSE(xml.value("/domainsnapshot/description").has_value());
}

TEST(SnapshotXml, BuildSnapshotXml_RefusesTextXmlCannotCarry)
{
    EXPECT_THROW(buildSnapshotXml("s1", "escape \x1b[0m", {{"vda", true}}), Error);
    EXPECT_THROW(buildSnapshotXml("s1", "latin1 \xe9", {{"vda", true}}), Error);
}

// As virsh snapshot-dumpxml shows it on libvirt 9.0, trimmed.
const std::string kRunning = R"(<domainsnapshot>
  <name>r1</name>
  <description>x &amp; y</description>
  <state>running</state>
  <parent>
    <name>s1</name>
  </parent>
  <creationTime>1700000000</creationTime>
  <memory snapshot='internal'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
    <disk name='hdc' snapshot='no'/>
  </disks>
  <domain type='qemu'><name>hangar-x</name><description>the domain's, not the snapshot's</description></domain>
</domainsnapshot>)";

TEST(SnapshotXml, ParseSnapshotXml_ReadsNameDescriptionTimeAndState)
{
    const auto info = parseSnapshotXml(kRunning);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->name, "r1");
    EXPECT_EQ(info->description, "x & y");
    EXPECT_EQ(info->createdAtUsec, 1700000000LL * 1000000);
    EXPECT_EQ(info->state, "running");
    EXPECT_FALSE(info->current);
}

TEST(SnapshotXml, ParseSnapshotXml_MapsLibvirtStatesToHangarStates)
{
    const auto stateFor = [](const std::string& state) {
        return parseSnapshotXml("<domainsnapshot><name>s</name><state>" + state +
                                "</state><creationTime>1</creationTime></domainsnapshot>")
            ->state;
    };
    EXPECT_EQ(stateFor("shutoff"), "stopped");
    EXPECT_EQ(stateFor("running"), "running");
    EXPECT_EQ(stateFor("blocked"), "running");
    EXPECT_EQ(stateFor("paused"), "paused");
    EXPECT_EQ(stateFor("shutdown"), "shutting-down");
    EXPECT_EQ(stateFor("crashed"), "crashed");
    EXPECT_EQ(stateFor("pmsuspended"), "suspended");
    EXPECT_EQ(stateFor("disk-snapshot"), "stopped");
    EXPECT_EQ(stateFor("from-the-future"), "stopped");
}

TEST(SnapshotXml, ParseSnapshotXml_NoDescriptionIsEmpty)
{
    const auto info = parseSnapshotXml("<domainsnapshot><name>s</name><state>shutoff</state>"
                                       "<creationTime>5</creationTime></domainsnapshot>");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->description, "");
    EXPECT_EQ(info->createdAtUsec, 5000000);
}

TEST(SnapshotXml, ParseSnapshotXml_RefusesMalformedDescriptions)
{
    for (const std::string& input : {
             std::string(""),
             std::string("<domainsnapshot>"),
             std::string("<domain><name>s</name><creationTime>1</creationTime></domain>"),
             std::string("<domainsnapshot><creationTime>1</creationTime></domainsnapshot>"),
             std::string("<domainsnapshot><name></name><creationTime>1</creationTime></domainsnapshot>"),
             std::string("<domainsnapshot><name>s</name></domainsnapshot>"),
             std::string("<domainsnapshot><name>s</name><creationTime>-1</creationTime></domainsnapshot>"),
             std::string("<domainsnapshot><name>s</name><creationTime>12x</creationTime></domainsnapshot>"),
             std::string("<domainsnapshot><name>s</name><creationTime>99999999999999999</creationTime>"
                         "</domainsnapshot>"),
             std::string("<!DOCTYPE d [<!ENTITY e 'x'>]><domainsnapshot><name>&e;</name>"
                         "<creationTime>1</creationTime></domainsnapshot>"),
         })
        EXPECT_FALSE(parseSnapshotXml(input).has_value()) << input;
}

} // namespace
} // namespace hangar::virt
