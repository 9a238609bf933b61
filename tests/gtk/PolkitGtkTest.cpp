// hangar-gtk run as a real Unix user in group hangar, against hangard under the real polkitd: the world of the
// authorization tests (tests/integration/polkit: private system bus, polkitd with Hangar's policy and rules, real
// users; PolkitFixture), with the window driven by tests/gtk/test_polkit.py, which this test runs as that user
// under dbus-run-session (its own session and accessibility buses, its own Xvfb). Needs root inside
// tests/integration/polkit/run-hermetic.sh (ctest runs it so); skipped (77) otherwise, a failure when CI=true.
#include "../integration/polkit/PolkitFixture.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iostream>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::it::polkit {
namespace {

class GtkPolkit : public PolkitFixture
{
};

// The script and this test meet through files in the shots directory: the script writes app.pid once the refusal
// was shown (no agent then: polkitd would ask an agent for an administrator's password for another user's VM), this
// test registers the agent for that PID and writes agent-ready; when polkitd asks the agent, this test
// writes asked and waits for the script's approve (written after it saw the window wait), then approves.
bool waitForFile(const std::string& path, std::chrono::seconds deadline)
{
    return support::waitFor([&] { return std::filesystem::exists(path); }, deadline);
}

void writeFile(const std::string& path, const std::string& text)
{
    std::ofstream(path) << text;
}

TEST_F(GtkPolkit, RefusalIsShownAndOwnVmStartsAfterAuthentication)
{
    // guest1 must authenticate to manage their own VMs: the Start waits for the agent, which only happens when the
    // call allows interactive authorization and auth.no_user_interaction is not passed.
    RulesFile rules("10-hangar-test-gtk.rules",
                    ruleFor(users.guest1, "org.hangar.hangar1.manage-own-vms", "return polkit.Result.AUTH_SELF;"));
    startAll();
    createVm(users.guest2, "other-vm");
    createVm(users.guest1, "own-vm");
    // The user's home and screenshots live in the run's directory; the screenshots are copied to the build's.
    const std::string home = dir.path() + "/home", shots = dir.path() + "/shots";
    for (const auto& d : {home, shots}) {
        std::filesystem::create_directory(d);
        ASSERT_EQ(chown(d.c_str(), users.guest1.uid, users.guest1.gid), 0);
    }
    ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
    // asUser() resets the environment: what the script needs is passed back explicitly.
    Process run(
        asUser(users.guest1, {"/usr/bin/env", "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + home, "HOME=" + home,
                              "/usr/bin/dbus-run-session", "--", "/usr/bin/python3", HANGAR_GTK_TESTS "/test_polkit.py",
                              hangarctlBinary(), HANGAR_GTK_APP, shots, address()}),
        dir.path() + "/test_polkit");
    auto agent = std::make_unique<AuthAgent>(address());
    const bool appUp = waitForFile(shots + "/app.pid", std::chrono::seconds(60));
    if (appUp) {
        std::ifstream pidFile(shots + "/app.pid");
        pid_t appPid = 0;
        pidFile >> appPid;
        agent->registerForProcess(appPid);
        writeFile(shots + "/agent-ready", "");
        if (agent->waitForRequests(1, std::chrono::seconds(60))) {
            EXPECT_EQ(agent->requestedAction(), "org.hangar.hangar1.manage-own-vms");
            writeFile(shots + "/asked", "");
            EXPECT_TRUE(waitForFile(shots + "/approve", std::chrono::seconds(30)));
            agent->approveAll(users.guest1.uid);
        } else {
            ADD_FAILURE() << "polkitd never asked the agent about the app's Start";
        }
        // Gone before the Images refusal: polkitd would ask it for an administrator's password otherwise.
        agent.reset();
        writeFile(shots + "/agent-gone", "");
    }
    const auto status = run.wait(std::chrono::seconds(120));
    std::cerr << "---- test_polkit.py (as " << users.guest1.name << ") ----\n" << run.out() << run.err();
    for (const auto& shot : std::filesystem::directory_iterator(shots))
        if (shot.path().extension() == ".png")
            std::filesystem::copy_file(shot.path(),
                                       std::string(HANGAR_GTK_SHOTS) + "/" + shot.path().filename().string(),
                                       std::filesystem::copy_options::overwrite_existing);
    ASSERT_TRUE(appUp) << "the window did not come up";
    ASSERT_TRUE(status.has_value()) << "test_polkit.py did not finish within 120 s";
    EXPECT_EQ(*status, 0);
}

} // namespace
} // namespace hangar::it::polkit

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    if (geteuid() != 0 || !hangar::it::polkit::hermeticProblem().empty()) {
        std::cerr << "skipped: needs root inside tests/integration/polkit/run-hermetic.sh\n";
        const char* ci = std::getenv("CI");
        return ci && std::string(ci) == "true" ? 1 : 77;
    }
    std::filesystem::create_directories(HANGAR_GTK_SHOTS);
    return RUN_ALL_TESTS();
}
