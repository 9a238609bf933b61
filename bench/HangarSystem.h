// Hangar as the benchmark sees it: a private dbus-daemon and hangard on it (libvirt's test driver, a store in a
// temp directory, the authorizer it ships for session mode: allow-all), driven through its D-Bus API only.
#pragma once

#include "Bus.h"
#include "System.h"

#include <map>

namespace hangar::bench {

class HangarSystem final : public System
{
public:
    // Starts the bus and hangard on an empty store under dir.
    HangarSystem(std::string hangard, const std::string& dir);
    ~HangarSystem() override;

    std::string name() const override { return "Hangar"; }
    bool populate(std::size_t n, Clock::time_point deadline) override;
    std::size_t size() const override { return m_paths.size(); }
    std::vector<VmInfo> readInventory() override;
    std::unique_ptr<Client> connect() override;
    std::unique_ptr<Watcher> watch() override;
    std::optional<pid_t> daemonPid() const override { return m_daemon->pid(); }
    std::optional<std::string> busAddress() const override { return m_bus.address(); }
    std::optional<std::string> daemonBusName() const override { return std::string("org.hangar.Hangar1"); }

    // Time from fork to READY=1 of the last start.
    Clock::duration lastStartup() const { return m_lastStartup; }
    // Stops hangard (SIGTERM) and starts it again on the same store; returns the time to READY=1.
    Clock::duration restart(const std::string& authorizer = "allow-all");
    // The real polkitd on this bus (for restart("polkit")); returns once it owns its name.
    void startPolkitd(const std::string& polkitd);
    std::string log() const;

private:
    void startDaemon(const std::string& authorizer);

    std::string m_hangard, m_dir;
    PrivateBus m_bus;
    std::unique_ptr<Child> m_polkitd;
    std::unique_ptr<Child> m_daemon;
    std::unique_ptr<Bus> m_client;
    std::vector<std::string> m_paths;
    Clock::duration m_lastStartup{};
};

// The scenario of the unprivileged client with the real polkitd, run as its own process (as the bench user):
// creates one VM, then times start/force-stop pairs and prints "start_us X" / "stop_us X" / "errors N" lines.
int runPolkitClient(const std::string& busAddress, std::size_t pairs);

} // namespace hangar::bench
