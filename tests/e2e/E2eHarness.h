// The end-to-end harness: a libvirtd started by hand (QEMU driver, private sockets, no systemd, no virtlogd), the
// tiny guest built at test time (make-guest.sh), hangard against that libvirtd on a private dbus-daemon, and a D-Bus
// client that calls Hangar by method name (so the suite builds whatever the API looks like, and a method that has
// not landed fails its test at run time, clearly) and records every PropertiesChanged with the time it arrived.
//
// Everything runs inside tests/e2e/run-hermetic.sh's namespaces (the binary re-executes itself there): libvirt's
// directories and /etc are private copies, and every process the run starts dies with the namespace. Inside, every
// process is also stopped by PID when its object goes, QEMU included. Every wait has a deadline.
#pragma once

#include "../integration/Harness.h"

#include <atomic>
#include <chrono>
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
    std::unique_ptr<sdbus::IProxy> vmProxy(const std::string& path);

    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IProxy> m_manager;
    sdbus::Slot m_match;
    mutable std::mutex m_mutex;
    std::vector<Change> m_changes;
};

// Reads fd until text contains needle or the deadline passes; returns everything read.
std::string readUntil(int fd, const std::string& needle, std::chrono::milliseconds deadline);
// Reads exactly n bytes unless EOF or the deadline comes first.
std::string readN(int fd, std::size_t n, std::chrono::milliseconds deadline);
void writeAll(int fd, const std::string& data);

// Opens the pty of a running domain's serial console (virsh ttyconsole), raw; -1 when there is none.
int openDomainPty(const Libvirtd& libvirtd, const std::string& domain);

double secondsSince(Clock::time_point start);

} // namespace hangar::e2e
