// The parts of the domain XML that make a real guest: direct kernel boot, network, console, graphics, CPU; the
// kernel-boot fields in the metadata block; and reading the VNC address back from a live definition.
#include "ErrorTestSupport.h"
#include "XmlTestSupport.h"
#include "core/Error.h"
#include "virt/DomainXml.h"

#include <cstdlib>
#include <gtest/gtest.h>

namespace hangar::virt {
namespace {

using testing::ParsedXml;
using testing::TempDir;

constexpr const char* kUuid = "3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d";

VmRecord guest()
{
    VmRecord vm;
    vm.uuid = kUuid;
    vm.name = "tiny";
    vm.owner = 1000;
    vm.spec.vcpus = 1;
    vm.spec.memoryMiB = 256;
    vm.spec.diskGiB = 1;
    vm.spec.kernel = "vmlinuz-6.1.0-56-amd64";
    vm.spec.initrd = "tiny-initrd.img";
    vm.spec.cmdline = "console=ttyS0 panic=-1";
    vm.createdAtUsec = 1700000000123456;
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    return vm;
}

DomainXmlOptions options(const char* type, GuestNetwork network = GuestNetwork::User)
{
    DomainXmlOptions o;
    o.domainType = type;
    o.bootDir = "/var/lib/hangar/boot";
    o.network = network;
    return o;
}

using hangar::testing::codeOf;

TEST(GuestXml, BuildDomainXml_BootsTheKernelFromTheBootDirectory)
{
    const ParsedXml xml(buildDomainXml(guest(), options("qemu")));
    ASSERT_TRUE(xml.ok());
    EXPECT_EQ(xml.value("/domain/os/type"), "hvm");
    EXPECT_EQ(xml.value("/domain/os/kernel"), "/var/lib/hangar/boot/vmlinuz-6.1.0-56-amd64");
    EXPECT_EQ(xml.value("/domain/os/initrd"), "/var/lib/hangar/boot/tiny-initrd.img");
    EXPECT_EQ(xml.value("/domain/os/cmdline"), "console=ttyS0 panic=-1");
    EXPECT_TRUE(xml.value("/domain/features/acpi").has_value()) << "poweroff must end the domain";
}

TEST(GuestXml, BuildDomainXml_WithoutKernelHasNoKernelElements)
{
    auto vm = guest();
    vm.spec.kernel.clear();
    vm.spec.initrd.clear();
    vm.spec.cmdline.clear();
    const ParsedXml xml(buildDomainXml(vm, options("qemu")));
    EXPECT_FALSE(xml.value("/domain/os/kernel").has_value());
    EXPECT_FALSE(xml.value("/domain/os/initrd").has_value());
    EXPECT_FALSE(xml.value("/domain/os/cmdline").has_value());
    EXPECT_FALSE(xml.value("/domain/metadata/h:vm/h:kernel").has_value());
    auto kernelOnly = guest();
    kernelOnly.spec.initrd.clear();
    kernelOnly.spec.cmdline.clear();
    const ParsedXml bare(buildDomainXml(kernelOnly, options("qemu")));
    EXPECT_TRUE(bare.value("/domain/os/kernel").has_value());
    EXPECT_FALSE(bare.value("/domain/os/initrd").has_value());
    EXPECT_FALSE(bare.value("/domain/os/cmdline").has_value());
}

TEST(GuestXml, BuildDomainXml_EscapesTheCommandLine)
{
    auto vm = guest();
    vm.spec.cmdline = "init=/bin/sh x=\"<a>&b</a>\" y='z' ]]>";
    const auto raw = buildDomainXml(vm, options("qemu"));
    EXPECT_EQ(raw.find("<a>"), std::string::npos) << raw;
    const ParsedXml xml(raw);
    ASSERT_TRUE(xml.ok()) << raw;
    EXPECT_EQ(xml.value("/domain/os/cmdline"), vm.spec.cmdline);
    EXPECT_EQ(xml.value("/domain/os/cmdline/*"), std::nullopt);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:cmdline"), vm.spec.cmdline);
}

TEST(GuestXml, BuildDomainXml_HasSerialConsoleVncAndVirtioNetwork)
{
    const ParsedXml xml(buildDomainXml(guest(), options("qemu", GuestNetwork::Default)));
    EXPECT_EQ(xml.value("/domain/devices/serial/@type"), "pty");
    EXPECT_EQ(xml.value("/domain/devices/serial/target/@port"), "0");
    EXPECT_EQ(xml.value("/domain/devices/console/@type"), "pty");
    EXPECT_EQ(xml.value("/domain/devices/console/target/@type"), "serial");
    EXPECT_EQ(xml.value("/domain/devices/graphics/@type"), "vnc");
    EXPECT_EQ(xml.value("/domain/devices/graphics/@autoport"), "yes");
    EXPECT_EQ(xml.value("/domain/devices/graphics/@listen"), "127.0.0.1");
    EXPECT_EQ(xml.value("/domain/devices/graphics/@sharePolicy"), "force-shared") << "many clients share the display";
    EXPECT_EQ(xml.value("/domain/devices/graphics/listen/@type"), "address");
    EXPECT_EQ(xml.value("/domain/devices/graphics/listen/@address"), "127.0.0.1");
    EXPECT_EQ(xml.value("/domain/devices/interface/@type"), "network");
    EXPECT_EQ(xml.value("/domain/devices/interface/source/@network"), "default");
    EXPECT_EQ(xml.value("/domain/devices/interface/model/@type"), "virtio");
    EXPECT_FALSE(xml.value("/domain/devices/interface[2]").has_value()) << "one interface";
    EXPECT_FALSE(xml.value("/domain/devices/disk").has_value()) << "no disk without volumes";
}

TEST(GuestXml, BuildDomainXml_FallsBackToUserModeNetworking)
{
    const ParsedXml xml(buildDomainXml(guest(), options("qemu", GuestNetwork::User)));
    EXPECT_EQ(xml.value("/domain/devices/interface/@type"), "user");
    EXPECT_FALSE(xml.value("/domain/devices/interface/source").has_value());
    EXPECT_EQ(xml.value("/domain/devices/interface/model/@type"), "virtio");
}

TEST(GuestXml, BuildDomainXml_HostModelCpuOnlyForKvm)
{
    EXPECT_EQ(ParsedXml(buildDomainXml(guest(), options("kvm"))).value("/domain/cpu/@mode"), "host-model");
    EXPECT_FALSE(ParsedXml(buildDomainXml(guest(), options("qemu"))).value("/domain/cpu").has_value())
        << "TCG cannot emulate the host's model";
    EXPECT_FALSE(ParsedXml(buildDomainXml(guest(), options("test"))).value("/domain/cpu").has_value());
}

TEST(GuestXml, BuildDomainXml_RefusesBootFilesThatAreNotPlainNames)
{
    for (const char* bad : {"../etc/shadow", "/boot/vmlinuz", "a/b", ".hidden", "..", "x..y", "sp ace", "-dash"}) {
        auto vm = guest();
        vm.spec.kernel = bad;
        EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options("qemu")); }), ErrorCode::InvalidArgument) << bad;
        vm = guest();
        vm.spec.initrd = bad;
        EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options("qemu")); }), ErrorCode::InvalidArgument) << bad;
    }
    auto vm = guest();
    vm.spec.cmdline = "two\nlines";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options("qemu")); }), ErrorCode::InvalidArgument);
    vm = guest();
    vm.spec.kernel.clear();
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, options("qemu")); }), ErrorCode::InvalidArgument)
        << "initrd and cmdline without a kernel";
    auto noDir = options("qemu");
    noDir.bootDir.clear();
    EXPECT_EQ(codeOf([&] { buildDomainXml(guest(), noDir); }), ErrorCode::InvalidArgument);
    noDir.bootDir = "relative/boot";
    EXPECT_EQ(codeOf([&] { buildDomainXml(guest(), noDir); }), ErrorCode::InvalidArgument);
}

