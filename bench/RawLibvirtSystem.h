// The floor: libvirt's C API called in the benchmark's own process, on the test driver (test:///default), whose
// state lives in this process. No bus, no daemon: what Hangar and libvirt-dbus add on top is what they cost.
#pragma once

#include "System.h"

#include <atomic>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <thread>

namespace hangar::bench {

struct ConnectClose
{
    void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct DomainFree
{
    void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using ConnectPtr = std::unique_ptr<virConnect, ConnectClose>;
using DomainPtr = std::unique_ptr<virDomain, DomainFree>;

class RawLibvirtSystem final : public System
{
public:
    RawLibvirtSystem();
    ~RawLibvirtSystem() override;

    std::string name() const override { return "raw libvirt"; }
    // Removes every domain, so the next populate starts from none (the test driver's state is this process's).
    void reset();
    bool populate(std::size_t n, Clock::time_point deadline) override;
    std::size_t size() const override { return m_size; }
    // virConnectListAllDomains + virDomainGetInfo (name and UUID are read from the handle, no driver call).
    std::vector<VmInfo> readInventory() override;
    std::unique_ptr<Client> connect() override;
    std::unique_ptr<Watcher> watch() override;
    std::optional<pid_t> daemonPid() const override { return std::nullopt; }
    std::optional<std::string> busAddress() const override { return std::nullopt; }
    std::optional<std::string> daemonBusName() const override { return std::nullopt; }

private:
    // libvirt delivers domain events only through a registered event loop, run here on a thread of its own.
    std::atomic<bool> m_stopEvents{false};
    std::thread m_eventThread;
    ConnectPtr m_conn;
    std::size_t m_size = 0;
};

ConnectPtr openTestDriver();

} // namespace hangar::bench
