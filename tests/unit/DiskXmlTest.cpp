// The VM's storage in the domain XML: the disk and the CD-ROM as volumes of the daemon's pool, the boot order, and
// the image and volume fields of the metadata block (including blocks written before those fields existed).
#include "ErrorTestSupport.h"
#include "XmlTestSupport.h"
#include "core/Error.h"
#include "virt/DomainXml.h"

#include <cstdlib>
#include <functional>
#include <gtest/gtest.h>

namespace hangar::virt {
namespace {

using testing::ParsedXml;
using testing::TempDir;

constexpr const char* kUuid = "3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d";
constexpr const char* kImage = "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c";
constexpr const char* kDisk = "vm-3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d.qcow2";
constexpr const char* kIso = "img-0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c.iso";
constexpr const char* kPool = "hangar";

VmRecord withDisk()
{
    VmRecord vm;
    vm.uuid = kUuid;
    vm.name = "db";
    vm.owner = 1000;
    vm.spec.vcpus = 2;
    vm.spec.memoryMiB = 1024;
    vm.spec.diskGiB = 20;
    vm.createdAtUsec = 1700000000123456;
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    vm.image = kImage;
    vm.diskVolume = kDisk;
    return vm;
}

VmRecord withDiskAndCdrom()
{
    auto vm = withDisk();
    vm.cdromVolume = kIso;
    return vm;
}

DomainXmlOptions options(const char* type = "qemu", const char* pool = kPool)
{
    DomainXmlOptions o;
    o.domainType = type;
    o.bootDir = "/var/lib/hangar/boot";
    o.storagePool = pool;
    return o;
}

using hangar::testing::codeOf;

const std::string kDiskPath = "/domain/devices/disk[@device='disk']";
const std::string kCdromPath = "/domain/devices/disk[@device='cdrom']";

TEST(DiskXml, BuildDomainXml_DiskIsAQcow2VirtioVolumeOfThePool)
{
    const ParsedXml xml(buildDomainXml(withDisk(), options()));
    ASSERT_TRUE(xml.ok());
    EXPECT_EQ(xml.value(kDiskPath + "/@type"), "volume");
    EXPECT_EQ(xml.value(kDiskPath + "/driver/@name"), "qemu");
    EXPECT_EQ(xml.value(kDiskPath + "/driver/@type"), "qcow2");
    EXPECT_EQ(xml.value(kDiskPath + "/source/@pool"), kPool);
    EXPECT_EQ(xml.value(kDiskPath + "/source/@volume"), kDisk);
    EXPECT_EQ(xml.value(kDiskPath + "/target/@dev"), "vda");
    EXPECT_EQ(xml.value(kDiskPath + "/target/@bus"), "virtio");
    EXPECT_FALSE(xml.value(kDiskPath + "/readonly").has_value());
    EXPECT_EQ(xml.value(kDiskPath + "/boot/@order"), "1") << "the only boot device";
    EXPECT_FALSE(xml.value(kCdromPath).has_value());
    EXPECT_FALSE(xml.value("/domain/os/boot").has_value()) << "per-device boot order, not <os><boot>";
}

TEST(DiskXml, BuildDomainXml_CdromIsAReadOnlyIdeVolumeBootedFirst)
{
    const ParsedXml xml(buildDomainXml(withDiskAndCdrom(), options()));
    ASSERT_TRUE(xml.ok());
    EXPECT_EQ(xml.value(kCdromPath + "/@type"), "volume");
    EXPECT_EQ(xml.value(kCdromPath + "/driver/@type"), "raw");
    EXPECT_EQ(xml.value(kCdromPath + "/source/@pool"), kPool);
    EXPECT_EQ(xml.value(kCdromPath + "/source/@volume"), kIso);
    EXPECT_EQ(xml.value(kCdromPath + "/target/@dev"), "hdc");
    EXPECT_EQ(xml.value(kCdromPath + "/target/@bus"), "ide") << "i440fx, libvirt's default machine, has no SATA";
    EXPECT_TRUE(xml.value(kCdromPath + "/readonly").has_value());
    EXPECT_EQ(xml.value(kCdromPath + "/boot/@order"), "1");
    EXPECT_EQ(xml.value(kDiskPath + "/boot/@order"), "2");
    EXPECT_FALSE(xml.value("/domain/os/type/@machine").has_value()) << "the bus choice assumes libvirt's default";
}

TEST(DiskXml, BuildDomainXml_CdromWithoutDiskBootsFromIt)
{
    auto vm = withDiskAndCdrom();
    vm.diskVolume.clear();
    const ParsedXml xml(buildDomainXml(vm, options()));
    EXPECT_FALSE(xml.value(kDiskPath).has_value());
    EXPECT_EQ(xml.value(kCdromPath + "/boot/@order"), "1");
}

TEST(DiskXml, BuildDomainXml_DirectKernelBootKeepsTheKernelAndGivesNoBootOrder)
{
    auto vm = withDiskAndCdrom();
    vm.spec.kernel = "vmlinuz";
    vm.spec.initrd = "initrd.img";
    const ParsedXml xml(buildDomainXml(vm, options()));
    EXPECT_EQ(xml.value("/domain/os/kernel"), "/var/lib/hangar/boot/vmlinuz");
    EXPECT_EQ(xml.value("/domain/os/initrd"), "/var/lib/hangar/boot/initrd.img");
    EXPECT_EQ(xml.value(kDiskPath + "/source/@volume"), kDisk) << "the disk is still attached";
    EXPECT_EQ(xml.value(kCdromPath + "/source/@volume"), kIso);
    EXPECT_FALSE(xml.value("/domain/devices/disk/boot").has_value());
    EXPECT_FALSE(xml.value("/domain/os/boot").has_value());
}

TEST(DiskXml, BuildDomainXml_WithoutVolumesHasNoDisks)
{
    auto vm = withDisk();
    vm.diskVolume.clear();
    const ParsedXml xml(buildDomainXml(vm, options("qemu", "")));
    ASSERT_TRUE(xml.ok()) << "no pool is needed without volumes";
    EXPECT_FALSE(xml.value("/domain/devices/disk").has_value());
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:image"), kImage);
}

TEST(DiskXml, BuildDomainXml_VolumeWithoutPoolIsInvalid)
{
    EXPECT_EQ(codeOf([] { buildDomainXml(withDisk(), options("qemu", "")); }), ErrorCode::InvalidArgument);
    auto cdromOnly = withDiskAndCdrom();
    cdromOnly.diskVolume.clear();
    EXPECT_EQ(codeOf([&] { buildDomainXml(cdromOnly, options("kvm", "")); }), ErrorCode::InvalidArgument);
    try {
        buildDomainXml(withDisk(), options("qemu", ""));
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("storage pool"), std::string::npos) << e.what();
    }
}

TEST(DiskXml, BuildDomainXml_RefusesVolumeNamesThatAreNotPlainNames)
{
    for (const char* bad :
         {"../etc/shadow", "/var/lib/x.qcow2", "a/b", ".hidden", "-dash", "x..y", "sp ace", "quote'd", "new\nline"}) {
        auto vm = withDiskAndCdrom();
        vm.diskVolume = bad;
        EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options()); }), ErrorCode::InvalidArgument) << bad;
        vm = withDiskAndCdrom();
        vm.cdromVolume = bad;
        EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options()); }), ErrorCode::InvalidArgument) << bad;
        EXPECT_EQ(codeOf([&] { buildMetadataXml(vm); }), ErrorCode::InvalidArgument) << bad;
    }
    auto vm = withDisk();
    vm.image = "not-a-uuid";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options()); }), ErrorCode::InvalidArgument);
    vm = withDisk();
    vm.diskVolume = std::string(256, 'a');
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options()); }), ErrorCode::InvalidArgument);
    vm.diskVolume = std::string(255, 'a');
    EXPECT_NO_THROW(buildDomainXml(vm, options()));
}