TEST(GuestXml, Metadata_RoundTripsKernelBootFields)
{
    const auto vm = guest();
    const auto parsed = parseMetadataXml(buildMetadataXml(vm), vm.uuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->spec.kernel, vm.spec.kernel);
    EXPECT_EQ(parsed->spec.initrd, vm.spec.initrd);
    EXPECT_EQ(parsed->spec.cmdline, vm.spec.cmdline);
    EXPECT_EQ(*parsed, vm);
}

TEST(GuestXml, ParseMetadata_RefusesABlockWhoseKernelIsAPath)
{
    // Anyone with virsh edit could write this; adopting it would one day define a domain booting /etc/shadow.
    const std::string head = "<vm><name>evil</name><owner>0</owner><created>1</created><vcpus>1</vcpus>"
                             "<memory-mib>128</memory-mib><disk-gib>1</disk-gib>";
    EXPECT_TRUE(parseMetadataXml(head + "<kernel>vmlinuz</kernel></vm>", kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(head + "<kernel>../../etc/shadow</kernel></vm>", kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(head + "<kernel>vmlinuz</kernel><initrd>/etc/shadow</initrd></vm>", kUuid));
    EXPECT_FALSE(parseMetadataXml(head + "<initrd>initrd.img</initrd></vm>", kUuid).has_value())
        << "an initrd without a kernel";
    EXPECT_FALSE(parseMetadataXml(head + "<kernel>k</kernel><cmdline>a&#10;b</cmdline></vm>", kUuid).has_value());
}

// What libvirt's live XML of running domains looks like, trimmed to what matters.
std::string liveXml(const std::string& graphics)
{
    return "<domain type='kvm' id='3'><name>x</name><devices><serial type='pty'/>" + graphics + "</devices></domain>";
}

TEST(GuestXml, GraphicsAddress_ReadsThePortLibvirtAllocated)
{
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>"
                                             "<listen type='address' address='127.0.0.1'/></graphics>")),
              "vnc://127.0.0.1:5901");
    EXPECT_EQ(graphicsAddressFromXml(
                  liveXml("<graphics type='vnc' port='5900'><listen type='address' address='::1'/></graphics>")),
              "vnc://[::1]:5900");
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='vnc' port='5902'/>")), "vnc://localhost:5902");
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='spice' port='5930'/><graphics type='vnc' port='5903' "
                                             "listen='127.0.0.1'/>")),
              "vnc://127.0.0.1:5903");
}

