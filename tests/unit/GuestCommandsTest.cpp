// Commands in running guests (core/VmGuestCommands): Exec, AddUser and InstallPackages as Jobs over the fake
// hypervisor's programmable guest agent, AgentConnected, and the validation of users and packages (core/Provisioning,
// shared with the cloud-init seed).
#include "CoreFixture.h"
#include "core/Base64.h"
#include "core/Provisioning.h"
#include "core/VmGuestCommands.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

using testing::Capture;
using testing::CoreFixture;
using testing::FakeHypervisor;
using testing::kAlice;
using testing::kBob;

struct ResultLog final : JobObserver
{
    void jobAdded(const Job& job) override { added.push_back(job.operation); }
    void jobChanged(const Job&) override {}
    void jobCompleted(const Job& job, bool ok, const std::string& message) override
    {
        completed.emplace_back(ok, message);
        results.push_back(job.result);
    }
    std::vector<std::string> added;
    std::vector<std::pair<bool, std::string>> completed;
    std::vector<std::optional<GuestCommandStatus>> results;
};

// "ssh-ed25519 <blob> comment" with a blob of the right shape.
std::string ed25519Key()
{
    std::string blob("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    blob += std::string(32, '\x42');
    return "ssh-ed25519 " + base64Encode(blob) + " alice@laptop";
}

class GuestCommandsTest : public CoreFixture<>
{
protected:
    GuestCommandsTest() { jobs.setObserver(&log); }

    std::string running(std::optional<FakeHypervisor::Agent> agent)
    {
        const std::string uuid = create("box");
        EXPECT_TRUE(call([&](auto d) { manager.start(caller(kAlice), uuid, d); }).ok());
        hypervisor.setAgent(uuid, std::move(agent));
        return uuid;
    }
    static FakeHypervisor::Agent answering(int exitCode, std::string out, std::string err = {}, int polls = 0)
    {
        return {[=](const GuestCommand&) {
                    GuestCommandStatus s;
                    s.exitCode = exitCode;
                    s.out = out;
                    s.err = err;
                    return s;
                },
                polls};
    }
    // Lets the job's polls run until it completes (or `seconds` of fake time have passed).
    void runJob(int seconds = 10)
    {
        executor.drain();
        for (int i = 0; i < seconds * 10 && log.completed.empty(); ++i) {
            executor.advance(std::chrono::milliseconds(100));
            executor.drain();
        }
    }
    Capture<std::uint64_t> exec(const std::string& uuid, std::vector<std::string> argv, ExecOptions options = {},
                                std::uint32_t uid = kAlice)
    {
        Capture<std::uint64_t> r;
        manager.exec(caller(uid), uuid, std::move(argv), std::move(options), r.done());
        executor.drain();
        return r;
    }
    std::optional<EventRecord> lastEvent(const std::string& action)
    {
        std::optional<EventRecord> last;
        for (const auto& e : allEvents())
            if (e.action == action)
                last = e;
        return last;
    }

    ResultLog log;
};

TEST_F(GuestCommandsTest, Exec_JobEndsWithTheExitCodeAndOutputAndTheAuditHasArgvNotOutput)
{
    const std::string uuid = running(answering(3, "secret-output\n", "oops\n", 2));
    ExecOptions options;
    options.input = "some input";
    auto r = exec(uuid, {"/bin/sh", "-c", "exit 3"}, options);
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(log.added, std::vector<std::string>{"exec"});
    EXPECT_TRUE(log.completed.empty()) << "the command is still running for two polls";
    runJob();
    ASSERT_EQ(log.completed.size(), 1U);
    EXPECT_TRUE(log.completed[0].first) << "a command that ran is a successful job, whatever its exit code";
    EXPECT_EQ(log.completed[0].second, "exit code 3");
    ASSERT_TRUE(log.results[0]);
    EXPECT_EQ(log.results[0]->exitCode, 3);
    EXPECT_EQ(log.results[0]->out, "secret-output\n");
    EXPECT_EQ(log.results[0]->err, "oops\n");
    const auto commands = hypervisor.guestCommands();
    ASSERT_EQ(commands.size(), 1U);
    EXPECT_EQ(commands[0].argv, (std::vector<std::string>{"/bin/sh", "-c", "exit 3"}));
    EXPECT_EQ(commands[0].input, "some input");
    const auto event = lastEvent("exec");
    ASSERT_TRUE(event);
    EXPECT_EQ(event->outcome, "ok");
    EXPECT_NE(event->message.find("'/bin/sh' '-c' 'exit 3'"), std::string::npos) << event->message;
    EXPECT_EQ(event->message.find("secret-output"), std::string::npos);
    EXPECT_EQ(event->message.find("some input"), std::string::npos);
    EXPECT_FALSE(inventory.find(uuid)->operation) << "a command in the guest keeps no one from the VM";
}

TEST_F(GuestCommandsTest, Exec_WithoutAnAgentIsNotSupportedAndStartsNoJob)
{
    const std::string uuid = running(std::nullopt);
    auto r = exec(uuid, {"/bin/true"});
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::NotSupported);
    EXPECT_NE(r.message().find("guest agent (qemu-guest-agent) is not connected"), std::string::npos);
    EXPECT_TRUE(log.added.empty());
    ASSERT_TRUE(lastEvent("exec"));
    EXPECT_EQ(lastEvent("exec")->outcome, "NotSupported");
}

