// libvirt-dbus as the benchmark sees it: a private dbus-daemon and `libvirt-dbus --session` on it, whose object
// /org/libvirt/Test is libvirt's test driver (test:///default) inside the libvirt-dbus process. Domains are defined
// through its Connect.DomainDefineXML; the built-in "test" domain is removed first so every system holds exactly N.
#pragma once

#include "Bus.h"
#include "System.h"

namespace hangar::bench {

class LibvirtDbusSystem final : public System
{
public:
    LibvirtDbusSystem(const std::string& libvirtDbus, const std::string& dir);
    ~LibvirtDbusSystem() override;

    std::string name() const override { return "libvirt-dbus"; }
    bool populate(std::size_t n, Clock::time_point deadline) override;
    std::size_t size() const override { return m_paths.size(); }
    // ListDomains, then GetAll + GetState + GetXMLDesc per domain, 64 calls in flight (as a frontend issuing them
    // all at once would).
    std::vector<VmInfo> readInventory() override { return readInventory(64); }
    // The same calls one round trip at a time.
    std::vector<VmInfo> readInventory(std::size_t window);
    std::unique_ptr<Client> connect() override;
    std::unique_ptr<Watcher> watch() override;
    std::optional<pid_t> daemonPid() const override { return m_daemon->pid(); }
    std::optional<std::string> busAddress() const override { return m_bus.address(); }
    std::optional<std::string> daemonBusName() const override { return std::string("org.libvirt"); }

private:
    std::string m_dir;
    PrivateBus m_bus;
    std::unique_ptr<Child> m_daemon;
    std::unique_ptr<Bus> m_client;
    std::vector<std::string> m_paths;
};

} // namespace hangar::bench