TEST(GuestXml, GraphicsAddress_IsEmptyWithoutAPort)
{
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>")), "")
        << "an inactive domain, or the test driver";
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='vnc' autoport='yes'/>")), "");
    EXPECT_EQ(graphicsAddressFromXml(liveXml("")), "");
    EXPECT_EQ(graphicsAddressFromXml(liveXml("<graphics type='vnc' port='99999'/>")), "");
    EXPECT_EQ(graphicsAddressFromXml("not xml"), "");
    EXPECT_EQ(graphicsAddressFromXml(""), "");
}

TEST(GuestXml, ChooseDomainType_OverrideAppliesToQemuHostsOnly)
{
    EXPECT_EQ(chooseDomainType("auto", "kvm"), "kvm");
    EXPECT_EQ(chooseDomainType("auto", "qemu"), "qemu");
    EXPECT_EQ(chooseDomainType("qemu", "kvm"), "qemu") << "TCG on request, e.g. where KVM is broken";
    EXPECT_EQ(chooseDomainType("kvm", "qemu"), "kvm") << "the administrator knows better than the probe";
    EXPECT_EQ(chooseDomainType("kvm", "test"), "test") << "the test driver accepts nothing else";
    EXPECT_EQ(chooseDomainType("", "qemu"), "qemu");
    EXPECT_EQ(codeOf([] { chooseDomainType("xen", "qemu"); }), ErrorCode::InvalidArgument);
}

// libvirt's own schema, where virt-xml-validate is installed (libvirt-clients): what real QEMU will be given.
TEST(GuestXml, BuildDomainXml_ValidatesAgainstLibvirtSchema)
{
    if (std::system("command -v virt-xml-validate >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "virt-xml-validate is not installed";
    const TempDir dir;
    for (const char* type : {"kvm", "qemu", "test"}) {
        for (const auto network : {GuestNetwork::Default, GuestNetwork::User}) {
            const auto file = dir.file(std::string(type) + ".xml", buildDomainXml(guest(), options(type, network)));
            const std::string command = "virt-xml-validate " + file.string() + " domain >/dev/null 2>&1";
            EXPECT_EQ(std::system(command.c_str()), 0) << type << ": " << file;
        }
    }
}

} // namespace
} // namespace hangar::virt
