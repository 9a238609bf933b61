// Quotas as a guest meets them: limits set by an admin (SetQuota) or by the [Quota] section of hangard.conf, checked
// and reserved atomically so that parallel creates from one guest cannot overshoot, the running limit checked on
// Start, and QuotaExceeded saying which limit, its value and the usage.
#include "PolkitFixture.h"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

class Quota : public PolkitFixture
{
protected:
    void setMaxVms(const TestUser& user, unsigned limit)
    {
        const CallResult set = manager(
            users.admin, "SetQuota", {std::to_string(user.uid), "{'max_vms': <uint32 " + std::to_string(limit) + ">}"});
        if (!set.ok())
            throw std::runtime_error("SetQuota as admin failed: " + set.describe());
    }

    // n CreateVM clients of user ("race-0", ...), each held at a gate until released.
    std::vector<std::unique_ptr<Process>> createClients(const TestUser& user, int n)
    {
        std::vector<std::unique_ptr<Process>> clients;
        for (int i = 0; i < n; ++i) {
            const std::string name = "race-" + std::to_string(i);
            const auto argv =
                gdbusCall(address(), kManagerPath, std::string(kManager) + ".CreateVM", {str(name), kNoOptions});
            clients.push_back(std::make_unique<Process>(asUser(user, behindGate(argv)), dir.path() + "/" + name, true));
        }
        return clients;
    }

    // Of the eight clients, three created a VM and five were told which limit they hit; guest1 owns three VMs and
    // GetQuota says so.
    void expectThreeCreatedFiveRefused(std::vector<std::unique_ptr<Process>>& clients)
    {
        int created = 0, refused = 0;
        for (auto& c : clients) {
            const auto exit = c->wait(30s);
            ASSERT_TRUE(exit.has_value()) << "a CreateVM did not return";
            const CallResult r = toCallResult(RunResult{*exit, c->out(), c->err()});
            if (r.ok()) {
                ++created;
                continue;
            }
            ++refused;
            EXPECT_EQ(r.errorName, kQuotaExceeded) << r.describe();
            EXPECT_THAT(r.errorMessage, HasSubstr("max_vms")) << r.describe();
            EXPECT_THAT(r.errorMessage, HasSubstr("3")) << r.describe();
        }
        EXPECT_EQ(created, 3);
        EXPECT_EQ(refused, 5);
        EXPECT_EQ(vmsOf(users.guest1).size(), 3u);

        const CallResult quota = manager(users.guest1, "GetQuota", {std::to_string(users.guest1.uid), kNoOptions});
        ASSERT_TRUE(quota.ok()) << quota.describe();
        EXPECT_EQ(quotaNumber(quota.out, "usage", "vms"), 3u) << quota.out;
        EXPECT_EQ(quotaNumber(quota.out, "limits", "max_vms"), 3u) << quota.out;
    }

    std::vector<VmRow> vmsOf(const TestUser& user)
    {
        std::vector<VmRow> out;
        for (const auto& v : root->allVms()) {
            if (v.owner == user.uid)
                out.push_back(v);
        }
        return out;
    }
};

TEST_F(Quota, ParallelCreatesFromOneGuestStopExactlyAtMaxVms)
{
    startAll();
    setMaxVms(users.guest1, 3);
    auto clients = createClients(users.guest1, 8);
    for (auto& c : clients)
        c->release();
    expectThreeCreatedFiveRefused(clients);
}

// The same race, held open: each create waits for guest1 to authenticate (a rule says AUTH_SELF), so all of them are
// inside hangard, past validation and waiting for polkit, at the same time. Then all are approved at once.
TEST_F(Quota, ParallelCreatesAllWaitingForAuthenticationStillStopAtMaxVms)
{
    RulesFile rules("10-hangar-test-create-needs-password.rules",
                    ruleFor(users.guest1, "org.hangar.hangar1.create-vm", "return polkit.Result.AUTH_SELF;"));
    startAll();
    setMaxVms(users.guest1, 3);
    AuthAgent agent(address());
    auto clients = createClients(users.guest1, 8);
    for (auto& c : clients)
        agent.registerForProcess(c->pid());
    for (auto& c : clients)
        c->release();
    // Every client is either waiting for authentication or (a daemon that reserves before it asks) already refused.
    auto finished = [&] {
        return std::count_if(clients.begin(), clients.end(), [](auto& c) { return !c->running(); });
    };
    ASSERT_TRUE(agent.serveUntil(
        [&] { return agent.pendingCount() + static_cast<std::size_t>(finished()) == clients.size(); }, 20s))
        << agent.pendingCount() << " waiting for authentication, " << finished() << " returned";
    const std::size_t held = agent.pendingCount();
    RecordProperty("held_in_authorization", static_cast<int>(held));
    EXPECT_GE(held, 3u);
    EXPECT_TRUE(vmsOf(users.guest1).empty()) << "a VM was created before its creator was authorized";

    agent.approveAll(users.guest1.uid);
    expectThreeCreatedFiveRefused(clients);
}