TEST_F(GuestCommandsTest, Exec_OnAStoppedVmIsBusyAndAsksNoAgent)
{
    const std::string uuid = create("box");
    auto r = exec(uuid, {"/bin/true"});
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::Busy);
    EXPECT_NE(r.message().find("is stopped; commands run only in a running guest"), std::string::npos);
    EXPECT_EQ(hypervisor.calls("guestExec"), 0);
}

TEST_F(GuestCommandsTest, Exec_BadArgvOrOptionsAreInvalidArgumentAndRunNothing)
{
    const std::string uuid = running(answering(0, ""));
    ExecOptions tooLong;
    tooLong.timeoutSec = 3601;
    ExecOptions zero;
    zero.timeoutSec = 0;
    ExecOptions bigInput;
    bigInput.input = std::string(ExecOptions::kMaxInputBytes + 1, 'x');
    for (auto [argv, options] :
         std::vector<std::pair<std::vector<std::string>, ExecOptions>>{{{}, {}},
                                                                       {{""}, {}},
                                                                       {{"/bin/true"}, tooLong},
                                                                       {{"/bin/true"}, zero},
                                                                       {{"/bin/true"}, bigInput},
                                                                       {std::vector<std::string>(257, "x"), {}},
                                                                       {{"/bin/echo", std::string(70000, 'a')}, {}}}) {
        auto r = exec(uuid, argv, options);
        ASSERT_TRUE(r.outcome);
        EXPECT_EQ(r.code(), ErrorCode::InvalidArgument) << r.message();
    }
    EXPECT_EQ(hypervisor.calls("guestExec"), 0);
    EXPECT_TRUE(authorizer.requests.size() <= 2U) << "validation comes before authorization";
}

TEST_F(GuestCommandsTest, Exec_OnAnotherUsersVmNeedsManageAllVms)
{
    const std::string uuid = running(answering(0, ""));
    authorizer.denied[Action::ManageAllVms] = true;
    auto r = exec(uuid, {"/bin/true"}, {}, kBob);
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(authorizer.requests.back().action, Action::ManageAllVms);
    EXPECT_EQ(hypervisor.calls("guestExec"), 0);
}

TEST_F(GuestCommandsTest, Exec_ThatDoesNotEndBeforeItsTimeoutFailsTheJob)
{
    const std::string uuid = running(answering(0, "", "", 1000000));
    ExecOptions options;
    options.timeoutSec = 2;
    ASSERT_TRUE(exec(uuid, {"/bin/sleep", "100"}, options).ok());
    runJob(1);
    EXPECT_TRUE(log.completed.empty()) << "not before the timeout";
    runJob(5);
    ASSERT_EQ(log.completed.size(), 1U);
    EXPECT_FALSE(log.completed[0].first);
    EXPECT_NE(log.completed[0].second.find("timed out after 2 s"), std::string::npos) << log.completed[0].second;
}

