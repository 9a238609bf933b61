// The bus fuzzer through the real polkitd (tests/integration/polkit's harness, inside run-hermetic.sh): hangard runs
// as the service user hangar with the polkit authorizer on a private system bus with Hangar's bus policy; root
// first makes objects of its own (a running VM, a stopped VM with a snapshot, an image); then the fuzzer runs as a
// real Unix user, a guest (group hangar) or an administrator (group hangar-admin), in a process of that user's.
// Besides the fuzzer's own checks: the daemon is still on the bus, and a guest left root's objects as they were.
#include "Fuzzer.h"
#include "polkit/PolkitFixture.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <unistd.h>

namespace hangar::fuzz {
namespace {

using namespace it::polkit;

enum class Role
{
    Guest,
    Admin,
};

std::string roleName(const ::testing::TestParamInfo<Role>& info)
{
    return info.param == Role::Guest ? "AsGuest" : "AsAdmin";
}

class PolkitFuzz : public PolkitFixture, public ::testing::WithParamInterface<Role>
{
};

TEST_P(PolkitFuzz, EveryMethodAsARealUser_DaemonStaysUpErrorsAreOursAndRefusalsChangeNothing)
{
    startAll(HangardOptions{true, {}});
    const TestUser& user = GetParam() == Role::Guest ? users.guest1 : users.admin;

    // Root's objects: what a guest must not be able to touch.
    const std::string running = createVm(users.root, "root-running");
    arrange(running, "Start");
    const std::string stopped = createVm(users.root, "root-stopped");
    arrange(stopped, "CreateSnapshot", {str("snap"), kNoOptions});
    ASSERT_TRUE(vm(users.root, stopped, "Publish", {str("root-image"), kNoOptions}).ok());

    const FuzzConfig config = configFromEnvironment(30);
    const std::string scratch = dir.path() + "/scratch-" + user.name;
    std::filesystem::create_directories(scratch);
    ASSERT_EQ(chown(scratch.c_str(), user.uid, user.gid), 0);
    std::string known;
    for (const auto& k : config.knownFindings)
        known += (known.empty() ? "" : ",") + k;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::vector<std::string> argv = asUser(
        user, {self, "--fuzz-worker", "--bus=" + address(), "--seed=" + std::to_string(config.seed),
               "--budget-ms=" + std::to_string(config.budget.count()), "--max-calls=" + std::to_string(config.maxCalls),
               "--call-timeout-ms=" + std::to_string(config.callTimeout.count()),
               "--dbus-dir=" HANGAR_SOURCE_DIR "/dbus", "--scratch=" + scratch, "--prefix=" + user.name.substr(4),
               "--known=" + (known.empty() ? std::string("none") : known)});
    RecordProperty("seed", std::to_string(config.seed));
    const auto limit = std::chrono::duration_cast<std::chrono::seconds>(config.budget) + std::chrono::seconds(120);
    const it::RunResult r = it::run(argv, {}, limit);
    std::cout << "---- fuzzer as " << user.name << " (uid " << user.uid << ") ----\n" << r.out;

    EXPECT_EQ(r.exitCode, 0) << "the fuzzer found something or could not run (replay with HANGAR_FUZZ_SEED="
                             << config.seed << "); its log:\n"
                             << r.err.substr(r.err.size() > 20000 ? r.err.size() - 20000 : 0);
    EXPECT_TRUE(root->nameHasOwner(kService)) << "hangard left the bus";
    if (GetParam() == Role::Guest) {
        EXPECT_EQ(root->state(running), "running") << "a guest changed root's VM";
        EXPECT_TRUE(root->objectExists(stopped)) << "a guest deleted root's VM";
        EXPECT_EQ(root->name(stopped), "root-stopped");
        EXPECT_EQ(root->owner(stopped), 0U);
    }
}

INSTANTIATE_TEST_SUITE_P(Roles, PolkitFuzz, ::testing::Values(Role::Guest, Role::Admin), roleName);

} // namespace
} // namespace hangar::fuzz
