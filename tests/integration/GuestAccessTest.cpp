// Consoles, graphics and direct kernel boot through the real hangard on a private bus with libvirt's test driver,
// which defines and starts such domains but has neither consoles nor a graphics fd: what a client sees there is the
// refusals (Busy, NotSupported, InvalidArgument) and GraphicsAddress; the working paths are the e2e suite's.
#include "DaemonFixture.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <memory>
#include <sstream>

namespace hangar::it {
namespace {

constexpr const char* kError = "org.hangar.Hangar1.Error.";

class GuestAccessTest : public ConnectedDaemonFixture
{
protected:
    std::string bootDir() const { return state() + "/boot"; } // the default: <state_dir>/boot

    // The newest audit event with this action.
    std::optional<std::string> lastOutcome(const std::string& action)
    {
        std::optional<std::string> outcome;
        for (const auto& row : manager->GetEvents({}))
            if (row.get<5>() == action)
                outcome = row.get<6>();
        return outcome;
    }
};

TEST_F(GuestAccessTest, OpenConsole_OfAStoppedVmIsBusy)
{
    const std::string path = manager->CreateVM("web", {});
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(path).OpenConsole({}); }, &message), std::string(kError) + "Busy");
    EXPECT_NE(message.find("stopped"), std::string::npos) << message;
    EXPECT_EQ(lastOutcome("console"), "Busy") << "recorded in the audit log";
}

TEST_F(GuestAccessTest, OpenConsole_IsNotSupportedByTheTestDriver)
{
    const std::string path = manager->CreateVM("web", {});
    vm(path).Start({});
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(path).OpenConsole({}); }, &message), std::string(kError) + "NotSupported");
    EXPECT_TRUE(message.find("the test driver (test:///default) cannot open a guest's serial console") !=
                    std::string::npos &&
                message.find("use qemu:///system") != std::string::npos)
        << "names the driver that can, not libvirt's words: " << message;
    EXPECT_EQ(errorOf([&] {
                  vm(path).OpenConsole({{"force", sdbus::Variant(true)}});
              }),
              std::string(kError) + "NotSupported");
}

TEST_F(GuestAccessTest, OpenConsole_ChecksItsOptions)
{
    const std::string path = manager->CreateVM("web", {});
    vm(path).Start({});
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      vm(path).OpenConsole({{"forse", sdbus::Variant(true)}});
                  },
                  &message),
              std::string(kError) + "InvalidArgument");
    EXPECT_NE(message.find("force"), std::string::npos) << "lists the allowed keys: " << message;
    EXPECT_EQ(errorOf([&] {
                  vm(path).OpenConsole({{"force", sdbus::Variant(std::string("yes"))}});
              }),
              std::string(kError) + "InvalidArgument");
    EXPECT_EQ(errorOf([&] {
                  vm(path).OpenGraphics({{"shared", sdbus::Variant(true)}});
              }),
              std::string(kError) + "InvalidArgument");
}

TEST_F(GuestAccessTest, OpenGraphics_IsNotSupportedByTheTestDriverAndBusyWhenStopped)
{
    const std::string path = manager->CreateVM("web", {});
    EXPECT_EQ(errorOf([&] { vm(path).OpenGraphics({}); }), std::string(kError) + "Busy");
    vm(path).Start({});
    EXPECT_EQ(errorOf([&] { vm(path).OpenGraphics({}); }), std::string(kError) + "NotSupported");
    EXPECT_EQ(lastOutcome("graphics"), "NotSupported");
}

TEST_F(GuestAccessTest, GraphicsAddress_IsEmptyWhenStoppedAndWhereNoPortIsAllocated)
{
    const std::string path = manager->CreateVM("web", {});
    EXPECT_EQ(vm(path).GraphicsAddress(), "");
    vm(path).Start({});
    ASSERT_TRUE(waitFor([&] { return vm(path).State() == "running"; }));
    EXPECT_EQ(vm(path).GraphicsAddress(), "") << "the test driver reports no VNC port";
    vm(path).Stop({{"force", sdbus::Variant(true)}});
    EXPECT_EQ(vm(path).GraphicsAddress(), "");
    // Read through GetManagedObjects too: the property is part of the published object.
    const auto objects = manager->GetManagedObjects();
    const auto& properties = objects.at(sdbus::ObjectPath(path)).at("org.hangar.Hangar1.VM");
    ASSERT_EQ(properties.count("GraphicsAddress"), 1U);
    EXPECT_EQ(properties.at("GraphicsAddress").get<std::string>(), "");
}