TEST_F(GuestCommandsTest, Exec_CancelEndsTheJobAsCancelled)
{
    const std::string uuid = running(answering(0, "", "", 1000000));
    auto r = exec(uuid, {"/bin/sleep", "100"});
    ASSERT_TRUE(r.ok());
    Capture<std::monostate> cancelled;
    jobs.cancel(caller(kAlice), r.outcome->value(), cancelled.done());
    EXPECT_TRUE(cancelled.ok());
    runJob(3);
    ASSERT_EQ(log.completed.size(), 1U);
    EXPECT_FALSE(log.completed[0].first);
    EXPECT_NE(log.completed[0].second.find("cancelled"), std::string::npos);
}

TEST_F(GuestCommandsTest, AddUser_RunsTheScriptWithTheUserAsParametersAndRecordsIt)
{
    const std::string uuid = running(answering(0, ""));
    ProvisionedUser user;
    user.name = "deploy";
    user.sudo = true;
    user.sshAuthorizedKeys = {ed25519Key()};
    user.passwordHash = "$6$salt$abcdefghijklmnop";
    Capture<std::uint64_t> r;
    manager.addUser(caller(kAlice), uuid, user, r.done());
    runJob();
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(log.completed.size(), 1U);
    EXPECT_TRUE(log.completed[0].first) << log.completed[0].second;
    const auto command = hypervisor.guestCommands().at(0);
    ASSERT_EQ(command.argv.size(), 8U);
    EXPECT_EQ(command.argv[0], "/bin/sh");
    EXPECT_EQ((std::vector<std::string>(command.argv.begin() + 4, command.argv.end())),
              (std::vector<std::string>{"deploy", "", "1", "$6$salt$abcdefghijklmnop"}));
    EXPECT_EQ(command.input, ed25519Key() + "\n\n");
    EXPECT_EQ(inventory.find(uuid)->record.addedUsers, std::vector<std::string>{"deploy"});
    const auto stored = store.loadVms();
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].addedUsers, std::vector<std::string>{"deploy"});
    const auto event = lastEvent("add-user");
    ASSERT_TRUE(event);
    EXPECT_EQ(event->message.find("$6$"), std::string::npos) << "never the hash";
    EXPECT_EQ(event->message.find("AAAA"), std::string::npos) << "never the keys";
}

TEST_F(GuestCommandsTest, AddUser_BadUsersAreInvalidArgumentNamingTheField)
{
    const std::string uuid = running(answering(0, ""));
    auto attempt = [&](ProvisionedUser user) {
        Capture<std::uint64_t> r;
        manager.addUser(caller(kAlice), uuid, std::move(user), r.done());
        executor.drain();
        EXPECT_TRUE(r.outcome && !r.ok());
        return r.ok() ? std::string() : r.message();
    };
    EXPECT_NE(attempt({"Root;rm", {}, false, "", ""}).find("user.name: a Linux user name"), std::string::npos);
    EXPECT_NE(attempt({"bob", {"ssh-ed25519 notbase64!"}, false, "", ""})
                  .find("user.ssh_authorized_keys[0]: not an OpenSSH public key"),
              std::string::npos);
    EXPECT_NE(attempt({"bob", {"ssh-rsa " + base64Encode(std::string("\0\0\0\x0bssh-ed25519", 15))}, false, "", ""})
                  .find("user.ssh_authorized_keys[0]: not an OpenSSH public key"),
              std::string::npos);
    EXPECT_NE(attempt({"bob", {}, false, "hunter2", ""}).find("user.passwd: not a crypt(3) password hash"),
              std::string::npos);
    EXPECT_NE(attempt({"bob", {}, false, "", "bash"}).find("user.shell: an absolute path"), std::string::npos);
    EXPECT_EQ(hypervisor.calls("guestExec"), 0);
    EXPECT_TRUE(inventory.find(uuid)->record.addedUsers.empty());
}

