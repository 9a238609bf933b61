// hangar::Hypervisor on libvirt, for any libvirt URI Hangar supports (qemu:///system, qemu+ssh://host/system,
// test:///default). Domains are named "hangar-<uuid>" and carry Hangar's metadata block (virt/DomainXml.h); their
// disks are volumes of the daemon's storage pool, and snapshots are libvirt's internal ones (virt/SnapshotXml.h).
// Lifecycle events and connection loss/restore reach the subscribed sink only through postToLoop, i.e. on the
// daemon's loop thread; the libvirt event loop itself runs on a thread of its own (virt/LibvirtEventLoop.h).
// The connection is re-established with back-off when it drops (virt/LibvirtConnection.h); calls made meanwhile
// fail with Error(BackendFailure, "not connected to <uri>: ..."). All methods are thread-safe.
#pragma once

#include "core/Hypervisor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hangar::virt {

class ConsoleRegistry;
class EventRelay;
class LibvirtConnection;

// How guests are defined on this host.
struct LibvirtOptions
{
    std::string domainType = "auto"; // [Daemon] domain_type: auto (detect), kvm or qemu; a test:// host uses "test"
    std::string bootDir;             // [Guest] boot_dir, absolute: where direct-kernel-boot files are
    std::string storagePool = {};    // the pool VM disks and CD-ROMs are volumes of (Storage::poolName())
    std::string logDir = {};         // [Daemon] hypervisor_log_dir; empty: libvirt's for the URI (core/HypervisorLog.h)
};

class LibvirtHypervisor final : public hangar::Hypervisor
{
public:
    // postToLoop must be thread-safe and run the closure on the daemon's loop thread. Connects at once; when that
    // fails the object is still usable: it posts ConnectionLost and keeps trying (see connected()).
    // Error(NotSupported) for a URI whose driver is neither qemu nor test.
    LibvirtHypervisor(std::string uri, std::function<void(std::function<void()>)> postToLoop,
                      LibvirtOptions options = {});
    ~LibvirtHypervisor() override;
    LibvirtHypervisor(const LibvirtHypervisor&) = delete;
    LibvirtHypervisor& operator=(const LibvirtHypervisor&) = delete;

    std::string uri() const override;
    void define(const VmRecord& vm) override;
    void undefine(const std::string& uuid) override;
    void start(const std::string& uuid) override;
    void shutdown(const std::string& uuid) override;
    void destroy(const std::string& uuid) override;
    void reboot(const std::string& uuid) override;
    void suspend(const std::string& uuid) override;
    void resume(const std::string& uuid) override;
    DomainState state(const std::string& uuid) override;
    void updateMetadata(const VmRecord& vm) override;
    void setResources(const std::string& uuid, std::uint32_t vcpus, std::uint64_t memoryMiB) override;
    std::vector<DomainInfo> listDomains() override;
    void subscribe(std::function<void(const HypervisorEvent&)> sink) override;
    UniqueFd openConsole(const std::string& uuid, bool force) override;
    UniqueFd openGraphics(const std::string& uuid) override;
    std::string graphicsAddress(const std::string& uuid) override;
    UniqueFd openLog(const std::string& uuid) override;
    // The snapshot members are defined in virt/LibvirtSnapshots.cpp.
    void createSnapshot(const std::string& uuid, const std::string& name, const std::string& description) override;
    std::vector<SnapshotInfo> listSnapshots(const std::string& uuid) override;
    DomainState revertToSnapshot(const std::string& uuid, const std::string& name) override;
    void deleteSnapshot(const std::string& uuid, const std::string& name) override;
    // The guest agent members are defined in virt/LibvirtGuestAgent.cpp.
    bool agentConnected(const std::string& uuid) override;
    std::int64_t guestExec(const std::string& uuid, const GuestCommand& command) override;
    GuestCommandStatus guestExecStatus(const std::string& uuid, std::int64_t pid) override;

    // Whether a connection is open right now (false between a loss and the reconnect).
    bool connected() const;

private:
    const std::string m_uri;
    const LibvirtOptions m_options;
    std::shared_ptr<EventRelay> m_relay;
    std::shared_ptr<LibvirtConnection> m_connection;
    std::unique_ptr<ConsoleRegistry> m_consoles;
};

} // namespace hangar::virt
