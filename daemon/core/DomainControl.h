// DomainControl is the part of the Hypervisor (core/Hypervisor.h) that defines domains, moves them between states
// and reports them: what creation, the lifecycle, removal, renames and the Reconciler need. All methods are
// synchronous and thread-safe: core calls them from worker threads through the Executor, because on a real
// hypervisor they can block. Failures are hangar::Error: NotFound when the domain does not exist, Busy when it is in
// the wrong state for the request, BackendFailure otherwise. tests/contract holds both implementations to this.
#pragma once

#include "core/Types.h"

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

class DomainControl
{
public:
    virtual ~DomainControl() = default;

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
    // Changes the persistent definition of a stopped domain: vCPUs and memory, maximum and current alike. The
    // Hangar metadata block is not touched (updateMetadata). Error(Busy) while the domain runs.
    virtual void setResources(const std::string& uuid, std::uint32_t vcpus, std::uint64_t memoryMiB) = 0;
    // Rewrites the Hangar metadata block (and title) of the domain from vm, e.g. after a rename.
    virtual void updateMetadata(const VmRecord& vm) = 0;
    // Every domain on the host, Hangar's or not.
    virtual std::vector<DomainInfo> listDomains() = 0;
};

} // namespace hangar
