// The end-to-end harness: a libvirtd started by hand (QEMU driver, private sockets, no systemd, no virtlogd), the
// tiny guest built at test time (make-guest.sh), hangard against that libvirtd on a private dbus-daemon, and a D-Bus
// client that calls Hangar by method name (so the suite builds whatever the API looks like, and a method that has
// not landed fails its test at run time, clearly) and records every PropertiesChanged of a VM's State and every
// Job's Completed with the time it arrived. World puts them together once per run for E2eTest.cpp and
// ImageE2eTest.cpp; E2eFixture is what their tests start from (booting guests, running hangarctl, finding the pool).
//
// Everything runs inside tests/e2e/run-hermetic.sh's namespaces (the binary re-executes itself there): libvirt's
// directories and /etc are private copies, and every process the run starts dies with the namespace. Inside, every
// process is also stopped by PID when its object goes, QEMU included. Every wait has a deadline.
#pragma once

#include "../integration/Harness.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::e2e {

using it::RunResult;
using Clock = std::chrono::steady_clock;
using Dict = std::map<std::string, sdbus::Variant>;

inline constexpr const char* kBusName = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kManagerIface = "org.hangar.Hangar1.Manager";
inline constexpr const char* kVmIface = "org.hangar.Hangar1.VM";
inline constexpr const char* kImageIface = "org.hangar.Hangar1.Image";
inline constexpr const char* kJobIface = "org.hangar.Hangar1.Job";
inline constexpr const char* kErrorPrefix = "org.hangar.Hangar1.Error.";
// hangard's storage pool: the default name ([Storage] pool), at the default place (<state dir>/pool).
inline constexpr const char* kPoolName = "hangar";
// What the guest prints on ttyS0 once a second, and what it answers to a line typed there.
inline constexpr const char* kGuestMarker = "HANGAR-E2E-GUEST-UP";
inline constexpr const char* kGuestEcho = "HANGAR-E2E-ECHO";
// On the guest's kernel command line: its /init then ignores the ACPI power button (for Stop's timeout).
inline constexpr const char* kIgnorePowerButton = "hangar_e2e_ignore_power_button";

// True inside run-hermetic.sh's namespaces (its copy of /etc carries a marker).
bool hermetic();

// Runs make-guest.sh into dir: dir/vmlinuz and dir/initrd.gz.
void buildGuest(const std::string& dir);

// A libvirtd of its own: libvirtd.conf in dir (unix_sock_dir = dir, auth none, logs in dir), /etc/libvirt/qemu.conf
// (root, no security driver, no virtlogd, no cgroups, no per-domain /dev namespace; only in the hermetic /etc),
// the libvirt-qemu user and group created if missing (hermetic /etc only). The constructor returns once
// `virsh version` answers on its socket; the destructor destroys every domain, kills every QEMU by PID and stops
// libvirtd by PID, whatever happened before.
class Libvirtd
{
public:
    explicit Libvirtd(const std::string& dir);
    ~Libvirtd();
    Libvirtd(const Libvirtd&) = delete;
    Libvirtd& operator=(const Libvirtd&) = delete;

    // qemu:///system?socket=DIR/libvirt-sock
    const std::string& uri() const { return m_uri; }
    RunResult virsh(const std::vector<std::string>& args,
                    std::chrono::seconds timeout = std::chrono::seconds(20)) const;
    // Names of the domains, all or only the active ones.
    std::vector<std::string> domains(bool all) const;
    // QEMU's own log of a domain (/var/log/libvirt/qemu/NAME.log) and libvirtd's log.
    std::string qemuLog(const std::string& domain) const;
    std::string log() const;
    // Every QEMU process there is (this PID namespace is the run's own) and those in libvirt's pid files.
    std::vector<pid_t> qemuPids() const;
    double startSeconds() const { return m_startSeconds; }
    // libvirtd's own PID (e.g. to hold it still with SIGSTOP for a moment); -1 once stopped.
    pid_t pid() const { return m_process ? m_process->pid() : -1; }
    void stop();

private:
    std::string m_dir;
    std::string m_uri;
    std::unique_ptr<it::Child> m_process;
    double m_startSeconds = 0;
};

