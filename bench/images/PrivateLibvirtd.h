// A libvirtd of the benchmark's own, started the way the end-to-end suite starts one (tests/e2e/E2eHarness.cpp):
// the QEMU driver as qemu:///system on a socket in a directory of the run, no authentication on it, QEMU as root
// without a security driver or cgroups. It is only started inside tests/e2e/run-hermetic.sh's namespaces, where
// /etc, /etc/libvirt, /run/libvirt and /var/lib/libvirt are private: the host's libvirt is never touched. The
// process is tracked by PID (bench/Process.h) and stopped by PID when the object goes or the driver is interrupted.
#pragma once

#include "Process.h"

#include <memory>
#include <string>

namespace hangar::bench::images {

// True inside run-hermetic.sh's namespaces (its copy of /etc carries a marker).
bool hermetic();

class PrivateLibvirtd
{
public:
    // Returns once a connection to the new libvirtd succeeds (up to 90 s: the first start probes QEMU).
    explicit PrivateLibvirtd(const std::string& dir);
    ~PrivateLibvirtd();
    PrivateLibvirtd(const PrivateLibvirtd&) = delete;
    PrivateLibvirtd& operator=(const PrivateLibvirtd&) = delete;

    // qemu:///system?socket=DIR/libvirt-sock
    const std::string& uri() const { return m_uri; }
    Clock::duration startup() const { return m_startup; }
    std::string log() const;

private:
    std::string m_dir;
    std::string m_uri;
    std::unique_ptr<Child> m_process;
    Clock::duration m_startup{};
};

} // namespace hangar::bench::images