TEST_F(GuestAccessTest, CreateVm_KernelMustBeAFileInTheBootDirectory)
{
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      manager->CreateVM("k", {{"kernel", sdbus::Variant(std::string("vmlinuz"))}});
                  },
                  &message),
              std::string(kError) + "InvalidArgument");
    EXPECT_NE(message.find("kernel 'vmlinuz'"), std::string::npos) << message;
    EXPECT_NE(message.find(bootDir()), std::string::npos) << "says where it looked: " << message;
    for (const char* path : {"../../etc/passwd", "/boot/vmlinuz", "sub/vmlinuz"})
        EXPECT_EQ(errorOf([&] {
                      manager->CreateVM("k", {{"kernel", sdbus::Variant(std::string(path))}});
                  }),
                  std::string(kError) + "InvalidArgument")
            << path;
    EXPECT_EQ(errorOf([&] {
                  manager->CreateVM("k", {{"cmdline", sdbus::Variant(std::string("console=ttyS0"))}});
              }),
              std::string(kError) + "InvalidArgument")
        << "a command line without a kernel";

    ASSERT_TRUE(std::filesystem::is_directory(bootDir())) << "hangard creates the default boot directory";
    std::ofstream(bootDir() + "/vmlinuz") << "not really a kernel: the test driver never reads it";
    std::ofstream(bootDir() + "/initrd.img") << "nor an initrd";
    const std::string path = manager->CreateVM("k", {{"kernel", sdbus::Variant(std::string("vmlinuz"))},
                                                     {"initrd", sdbus::Variant(std::string("initrd.img"))},
                                                     {"cmdline", sdbus::Variant(std::string("console=ttyS0"))}});
    vm(path).Start({});
    EXPECT_TRUE(waitFor([&] { return vm(path).State() == "running"; }));
    bool recorded = false;
    for (const auto& row : manager->GetEvents({{"vm", sdbus::Variant(std::string("k"))}}))
        recorded = recorded || row.get<7>().find("booting kernel vmlinuz") != std::string::npos;
    EXPECT_TRUE(recorded);
}

TEST_F(GuestAccessTest, Introspection_DeclaresTheFileDescriptorMethodsAndProperty)
{
    const std::string path = manager->CreateVM("web", {});
    const RunResult r = run(
        {"busctl", "--address=" + bus->address(), "introspect", "org.hangar.Hangar1", path, "org.hangar.Hangar1.VM"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // busctl's columns: NAME TYPE SIGNATURE RESULT/VALUE FLAGS.
    const auto columns = [&](const std::string& member) {
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            std::istringstream words(line);
            std::vector<std::string> out{std::istream_iterator<std::string>(words), {}};
            if (!out.empty() && out[0] == member)
                return out;
        }
        return std::vector<std::string>{};
    };
    for (const char* method : {".OpenConsole", ".OpenGraphics"}) {
        const auto c = columns(method);
        ASSERT_GE(c.size(), 4U) << method << "\n" << r.out;
        EXPECT_EQ(c[1], "method");
        EXPECT_EQ(c[2], "a{sv}");
        EXPECT_EQ(c[3], "h") << "returns a file descriptor";
    }
    const auto property = columns(".GraphicsAddress");
    ASSERT_GE(property.size(), 3U) << r.out;
    EXPECT_EQ(property[1], "property");
    EXPECT_EQ(property[2], "s");
}

TEST_F(GuestAccessTest, Hangarctl_ConsoleAndVncReportWhyNot)
{
    ASSERT_EQ(ctl({"create", "web"}).exitCode, 0);
    RunResult r = ctl({"console", "web"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find("cannot open the console of VM 'web'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(Busy)"), std::string::npos) << r.err;
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);
    r = ctl({"vnc", "web", "--listen", "127.0.0.1:0"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find("(NotSupported)"), std::string::npos) << r.err;
    r = ctl({"console", "nope"});
    EXPECT_EQ(r.exitCode, 4) << r.err;
    r = ctl({"vnc", "web", "--listen", "no-port"});
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
    r = ctl({"create", "k", "--kernel", "missing"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find("kernel 'missing'"), std::string::npos) << r.err;
}

} // namespace
} // namespace hangar::it
