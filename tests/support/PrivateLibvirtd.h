// A libvirtd of a harness's own (the end-to-end suite's and hangar-bench-images'): the QEMU driver as
// qemu:///system on a socket in a directory of the run, no authentication on it, QEMU as root without a security
// driver, virtlogd, cgroups or per-domain /dev namespaces. It is only started inside tests/e2e/run-hermetic.sh's
// namespaces, where /etc, /etc/libvirt, /run/libvirt and /var/lib/libvirt are private copies: the host's libvirt is
// never touched. Two cannot run in one namespace (they would share /run/libvirt).
#pragma once

#include "Process.h"

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::support {

// True inside run-hermetic.sh's namespaces (its copy of /etc carries a marker).
bool libvirtHermetic();

// libvirtd.conf in dir (unix_sock_dir = dir, auth none, logs in dir), /etc/libvirt/qemu.conf (root, no security
// driver, no virtlogd, no cgroups, no per-domain /dev namespace), the libvirt-qemu user and group created if missing.
// The constructor returns once `virsh version` answers on its socket (up to 90 s: the first start probes QEMU); the
// destructor destroys every domain, kills every QEMU by PID and stops libvirtd by PID, whatever happened before.
class PrivateLibvirtd
{
public:
    explicit PrivateLibvirtd(const std::string& dir);
    ~PrivateLibvirtd();
    PrivateLibvirtd(const PrivateLibvirtd&) = delete;
    PrivateLibvirtd& operator=(const PrivateLibvirtd&) = delete;

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
    // From starting libvirtd to its first answer.
    Clock::duration startup() const { return m_startup; }
    // libvirtd's own PID (e.g. to hold it still with SIGSTOP for a moment); -1 once stopped.
    pid_t pid() const { return m_process ? m_process->pid() : -1; }
    // The hypervisor going away: SIGKILL to libvirtd alone, by PID (the QEMUs it started run in sessions of their
    // own and live on, as when a real libvirtd crashes); restart() starts it again on the same configuration and
    // state, where it finds the surviving QEMUs again, and returns once it answers (startup() is then that start's).
    void killDaemon();
    void restart();
    void stop();

private:
    void launch();

    std::string m_dir;
    std::string m_uri;
    std::unique_ptr<Child> m_process;
    Clock::duration m_startup{};
};

} // namespace hangar::support
