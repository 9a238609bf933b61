// A dbus-daemon of a harness's own, on a socket in a directory of the run: started as a child process (Process.h),
// ready once a client can connect, stopped by PID when the object goes.
#pragma once

#include "Process.h"

#include <memory>
#include <string>

namespace hangar::support {

class PrivateBus
{
public:
    // A session-type bus on DIR/bus on which every connection may own any name and send (and eavesdrop) anything.
    // Only the bus's own uid may connect unless extraConfig, added to its <busconfig>, allows more (or sets <limit>s).
    explicit PrivateBus(const std::string& dir, const std::string& extraConfig = {});
    // A bus configured by configText, a whole <busconfig> that listens on socketPath.
    PrivateBus(const std::string& dir, const std::string& socketPath, const std::string& configText);

    const std::string& address() const { return m_address; }
    pid_t pid() const { return m_process->pid(); }
    // dbus-daemon's own output (DIR/dbus-daemon.log).
    std::string log() const;

private:
    std::string m_dir;
    std::string m_address;
    std::unique_ptr<Child> m_process;
};

} // namespace hangar::support