TEST(DiskXml, BuildDomainXml_EscapesThePoolName)
{
    const auto raw = buildDomainXml(withDiskAndCdrom(), options("qemu", "p'o\"o<l>&"));
    EXPECT_EQ(raw.find("<l>"), std::string::npos) << raw;
    const ParsedXml xml(raw);
    ASSERT_TRUE(xml.ok()) << raw;
    EXPECT_EQ(xml.value(kDiskPath + "/source/@pool"), "p'o\"o<l>&");
    EXPECT_EQ(xml.value(kCdromPath + "/source/@pool"), "p'o\"o<l>&");
    EXPECT_EQ(codeOf([] { buildDomainXml(withDisk(), options("qemu", "bell\x07")); }), ErrorCode::InvalidArgument);
}

TEST(DiskXml, Metadata_RecordsImageAndVolumes)
{
    const ParsedXml xml(buildDomainXml(withDiskAndCdrom(), options()));
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:image"), kImage);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:disk-volume"), kDisk);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:cdrom-volume"), kIso);
}

TEST(DiskXml, Metadata_OmitsStorageFieldsThatAreNotSet)
{
    auto vm = withDisk();
    vm.image.clear();
    vm.diskVolume.clear();
    const ParsedXml xml(buildMetadataXml(vm));
    EXPECT_FALSE(xml.value("/vm/image").has_value());
    EXPECT_FALSE(xml.value("/vm/disk-volume").has_value());
    EXPECT_FALSE(xml.value("/vm/cdrom-volume").has_value());
}