TEST_F(GuestCommandsTest, InstallPackages_FailureEndsTheJobWithTheGuestsWordsAndRecordsNothing)
{
    const std::string uuid = running(
        answering(127, "", "no supported package manager (apt-get, dnf, zypper or apk) was found in the guest\n"));
    Capture<std::uint64_t> r;
    manager.installPackages(caller(kAlice), uuid, {"nginx", "libc6-dev"}, r.done());
    runJob();
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(log.completed.size(), 1U);
    EXPECT_FALSE(log.completed[0].first);
    EXPECT_EQ(log.completed[0].second, "install-packages failed in the guest (exit code 127): no supported package "
                                       "manager (apt-get, dnf, zypper or apk) was found in the guest");
    const auto argv = hypervisor.guestCommands().at(0).argv;
    EXPECT_EQ((std::vector<std::string>(argv.end() - 2, argv.end())), (std::vector<std::string>{"nginx", "libc6-dev"}));
    EXPECT_TRUE(inventory.find(uuid)->record.installedPackages.empty());
}

TEST_F(GuestCommandsTest, InstallPackages_SuccessRecordsThePackagesAndBadNamesAreRefused)
{
    const std::string uuid = running(answering(0, ""));
    for (const auto& bad : std::vector<std::vector<std::string>>{{}, {"-y"}, {"a b"}, {"../x"}}) {
        Capture<std::uint64_t> r;
        manager.installPackages(caller(kAlice), uuid, bad, r.done());
        executor.drain();
        ASSERT_TRUE(r.outcome);
        EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    }
    Capture<std::uint64_t> r;
    manager.installPackages(caller(kAlice), uuid, {"nginx"}, r.done());
    runJob();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(inventory.find(uuid)->record.installedPackages, std::vector<std::string>{"nginx"});
    EXPECT_EQ(store.loadVms().at(0).installedPackages, std::vector<std::string>{"nginx"});
}

TEST_F(GuestCommandsTest, AgentConnected_FollowsTheProbeAtStartTheEventsAndTheStop)
{
    const std::string uuid = create("box");
    hypervisor.setAgent(uuid, answering(0, ""));
    ASSERT_TRUE(call([&](auto d) { manager.start(caller(kAlice), uuid, d); }).ok());
    executor.drain();
    EXPECT_TRUE(inventory.find(uuid)->agentConnected);
    hypervisor.emit({HypervisorEvent::Kind::AgentChanged, uuid, DomainState::Running, false});
    EXPECT_FALSE(inventory.find(uuid)->agentConnected);
    hypervisor.emit({HypervisorEvent::Kind::AgentChanged, uuid, DomainState::Running, true});
    EXPECT_TRUE(inventory.find(uuid)->agentConnected);
    StopOptions force;
    force.force = true;
    ASSERT_TRUE(call([&](auto d) { manager.stop(caller(kAlice), uuid, force, d); }).ok());
    EXPECT_FALSE(inventory.find(uuid)->agentConnected);
}

TEST(GuestUserValidationTest, AcceptsWhatCloudInitUsersLookLike)
{
    ProvisionedUser user{"_svc-1", {ed25519Key()}, true, "$y$j9T$salt$hash", "/bin/bash"};
    EXPECT_NO_THROW(validateUser("user", user));
    EXPECT_NO_THROW(validatePackages("names", {"nginx", "g++", "python3.11", "perl-Test_Simple"}, 1));
    EXPECT_THROW(validateUserName("user name", "1abc"), Error);
    EXPECT_THROW(validateUserName("user name", std::string(33, 'a')), Error);
}

TEST(Base64Test, RoundTripsAndRefusesMalformedText)
{
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
        EXPECT_EQ(base64Decode(base64Encode(s)), s);
    EXPECT_EQ(base64Encode("hi\n"), "aGkK");
    EXPECT_FALSE(base64Decode("aGk"));
    EXPECT_FALSE(base64Decode("a=Gk"));
    EXPECT_FALSE(base64Decode("aG!K"));
}

} // namespace
} // namespace hangar
