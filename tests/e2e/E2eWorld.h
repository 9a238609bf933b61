// The world of an end-to-end run (the guest's files, a libvirtd, a private bus, hangard and a client), built once on
// first use and shared by E2eTest.cpp and the image tests (ImageE2eFixture.h), and E2eFixture, what their tests start
// from: booting guests, running hangarctl, finding the pool, and deleting what a test made whatever happened.
#pragma once

#include "BusClient.h"
#include "E2eHarness.h"

#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hangar::e2e {

// The whole world of a run, built on first use and shared by every test of E2eTest.cpp and the image tests:
// the guest's files, a libvirtd, a private bus, hangard (config: stats every second, [Guest] boot_dir, the storage
// pool at its default place) and a client on that bus.
struct World
{
    it::TempDir root;
    std::string bootDir = root.path() + "/boot";
    std::string stateDir = root.path() + "/state/hangar";
    std::unique_ptr<Libvirtd> libvirtd;
    std::unique_ptr<it::PrivateBus> bus;
    std::unique_ptr<HangardProcess> hangard;
    std::unique_ptr<BusClient> client;
    std::optional<std::string> sharedVm; // path of the VM the read-only tests share, once booted
    std::string sharedVmError;
    double guestBuildSeconds = 0;

    World();
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    // hangarctl (--no-ask-password) against this hangard, to completion or until timeout.
    RunResult hangarctl(const std::vector<std::string>& args,
                        std::chrono::seconds timeout = std::chrono::seconds(120)) const;
    std::vector<std::string> hangarctlArgv(const std::vector<std::string>& args) const;
    // The directory of hangard's pool, as libvirt says (pool-dumpxml), and the files in it now.
    std::string poolDir();
    std::vector<std::string> poolFiles();
    // Kills hangard (SIGKILL) and starts it again on the same state directory, READY=1 awaited: its start-up
    // recovery runs. Its log is then in hangard-restart-<n>.log.
    void restartHangard();
    // The two halves of restartHangard, for a test that lets time pass while hangard is down.
    void killHangard();
    void startHangard(const std::map<std::string, std::string>& env = {});
    // The log of the hangard started last.
    std::string hangardLogPath() const;

private:
    std::string m_poolDir;
    std::string m_hangardConfig;
    int m_restarts = 0;
};

// The world, built on the first call; nullptr when it could not be (worldError() says why).
World* world();
const std::string& worldError();
// The world if it was built, without building it; and its end (hangard, then libvirtd with every QEMU).
World* builtWorld();
void endWorld();

// What every end-to-end test starts from: the world (a test fails with the reason when there is none), and the VMs
// the test made deleted (force) in TearDown whatever happened.
class E2eFixture : public ::testing::Test
{
protected:
    static constexpr std::uint64_t kGuestMemoryMiB = 128;
    static constexpr std::chrono::seconds kBootDeadline{60};   // Start -> State running (~1 s under TCG)
    static constexpr std::chrono::seconds kMarkerDeadline{60}; // Start -> first marker on the console (~6 s)

    void SetUp() override;
    void TearDown() override;

    BusClient& client() { return *m_world->client; }
    Libvirtd& libvirtd() { return *m_world->libvirtd; }

    // A VM spec for the tiny guest: direct kernel boot, 1 vCPU, 128 MiB, a 1 GiB disk.
    static Dict guestSpec(const std::string& extraCmdline = {});
    std::string domainOf(const std::string& path);
    // hangard's log and, with a domain, QEMU's log of it: what a failed step leaves to look at.
    std::string diagnostics(const std::string& domain = {});
    // CreateVM (owned by the test: deleted in TearDown), throwing with the reason.
    std::string createVm(const std::string& name, const Dict& spec);
    // A VM the test made by other means (hangarctl, Clone): deleted in TearDown too.
    void own(const std::string& path) { m_ownVms.push_back(path); }
    // CreateVM + Start, then waits for State "running" (PropertiesChanged). Throws with the reason.
    std::string bootVm(const std::string& name, const Dict& spec, bool own = true);
    // The VM the read-only tests share: booted once, deleted with the world.
    std::string sharedVm();
    // VM.Exec of argv in the guest (through its QEMU guest agent); the Job's path.
    std::string exec(const std::string& path, const std::vector<std::string>& argv);
    // Waits until the guest prints its marker on its pty (read directly, not through Hangar).
    void waitGuestUp(const std::string& path);

    World* m_world = nullptr;
    std::vector<std::string> m_ownVms;
};

} // namespace hangar::e2e
