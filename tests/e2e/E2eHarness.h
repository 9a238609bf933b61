// The end-to-end harness's pieces: a libvirtd started by hand (tests/support's PrivateLibvirtd: QEMU driver, private
// sockets, no systemd, no virtlogd), the tiny guest built at test time (make-guest.sh), hangard against that libvirtd
// with READY=1 awaited, and reading and writing a guest's console with deadlines. BusClient.h is the D-Bus client,
// E2eWorld.h puts them together once per run (World) and is what the tests of E2eTest.cpp and the image tests start
// from (E2eFixture).
//
// Everything runs inside tests/e2e/run-hermetic.sh's namespaces (the binary re-executes itself there): libvirt's
// directories and /etc are private copies, and every process the run starts dies with the namespace. Inside, every
// process is also stopped by PID when its object goes, QEMU included. Every wait has a deadline.
#pragma once

#include "../integration/Harness.h"
#include "support/PrivateLibvirtd.h"

#include <chrono>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::e2e {

using it::RunResult;
using Clock = std::chrono::steady_clock;
using Dict = std::map<std::string, sdbus::Variant>;
// A libvirtd of the run's own; see support/PrivateLibvirtd.h.
using Libvirtd = support::PrivateLibvirtd;

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
inline bool hermetic()
{
    return support::libvirtHermetic();
}

// Runs make-guest.sh into dir: dir/vmlinuz and dir/initrd.gz.
void buildGuest(const std::string& dir);

// hangard against uri on bus, with a config file (written next to stateDir) and READY=1 awaited; env is added to
// its environment (HANGAR_FAULT_POINT for the kill-point test).
class HangardProcess
{
public:
    HangardProcess(const std::string& bus, const std::string& uri, const std::string& stateDir,
                   const std::string& configText, const std::string& logPath,
                   const std::map<std::string, std::string>& env = {});
    ~HangardProcess();
    int stop();
    // SIGKILL: what a crash looks like to libvirtd and to the state directory.
    int kill();
    bool running() { return m_process->running(); }
    std::string log() const { return it::readFile(m_logPath); }

private:
    std::string m_logPath;
    std::unique_ptr<it::Child> m_process;
};

// Reads fd until text contains needle or the deadline passes; returns everything read.
std::string readUntil(int fd, const std::string& needle, std::chrono::milliseconds deadline);
// Reads exactly n bytes unless EOF or the deadline comes first.
std::string readN(int fd, std::size_t n, std::chrono::milliseconds deadline);
void writeAll(int fd, const std::string& data);

// Opens the pty of a running domain's serial console (virsh ttyconsole), raw; -1 when there is none.
int openDomainPty(const Libvirtd& libvirtd, const std::string& domain);

double secondsSince(Clock::time_point start);
// The last maxChars of text, for messages.
std::string tail(const std::string& text, std::size_t maxChars = 4000);

} // namespace hangar::e2e
