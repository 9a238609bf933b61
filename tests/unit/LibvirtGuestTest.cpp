// LibvirtHypervisor's guests on the test driver: devices, kernel boot, consoles and graphics, as far as the test
// driver goes (it has no consoles or VNC: those are tests/e2e's).
#include "LibvirtHypervisorFixture.h"

namespace hangar::virt {
namespace {

TEST_F(LibvirtHypervisorTest, Define_GivesTheGuestConsoleGraphicsAndTheDefaultNetwork)
{
    const auto vm = defineVm("devices");
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<serial type='pty'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<console type='pty'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<graphics type='vnc'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("listen='127.0.0.1'"), std::string::npos) << xml;
    // The test driver has an active network "default", so the guest is put on it rather than on user-mode.
    EXPECT_NE(xml.find("<source network='default'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<model type='virtio'/>"), std::string::npos) << xml;
}

TEST_F(LibvirtHypervisorTest, Define_BootsTheKernelFromTheConfiguredBootDirectory)
{
    LibvirtHypervisor hypervisor(kTestUri, m_loop.poster(), LibvirtOptions{"kvm", "/srv/hangar/boot"});
    auto vm = record("kernel-boot");
    vm.spec.kernel = "vmlinuz";
    vm.spec.initrd = "initrd.img";
    vm.spec.cmdline = "console=ttyS0 a<b";
    hypervisor.define(vm);
    m_defined.push_back(vm.uuid);
    const auto xml = rawXml(vm.uuid);
    EXPECT_NE(xml.find("<domain type='test'"), std::string::npos) << "domain_type does not apply to the test driver";
    EXPECT_NE(xml.find("<kernel>/srv/hangar/boot/vmlinuz</kernel>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<initrd>/srv/hangar/boot/initrd.img</initrd>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<cmdline>console=ttyS0 a&lt;b</cmdline>"), std::string::npos) << xml;
    const auto info = listed(vm.uuid);
    ASSERT_TRUE(info && info->record);
    EXPECT_EQ(info->record->spec.kernel, "vmlinuz") << "the metadata block carries the kernel boot fields";
    EXPECT_EQ(info->record->spec.cmdline, "console=ttyS0 a<b");
}

TEST_F(LibvirtHypervisorTest, Constructor_RefusesAnUnknownDomainType)
{
    const auto error = errorOf([&] { LibvirtHypervisor(kTestUri, m_loop.poster(), LibvirtOptions{"xen", "/b"}); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::InvalidArgument);
}

TEST_F(LibvirtHypervisorTest, OpenGraphics_IsNotSupportedByTheTestDriver)
{
    const auto vm = defineVm("vnc");
    m_hypervisor->start(vm.uuid);
    const auto error = errorOf([&] { m_hypervisor->openGraphics(vm.uuid); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
}

TEST_F(LibvirtHypervisorTest, OpenConsole_IsNotSupportedByTheTestDriverAndLeavesTheConsoleFree)
{
    const auto vm = defineVm("console");
    m_hypervisor->start(vm.uuid);
    for (int attempt = 0; attempt < 2; ++attempt) { // the failed open must not count as an open console
        const auto error = errorOf([&] { m_hypervisor->openConsole(vm.uuid, false); });
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
    }
}

TEST_F(LibvirtHypervisorTest, OpenLog_IsNotSupportedByTheTestDriverNamingOneThatIs)
{
    const auto vm = defineVm("log");
    const auto error = errorOf([&] { m_hypervisor->openLog(vm.uuid); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::NotSupported) << error->what();
    EXPECT_NE(std::string(error->what()).find("qemu:///system"), std::string::npos) << error->what();
}

TEST_F(LibvirtHypervisorTest, GraphicsAddress_IsEmptyWhereNoPortIsAllocated)
{
    const auto vm = defineVm("address");
    EXPECT_EQ(m_hypervisor->graphicsAddress(vm.uuid), "");
    m_hypervisor->start(vm.uuid);
    EXPECT_EQ(m_hypervisor->graphicsAddress(vm.uuid), "") << "the test driver reports port -1";
    EXPECT_EQ(errorOf([&] { m_hypervisor->graphicsAddress(freshUuid()); })->code(), ErrorCode::NotFound);
}

} // namespace
} // namespace hangar::virt
