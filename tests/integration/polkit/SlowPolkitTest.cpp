// hangard asks polkit asynchronously: while one caller's authorization is pending, every other client is served.
//
// Two ways of keeping one authorization pending, both ended by the test itself (no timing assumptions):
//   - interactive authentication: a rule answers AUTH_SELF for one guest, and an authentication agent that the test
//     registered for that guest's client holds the request until the test approves it. polkitd itself stays free,
//     so other guests' state changes (which need polkit too) must complete meanwhile;
//   - a rule that runs a program (polkit.spawn) which waits for a file. Duktape's polkitd evaluates rules on its main
//     thread, so this stalls polkitd for everyone (checked on Debian 12's polkitd 122): only reads, which need no
//     authorization, can complete meanwhile — and must.
// "Meanwhile" is asserted as ordering: the other calls returned while the held call's client was still running.
#include "PolkitFixture.h"

#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

class SlowPolkit : public PolkitFixture
{
};

TEST_F(SlowPolkit, WhileOneGuestAuthenticates_OtherGuestsReadsAndStateChangesComplete)
{
    RulesFile rules("10-hangar-test-interactive.rules",
                    ruleFor(users.guest2, "org.hangar.hangar1.manage-own-vms", "return polkit.Result.AUTH_SELF;"));
    startAll();
    const std::string slowVm = createVm(users.guest2, "needs-password");
    const std::string otherVm = createVm(users.guest1, "other");

    AuthAgent agent(address());
    auto slow = std::make_unique<Process>(
        asUser(users.guest2, behindGate(gdbusCall(address(), slowVm, std::string(kVm) + ".Start", {kNoOptions}))),
        dir.path() + "/slow-start", true);
    agent.registerForProcess(slow->pid());
    slow->release();
    ASSERT_TRUE(agent.waitForRequests(1, 15s))
        << "polkitd never asked the agent; the Start returned: " << (slow->running() ? "no" : "yes: " + slow->err());
    EXPECT_EQ(agent.requestedAction(), "org.hangar.hangar1.manage-own-vms");
    // polkitd tells the agent which process it asks about: hangard asked about its caller, not about itself.
    const auto subjectPid = agent.requestDetails().find("polkit.subject-pid");
    ASSERT_NE(subjectPid, agent.requestDetails().end());
    EXPECT_EQ(subjectPid->second, std::to_string(slow->pid()));

    // guest2's Start now waits for the password. Everyone else goes on.
    const CallResult get = manager(users.guest1, "GetVM", {str("other")});
    EXPECT_TRUE(get.ok()) << get.describe();
    const CallResult list = manager(users.guest1, "ListVMs", {kNoOptions});
    EXPECT_TRUE(list.ok()) << list.describe();
    const CallResult created = manager(users.guest1, "CreateVM", {str("made-meanwhile"), kNoOptions});
    EXPECT_TRUE(created.ok()) << created.describe();
    const CallResult started = vm(users.guest1, otherVm, "Start", {kNoOptions});
    EXPECT_TRUE(started.ok()) << started.describe();
    const CallResult adminCall = vm(users.admin, otherVm, "Pause", {kNoOptions});
    EXPECT_TRUE(adminCall.ok()) << adminCall.describe();
    ASSERT_TRUE(slow->running()) << "the held Start returned before the agent answered: " << slow->out() << slow->err();
    EXPECT_EQ(root->state(slowVm), "stopped") << "the Start ran before it was authorized";

    agent.approveAll(users.guest2.uid);
    const auto exit = slow->wait(15s);
    ASSERT_TRUE(exit.has_value()) << "the Start did not return after authentication";
    EXPECT_EQ(*exit, 0) << slow->err();
    EXPECT_EQ(root->waitForState(slowVm, "running"), "running");
}

TEST_F(SlowPolkit, WhileARuleKeepsPolkitdBusy_ReadsOfOtherClientsComplete)
{
    const std::string gate = dir.path() + "/gate";
    std::filesystem::create_directories(gate);
    const passwd* polkitdUser = getpwnam("polkitd");
    ASSERT_NE(polkitdUser, nullptr);
    ASSERT_EQ(chown(gate.c_str(), polkitdUser->pw_uid, polkitdUser->pw_gid), 0);
    // The program signals that polkitd is inside the rule, then waits (bounded, below polkit.spawn's own limit)
    // until the test creates "release".
    const std::string program = "touch " + gate + "/started; i=0; while [ ! -e " + gate +
                                "/release ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i+1)); done";
    RulesFile rules("10-hangar-test-busy.rules", ruleFor(users.guest1, "org.hangar.hangar1.manage-own-vms",
                                                         "polkit.spawn([\"/bin/sh\", \"-c\", \"" + program +
                                                             "\"]);\n        return polkit.Result.YES;"));
    startAll();
    const std::string busyVm = createVm(users.guest1, "busy");
    createVm(users.guest2, "mine");

    Process slow(asUser(users.guest1, gdbusCall(address(), busyVm, std::string(kVm) + ".Start", {kNoOptions})),
                 dir.path() + "/busy-start");
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(gate + "/started") || !slow.running(); }, 15s));
    ASSERT_TRUE(std::filesystem::exists(gate + "/started")) << "the Start returned early: " << slow.err();

    for (const TestUser* reader : {&users.guest2, &users.outsider, &users.admin}) {
        const CallResult get = manager(*reader, "GetVM", {str("busy")});
        EXPECT_TRUE(get.ok()) << reader->name << ": " << get.describe();
        const CallResult list = manager(*reader, "ListVMs", {"{'all': <true>}"});
        EXPECT_TRUE(list.ok()) << reader->name << ": " << list.describe();
        const CallResult prop = call(*reader, busyVm, "org.freedesktop.DBus.Properties.Get", {str(kVm), str("State")});
        EXPECT_TRUE(prop.ok()) << reader->name << ": " << prop.describe();
        EXPECT_THAT(prop.out, HasSubstr("'stopped'"));
    }
    EXPECT_EQ(root->vmCount(), 2u);
    ASSERT_TRUE(slow.running()) << "the Start returned while polkitd was still inside the rule: " << slow.err();

    std::ofstream(gate + "/release") << "";
    const auto exit = slow.wait(15s);
    ASSERT_TRUE(exit.has_value()) << "the Start did not return once the rule finished";
    EXPECT_EQ(*exit, 0) << slow.err();
    EXPECT_EQ(root->waitForState(busyVm, "running"), "running");
}

} // namespace
} // namespace hangar::it::polkit