// hangard against uri on bus, with a config file (written next to stateDir) and READY=1 awaited.
class HangardProcess
{
public:
    HangardProcess(const std::string& bus, const std::string& uri, const std::string& stateDir,
                   const std::string& configText, const std::string& logPath);
    ~HangardProcess();
    int stop();
    bool running() { return m_process->running(); }
    std::string log() const { return it::readFile(m_logPath); }

private:
    std::string m_logPath;
    std::unique_ptr<it::Child> m_process;
};

// A D-Bus failure as "Name: message".
std::string describe(const sdbus::Error& e);

// How a Job ended: its Completed signal.
struct JobEnd
{
    bool success = false;
    std::string message;
};

class BusClient
{
public:
    explicit BusClient(const std::string& address);
    ~BusClient();
    BusClient(const BusClient&) = delete;
    BusClient& operator=(const BusClient&) = delete;

    sdbus::ObjectPath createVm(const std::string& name, const Dict& spec);
    // A VM method taking only an options dictionary (Start, Stop, Delete, ...).
    void vmCall(const std::string& path, const std::string& method, const Dict& options = {},
                std::chrono::seconds timeout = std::chrono::seconds(120));
    Dict getStats(const std::string& path);
    std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> getAllStats();
    // One end of the guest's serial console / a socket connected to its VNC server; the caller closes it.
    int openConsole(const std::string& path, const Dict& options = {});
    int openGraphics(const std::string& path, const Dict& options = {});
    sdbus::Variant vmProperty(const std::string& path, const std::string& name);
    std::string state(const std::string& path);
    // GetVM; nullopt when the daemon answers NotFound.
    std::optional<std::string> findVm(const std::string& name);

    // Manager.ImportImage with (a duplicate of) fd; returns the Job's path. fd stays the caller's.
    sdbus::ObjectPath importImage(const std::string& name, int fd, const Dict& options = {});
    // GetImage; nullopt when the daemon answers NotFound.
    std::optional<std::string> findImage(const std::string& name);
    sdbus::Variant imageProperty(const std::string& path, const std::string& name);
    void cancelJob(const std::string& path);
    // The Completed of the job at path (recorded from the start, so it cannot be missed), waiting up to deadline.
    std::optional<JobEnd> waitCompleted(const std::string& path, std::chrono::milliseconds deadline);
    // A proxy for any of the daemon's objects, for calls the helpers above do not cover.
    std::unique_ptr<sdbus::IProxy> proxy(const std::string& path);

    // Every State seen in PropertiesChanged, in order of arrival. mark() is the count so far: wait for what comes
    // after it.
    std::size_t mark() const;
    // The arrival time of the first State == state for path after mark, waiting up to deadline.
    std::optional<Clock::time_point> waitState(const std::string& path, const std::string& state, std::size_t mark,
                                               std::chrono::milliseconds deadline);
    // The States of path seen after mark, for messages.
    std::string statesSince(const std::string& path, std::size_t mark) const;

private:
    struct Change
    {
        std::string path;
        std::string state;
        Clock::time_point at;
    };
    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IProxy> m_manager;
    sdbus::Slot m_match;
    sdbus::Slot m_completedMatch;
    mutable std::mutex m_mutex;
    std::vector<Change> m_changes;
    std::map<std::string, JobEnd> m_completed;
};

// Reads fd until text contains needle or the deadline passes; returns everything read.
std::string readUntil(int fd, const std::string& needle, std::chrono::milliseconds deadline);
// Reads exactly n bytes unless EOF or the deadline comes first.
std::string readN(int fd, std::size_t n, std::chrono::milliseconds deadline);
void writeAll(int fd, const std::string& data);

// Opens the pty of a running domain's serial console (virsh ttyconsole), raw; -1 when there is none.
int openDomainPty(const Libvirtd& libvirtd, const std::string& domain);

double secondsSince(Clock::time_point start);

// The whole world of a run, built on first use and shared by every test of E2eTest.cpp and ImageE2eTest.cpp:
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

private:
    std::string m_poolDir;
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
    // Waits until the guest prints its marker on its pty (read directly, not through Hangar).
    void waitGuestUp(const std::string& path);

    World* m_world = nullptr;
    std::vector<std::string> m_ownVms;
};

} // namespace hangar::e2e
