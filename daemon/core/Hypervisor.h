// The Hypervisor is everything Hangar asks of the virtualization layer for one host. The real implementation is
// virt/LibvirtHypervisor (any libvirt URI, including test:///default); virt/FakeHypervisor serves core's unit tests.
// All methods are synchronous and thread-safe: core calls them from worker threads through the Executor, because
// on a real hypervisor they can block. Failures are hangar::Error: NotFound when the domain does not exist, Busy
// when it is in the wrong state for the request, BackendFailure otherwise.
#pragma once

#include "core/Types.h"
#include "core/UniqueFd.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

enum class DomainState
{
    Stopped,
    Running,
    Paused,
    ShuttingDown,
    Crashed,
    Suspended,
};

// One domain as the hypervisor reports it. `record` is filled from the Hangar metadata block in the domain XML
// (name, owner, created, spec); it is empty for domains Hangar did not create.
struct DomainInfo
{
    std::string uuid;
    DomainState state = DomainState::Stopped;
    std::optional<VmRecord> record;
    std::vector<std::string> snapshots; // names of the domain's snapshots, oldest first
};

struct HypervisorEvent
{
    enum class Kind
    {
        StateChanged,       // uuid + state: a lifecycle event (started, stopped, paused, ..., whatever the cause)
        Undefined,          // uuid: the domain definition was removed
        ConnectionLost,     // the connection to the hypervisor dropped; the implementation reconnects itself
        ConnectionRestored, // reconnected: the inventory should be reconciled
    };
    Kind kind = Kind::StateChanged;
    std::string uuid;
    DomainState state = DomainState::Stopped;
};

class Hypervisor
{
public:
    virtual ~Hypervisor() = default;

    virtual std::string uri() const = 0;

    // Defines a persistent, inactive domain for vm with vm.uuid as its UUID and the Hangar metadata block.
    // vm.diskVolume becomes its virtio disk and vm.cdromVolume a CD-ROM booted first, both as volumes of the
    // storage pool the hypervisor was configured with (<disk type='volume'>); libvirt assigns a new MAC address.
    // Error(AlreadyExists) if a domain with that UUID or name exists.
    virtual void define(const VmRecord& vm) = 0;
    // Removes the definition of a stopped domain (and its managed save / snapshot metadata).
    virtual void undefine(const std::string& uuid) = 0;
    virtual void start(const std::string& uuid) = 0;
    // Asks the guest to power off (ACPI). Returns once the request is delivered, not when the guest is off.
    virtual void shutdown(const std::string& uuid) = 0;
    // Powers the domain off at once.
    virtual void destroy(const std::string& uuid) = 0;
    virtual void reboot(const std::string& uuid) = 0;
    virtual void suspend(const std::string& uuid) = 0;
    virtual void resume(const std::string& uuid) = 0;
    virtual DomainState state(const std::string& uuid) = 0;
    // Rewrites the Hangar metadata block (and title) of the domain from vm, e.g. after a rename.
    virtual void updateMetadata(const VmRecord& vm) = 0;
    // Every domain on the host, Hangar's or not.
    virtual std::vector<DomainInfo> listDomains() = 0;

    // One end of a socket bridged to the running domain's serial console until either side closes. Only one
    // console per domain: Error(Busy) while one is open, unless force, which closes the other first.
    // Error(NotSupported) where the driver has no consoles.
    virtual UniqueFd openConsole(const std::string& uuid, bool force) = 0;
    // A socket connected to the running domain's VNC server; any number may be open. Error(NotSupported) where
    // the driver cannot hand one over.
    virtual UniqueFd openGraphics(const std::string& uuid) = 0;
    // "vnc://127.0.0.1:5900" from the running domain's live definition; "" when it has no graphics port (not
    // running, or a driver that allocates none).
    virtual std::string graphicsAddress(const std::string& uuid) = 0;

    // Snapshots through libvirt's snapshot API: internal snapshots of the VM's qcow2 disk (with memory state when
    // it runs); a CD-ROM is not part of them. createSnapshot: Error(AlreadyExists) for a taken name.
    // revert/delete: Error(NotFound) for an unknown name. listSnapshots: oldest first.
    virtual void createSnapshot(const std::string& uuid, const std::string& name, const std::string& description) = 0;
    virtual std::vector<SnapshotInfo> listSnapshots(const std::string& uuid) = 0;
    // Returns the state the domain is in afterwards (a snapshot taken while running resumes running).
    virtual DomainState revertToSnapshot(const std::string& uuid, const std::string& name) = 0;
    virtual void deleteSnapshot(const std::string& uuid, const std::string& name) = 0;

    // Registers the receiver of hypervisor events. The implementation calls it on the daemon's loop thread only,
    // never on its own threads.
    virtual void subscribe(std::function<void(const HypervisorEvent&)> sink) = 0;
};

} // namespace hangar
