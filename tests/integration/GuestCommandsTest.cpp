// Commands in running guests through the real hangard on a private bus with libvirt's test driver, whose guests
// have no agent: what a client sees there is the refusals (NotSupported for a running guest, Busy for a stopped
// one, InvalidArgument for bad input, each changing nothing) and the properties; the working paths run against
// qemu-ga in the e2e suite (tests/e2e/GuestAgentE2eTest.cpp).
#include "DaemonFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

constexpr const char* kError = "org.hangar.Hangar1.Error.";

class GuestCommandsTest : public ConnectedDaemonFixture
{
protected:
    std::string running(const std::string& name)
    {
        const std::string path = create(name);
        vm(path).Start({});
        EXPECT_TRUE(waitFor([&] { return vm(path).State() == "running"; }));
        return path;
    }
    std::optional<std::pair<std::string, std::string>> lastEvent(const std::string& action)
    {
        std::optional<std::pair<std::string, std::string>> last;
        for (const auto& row : manager->GetEvents({}))
            if (row.get<5>() == action)
                last = std::pair{row.get<6>(), row.get<7>()};
        return last;
    }
    std::size_t jobCount()
    {
        std::size_t n = 0;
        for (const auto& [path, interfaces] : manager->GetManagedObjects())
            n += interfaces.count("org.hangar.Hangar1.Job");
        return n;
    }
};

TEST_F(GuestCommandsTest, Exec_InARunningGuestWithoutAnAgentIsNotSupportedSayingSo)
{
    const std::string path = running("shell");
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(path).Exec({"/bin/echo", "hi"}, {}); }, &message), std::string(kError) + "NotSupported");
    EXPECT_NE(message.find("the guest agent (qemu-guest-agent) is not connected"), std::string::npos) << message;
    EXPECT_EQ(jobCount(), 0U);
    const auto event = lastEvent("exec");
    ASSERT_TRUE(event);
    EXPECT_EQ(event->first, "NotSupported");
    EXPECT_FALSE(vm(path).AgentConnected());
    std::string userMessage;
    EXPECT_EQ(errorOf(
                  [&] {
                      vm(path).AddUser({{"name", sdbus::Variant(std::string("deploy"))}}, {});
                  },
                  &userMessage),
              std::string(kError) + "NotSupported");
    EXPECT_EQ(errorOf([&] { vm(path).InstallPackages({"nginx"}, {}); }), std::string(kError) + "NotSupported");
    EXPECT_TRUE(vm(path).AddedUsers().empty());
    EXPECT_TRUE(vm(path).InstalledPackages().empty());
}

TEST_F(GuestCommandsTest, Exec_InAStoppedVmIsBusy)
{
    const std::string path = create("idle");
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(path).Exec({"/bin/true"}, {}); }, &message), std::string(kError) + "Busy");
    EXPECT_NE(message.find("is stopped; commands run only in a running guest"), std::string::npos) << message;
    EXPECT_EQ(lastEvent("exec")->first, "Busy");
}

TEST_F(GuestCommandsTest, BadArgvOptionsUsersAndPackagesAreInvalidArgumentAndChangeNothing)
{
    const std::string path = running("shell");
    const std::vector<std::pair<std::string, std::function<void()>>> attempts{
        {"empty argv", [&] { vm(path).Exec({}, {}); }},
        {"timeout 0",
         [&] {
             vm(path).Exec({"/bin/true"}, {{"timeout_sec", sdbus::Variant(std::uint32_t{0})}});
         }},
        {"timeout 3601",
         [&] {
             vm(path).Exec({"/bin/true"}, {{"timeout_sec", sdbus::Variant(std::uint32_t{3601})}});
         }},
        {"timeout as string",
         [&] {
             vm(path).Exec({"/bin/true"}, {{"timeout_sec", sdbus::Variant(std::string("60"))}});
         }},
        {"stdin as int",
         [&] {
             vm(path).Exec({"/bin/cat"}, {{"stdin", sdbus::Variant(std::int32_t{1})}});
         }},
        {"unknown option",
         [&] {
             vm(path).Exec({"/bin/true"}, {{"cwd", sdbus::Variant(std::string("/"))}});
         }},
        {"user without name", [&] { vm(path).AddUser({}, {}); }},
        {"bad user name",
         [&] {
             vm(path).AddUser({{"name", sdbus::Variant(std::string("Bad Name"))}}, {});
         }},
        {"bad key",
         [&] {
             vm(path).AddUser({{"name", sdbus::Variant(std::string("deploy"))},
                               {"ssh_authorized_keys", sdbus::Variant(std::vector<std::string>{"ssh-rsa xyz"})}},
                              {});
         }},
        {"clear password",
         [&] {
             vm(path).AddUser(
                 {{"name", sdbus::Variant(std::string("deploy"))}, {"passwd", sdbus::Variant(std::string("hunter2"))}},
                 {});
         }},
        {"unknown user key",
         [&] {
             vm(path).AddUser({{"name", sdbus::Variant(std::string("deploy"))}, {"groups", sdbus::Variant(true)}}, {});
         }},
        {"no packages", [&] { vm(path).InstallPackages({}, {}); }},
        {"option as package", [&] { vm(path).InstallPackages({"--allow-unauthenticated"}, {}); }},
    };
    for (const auto& [what, attempt] : attempts) {
        std::string message;
        EXPECT_EQ(errorOf(attempt, &message), std::string(kError) + "InvalidArgument") << what;
        EXPECT_FALSE(message.empty()) << what;
    }
    EXPECT_EQ(jobCount(), 0U);
    EXPECT_TRUE(vm(path).AddedUsers().empty());
    EXPECT_TRUE(vm(path).InstalledPackages().empty());
    EXPECT_EQ(vm(path).State(), "running");
}

TEST_F(GuestCommandsTest, GuestPropertiesArePublishedWithTheVm)
{
    const std::string path = create("props");
    const auto objects = manager->GetManagedObjects();
    const auto& properties = objects.at(sdbus::ObjectPath(path)).at("org.hangar.Hangar1.VM");
    EXPECT_FALSE(properties.at("AgentConnected").get<bool>());
    EXPECT_TRUE(properties.at("AddedUsers").get<std::vector<std::string>>().empty());
    EXPECT_TRUE(properties.at("InstalledPackages").get<std::vector<std::string>>().empty());
}

} // namespace
} // namespace hangar::it
