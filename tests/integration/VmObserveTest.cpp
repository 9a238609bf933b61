// A VM's hypervisor log and who is on its console, through the real hangard on a private bus with libvirt's test
// driver, which keeps no per-domain log and has no consoles: what a client sees there is OpenLog's refusals (the
// test driver's NotSupported, unknown option keys) and the presence properties at rest. The log's content, -f, and
// the properties changing are proven on a real libvirtd and QEMU (tests/e2e/ObserveE2eTest.cpp).
#include "DaemonFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

constexpr const char* kError = "org.hangar.Hangar1.Error.";

class VmObserveTest : public ConnectedDaemonFixture
{
};

TEST_F(VmObserveTest, OpenLog_IsNotSupportedByTheTestDriverNamingTheDriverThatIs)
{
    const std::string path = manager->CreateVM("web", {});
    vm(path).Start({});
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(path).OpenLog({}); }, &message), std::string(kError) + "NotSupported");
    EXPECT_TRUE(message.find("the test driver (test:///default) cannot show a guest's hypervisor log") !=
                    std::string::npos &&
                message.find("use qemu:///system") != std::string::npos)
        << message;
    const RunResult r = ctl({"logs", "web"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find("cannot read the log of VM 'web'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(NotSupported)"), std::string::npos) << r.err;
}

TEST_F(VmObserveTest, OpenLog_RefusesUnknownOptionKeysAndWrongTypes)
{
    const std::string path = manager->CreateVM("web", {});
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      vm(path).OpenLog({{"follow", sdbus::Variant(true)}});
                  },
                  &message),
              std::string(kError) + "InvalidArgument");
    EXPECT_NE(message.find("follow"), std::string::npos) << message;
    EXPECT_EQ(errorOf([&] {
                  vm(path).OpenLog({{"auth.no_user_interaction", sdbus::Variant(std::string("yes"))}});
              }),
              std::string(kError) + "InvalidArgument");
}

TEST_F(VmObserveTest, Logs_OfAnUnknownVmExitsWithNotFoundAndBadOptionsAreUsageErrors)
{
    RunResult r = ctl({"logs", "nope"});
    EXPECT_EQ(r.exitCode, 4) << r.err;
    r = ctl({"logs", "-n", "many", "nope"});
    EXPECT_EQ(r.exitCode, 2) << r.err;
}

TEST_F(VmObserveTest, PresencePropertiesArePresentAndAtRest)
{
    const std::string path = manager->CreateVM("web", {});
    EXPECT_FALSE(vm(path).ConsoleAttached());
    EXPECT_EQ(vm(path).GraphicsClients(), 0U);
    vm(path).Start({});
    EXPECT_FALSE(vm(path).ConsoleAttached()) << "nobody opened the console";
    EXPECT_EQ(vm(path).GraphicsClients(), 0U) << "the test driver has no VNC server";
    const RunResult r = ctl({"info", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("Console:     free, no VNC client"), std::string::npos) << r.out;
    const auto json = ctlJson({"status", "web"});
    EXPECT_EQ(json.value("ConsoleAttached", true), false) << json.dump();
    EXPECT_EQ(json.value("GraphicsClients", 99), 0) << json.dump();
}

} // namespace
} // namespace hangar::it
