// Commands in a running guest against a real QEMU guest agent: the tiny guest runs Debian's qemu-ga on its virtio
// port (tests/e2e/make-guest.sh), so VM.Exec, AddUser and InstallPackages, Job.Result and AgentConnected are proven
// here end to end. It uses the shared guest of the E2e suite (no boot of its own); its source sits between
// E2eTest.cpp and ImageE2eTest.cpp, whose last test restarts hangard.
#include "E2eWorld.h"

#include <gtest/gtest.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

class GuestAgentE2e : public E2eFixture
{
protected:
    // The shared guest, once its agent is connected (AgentConnected true in PropertiesChanged).
    std::string guestWithAgent()
    {
        const std::string path = sharedVm();
        if (!client().waitState(path, "agent:true", 0, 90s))
            throw std::runtime_error("AgentConnected never turned true; seen: " + client().statesSince(path, 0) + "\n" +
                                     diagnostics(domainOf(path)));
        return path;
    }
    template <typename Argument>
    std::string call(const std::string& path, const std::string& method, const Argument& argument)
    {
        sdbus::ObjectPath job;
        client()
            .proxy(path)
            ->callMethod(method)
            .onInterface(kVmIface)
            .withTimeout(60s)
            .withArguments(argument, Dict{})
            .storeResultsTo(job);
        return job;
    }
    JobEnd finished(const std::string& job)
    {
        const auto end = client().waitCompleted(job, 60s);
        if (!end)
            throw std::runtime_error("job " + job + " did not complete");
        return *end;
    }
    static std::string bytes(const Dict& result, const std::string& key)
    {
        const auto v = result.at(key).get<std::vector<std::uint8_t>>();
        return {v.begin(), v.end()};
    }
};

TEST_F(GuestAgentE2e, ExecRunsInTheGuestWithExitCodeAndOutput)
{
    const std::string path = guestWithAgent();
    EXPECT_TRUE(client().vmProperty(path, "AgentConnected").get<bool>());

    const JobEnd echo = finished(exec(path, {"/bin/echo", "hi"}));
    EXPECT_TRUE(echo.success) << echo.message;
    ASSERT_FALSE(echo.result.empty()) << "Result comes before Completed";
    EXPECT_EQ(echo.result.at("exit_code").get<std::int32_t>(), 0);
    EXPECT_EQ(bytes(echo.result, "stdout"), "hi\n");
    EXPECT_FALSE(echo.result.at("stdout_truncated").get<bool>());

    const JobEnd three = finished(exec(path, {"/bin/sh", "-c", "echo oops >&2; exit 3"}));
    EXPECT_TRUE(three.success) << "a command that ran is a successful job: " << three.message;
    EXPECT_EQ(three.message, "exit code 3");
    EXPECT_EQ(three.result.at("exit_code").get<std::int32_t>(), 3);
    EXPECT_EQ(bytes(three.result, "stderr"), "oops\n");
}

TEST_F(GuestAgentE2e, AddUserAddsTheUserToTheGuestsPasswd)
{
    const std::string path = guestWithAgent();
    const JobEnd added = finished(call(path, "AddUser", Dict{{"name", sdbus::Variant(std::string("e2e-user"))}}));
    ASSERT_TRUE(added.success) << added.message << "\n" << diagnostics();
    const JobEnd passwd = finished(exec(path, {"/bin/cat", "/etc/passwd"}));
    ASSERT_TRUE(passwd.success) << passwd.message;
    EXPECT_NE(bytes(passwd.result, "stdout").find("\ne2e-user:"), std::string::npos) << bytes(passwd.result, "stdout");
    const auto users = client().vmProperty(path, "AddedUsers").get<std::vector<std::string>>();
    EXPECT_NE(std::find(users.begin(), users.end(), "e2e-user"), users.end());

    const JobEnd again = finished(call(path, "AddUser", Dict{{"name", sdbus::Variant(std::string("e2e-user"))}}));
    EXPECT_FALSE(again.success);
    EXPECT_NE(again.message.find("already exists"), std::string::npos) << again.message;
}

TEST_F(GuestAgentE2e, InstallPackagesFailsClearlyInAGuestWithoutAPackageManager)
{
    const std::string path = guestWithAgent();
    const JobEnd install = finished(call(path, "InstallPackages", std::vector<std::string>{"nginx"}));
    EXPECT_FALSE(install.success);
    EXPECT_NE(install.message.find("no supported package manager (apt-get, dnf, zypper or apk) was found"),
              std::string::npos)
        << install.message;
    EXPECT_TRUE(client().vmProperty(path, "InstalledPackages").get<std::vector<std::string>>().empty());
}

TEST_F(GuestAgentE2e, HangarctlExecAdduserAndInstallTalkToTheRealAgent)
{
    guestWithAgent();
    // exec: the guest's output on hangarctl's own stdout/stderr, and its exit code as hangarctl's.
    const auto exec =
        m_world->hangarctl({"exec", "e2e-shared", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 4"});
    EXPECT_EQ(exec.exitCode, 4) << exec.out << exec.err;
    EXPECT_EQ(exec.out, "out\n");
    EXPECT_NE(exec.err.find("err\n"), std::string::npos) << exec.err;

    const auto added = m_world->hangarctl({"adduser", "e2e-shared", "e2e-cli-user"});
    ASSERT_EQ(added.exitCode, 0) << added.out << added.err;
    EXPECT_NE(added.out.find("Added user 'e2e-cli-user'"), std::string::npos) << added.out;
    const auto passwd = m_world->hangarctl({"exec", "e2e-shared", "--", "/bin/cat", "/etc/passwd"});
    EXPECT_NE(passwd.out.find("\ne2e-cli-user:"), std::string::npos) << passwd.out;

    const auto install = m_world->hangarctl({"install", "e2e-shared", "nginx"});
    EXPECT_NE(install.exitCode, 0);
    EXPECT_NE(install.err.find("no supported package manager"), std::string::npos) << install.err;
    const auto bad = m_world->hangarctl({"install", "e2e-shared", "-y"});
    EXPECT_NE(bad.exitCode, 0) << "an option is not a package name";
}

} // namespace
} // namespace hangar::e2e