TEST_F(Quota, StartingBeyondMaxRunningIsQuotaExceededAndLeavesTheVmStopped)
{
    startAll();
    const std::string guest1 = std::to_string(users.guest1.uid);
    const CallResult set = manager(users.admin, "SetQuota", {guest1, "{'max_running': <uint32 1>}"});
    ASSERT_TRUE(set.ok()) << set.describe();
    const std::string first = createVm(users.guest1, "first");
    const std::string second = createVm(users.guest1, "second");

    const CallResult start1 = vm(users.guest1, first, "Start", {kNoOptions});
    ASSERT_TRUE(start1.ok()) << start1.describe();
    const CallResult start2 = vm(users.guest1, second, "Start", {kNoOptions});
    EXPECT_EQ(start2.errorName, kQuotaExceeded) << start2.describe();
    EXPECT_THAT(start2.errorMessage, HasSubstr("max_running"));
    EXPECT_THAT(start2.errorMessage, HasSubstr("1"));
    EXPECT_EQ(root->state(second), "stopped");
    EXPECT_EQ(root->runningVmCount(), 1u);

    const CallResult quota = manager(users.guest1, "GetQuota", {guest1, kNoOptions});
    ASSERT_TRUE(quota.ok()) << quota.describe();
    EXPECT_EQ(quotaNumber(quota.out, "usage", "running"), 1u) << quota.out;

    // Stopping the first frees the slot.
    ASSERT_TRUE(vm(users.guest1, first, "Stop", {"{'force': <true>}"}).ok());
    ASSERT_EQ(root->waitForState(first, "stopped"), "stopped");
    const CallResult again = vm(users.guest1, second, "Start", {kNoOptions});
    EXPECT_TRUE(again.ok()) << again.describe();
    EXPECT_EQ(root->waitForState(second, "running"), "running");
}

TEST_F(Quota, ConfigDefaultsLimitGuestsButNotAdmins)
{
    startAll(HangardOptions{false, "[Quota]\nmax_vms = 1\n"});
    createVm(users.guest2, "guest-only-one");
    const CallResult second = manager(users.guest2, "CreateVM", {str("guest-two"), kNoOptions});
    EXPECT_EQ(second.errorName, kQuotaExceeded) << second.describe();
    EXPECT_THAT(second.errorMessage, HasSubstr("max_vms"));
    EXPECT_FALSE(root->findVm("guest-two").has_value());

    const CallResult guestQuota = manager(users.guest2, "GetQuota", {std::to_string(users.guest2.uid), kNoOptions});
    ASSERT_TRUE(guestQuota.ok()) << guestQuota.describe();
    EXPECT_THAT(guestQuota.out, HasSubstr("'source': <'default'>"));
    EXPECT_EQ(quotaNumber(guestQuota.out, "limits", "max_vms"), 1u) << guestQuota.out;
    EXPECT_EQ(quotaNumber(guestQuota.out, "usage", "vms"), 1u) << guestQuota.out;

    createVm(users.admin, "admin-one");
    createVm(users.admin, "admin-two");
    const CallResult adminQuota = manager(users.admin, "GetQuota", {std::to_string(users.admin.uid), kNoOptions});
    ASSERT_TRUE(adminQuota.ok()) << adminQuota.describe();
    EXPECT_THAT(adminQuota.out, HasSubstr("'source': <'unlimited'>"));
    EXPECT_FALSE(quotaNumber(adminQuota.out, "limits", "max_vms").has_value()) << adminQuota.out;
}

} // namespace
} // namespace hangar::it::polkit