TEST(DiskXml, Metadata_RoundTripsImageAndVolumes)
{
    for (const auto& vm : {withDisk(), withDiskAndCdrom()}) {
        const auto parsed = parseMetadataXml(buildMetadataXml(vm), vm.uuid);
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(*parsed, vm);
    }
    // And from the block as it stands in the definition, namespace and all.
    const auto vm = withDiskAndCdrom();
    const auto domain = buildDomainXml(vm, options());
    const auto begin = domain.find("<hangar:vm");
    const auto end = domain.find("</hangar:vm>");
    ASSERT_NE(begin, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    const auto parsed = parseMetadataXml(domain.substr(begin, end + std::string("</hangar:vm>").size() - begin), kUuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, vm);
}

// A block written by a hangard that predates images: the fields are simply absent.
const std::string kOldBlock = "<vm><name>db</name><owner>1000</owner><created>1</created><vcpus>1</vcpus>"
                              "<memory-mib>128</memory-mib><disk-gib>1</disk-gib>";

TEST(DiskXml, ParseMetadata_OldBlockWithoutStorageFieldsHasNone)
{
    const auto parsed = parseMetadataXml(kOldBlock + "<description>old</description></vm>", kUuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->image, "");
    EXPECT_EQ(parsed->diskVolume, "");
    EXPECT_EQ(parsed->cdromVolume, "");
    EXPECT_EQ(parsed->spec.description, "old");
}

TEST(DiskXml, ParseMetadata_ReadsStorageFieldsInAnyOrderAndNamespaceForm)
{
    const auto parsed =
        parseMetadataXml(std::string("<vm><cdrom-volume>") + kIso + "</cdrom-volume>" + kOldBlock.substr(4) +
                             "<disk-volume>" + kDisk + "</disk-volume><image>" + kImage + "</image></vm>",
                         kUuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->image, kImage);
    EXPECT_EQ(parsed->diskVolume, kDisk);
    EXPECT_EQ(parsed->cdromVolume, kIso);

    const auto bound = parseMetadataXml("<x:vm xmlns:x=\"https://hangar.dev/xmlns/vm/1\"><x:name>db</x:name>"
                                        "<x:owner>1</x:owner><x:created>1</x:created><x:vcpus>1</x:vcpus>"
                                        "<x:memory-mib>128</x:memory-mib><x:disk-gib>1</x:disk-gib>"
                                        "<x:disk-volume>" +
                                            std::string(kDisk) + "</x:disk-volume></x:vm>",
                                        kUuid);
    ASSERT_TRUE(bound.has_value());
    EXPECT_EQ(bound->diskVolume, kDisk);
}

TEST(DiskXml, ParseMetadata_RefusesRepeatedOrMalformedStorageFields)
{
    const std::string disk = std::string("<disk-volume>") + kDisk + "</disk-volume>";
    const std::vector<std::string> inputs = {
        kOldBlock + disk + disk + "</vm>",                                             // twice
        kOldBlock + "<image>" + kImage + "</image><image>" + kImage + "</image></vm>", // twice
        kOldBlock + "<disk-volume>../../etc/shadow</disk-volume></vm>",                // a path
        kOldBlock + "<cdrom-volume>/dev/sda</cdrom-volume></vm>",                      // a path
        kOldBlock + "<disk-volume>a<b/>c</disk-volume></vm>",                          // an element inside
        kOldBlock + "<image>../img</image></vm>",                                      // not an image id
    };
    for (const auto& input : inputs)
        EXPECT_FALSE(parseMetadataXml(input, kUuid).has_value()) << input;
    EXPECT_TRUE(parseMetadataXml(kOldBlock + disk + "</vm>", kUuid).has_value());
    EXPECT_TRUE(parseMetadataXml(kOldBlock + "<disk-volume></disk-volume></vm>", kUuid).has_value()) << "empty is none";
}

// libvirt's own schema, where virt-xml-validate is installed (libvirt-clients).
TEST(DiskXml, BuildDomainXml_WithVolumesValidatesAgainstLibvirtSchema)
{
    if (std::system("command -v virt-xml-validate >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "virt-xml-validate is not installed";
    const TempDir dir;
    auto kernelBoot = withDiskAndCdrom();
    kernelBoot.spec.kernel = "vmlinuz";
    int n = 0;
    for (const auto& vm : {withDisk(), withDiskAndCdrom(), kernelBoot}) {
        for (const char* type : {"kvm", "qemu", "test"}) {
            const auto file = dir.file(std::to_string(n++) + ".xml", buildDomainXml(vm, options(type)));
            const std::string command = "virt-xml-validate " + file.string() + " domain >/dev/null 2>&1";
            EXPECT_EQ(std::system(command.c_str()), 0) << type << ": " << file;
        }
    }
}

} // namespace
} // namespace hangar::virt
