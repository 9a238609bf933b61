// The Inventory is core's in-memory view of every VM: its stored record plus what is only known at run time (its
// state, the operation running on it). It keeps the name index and tells the InventoryObserver (the bus layer)
// about every change, so D-Bus objects and PropertiesChanged follow from one place: a Vm is changed only through
// the methods below, never by writing its fields. Loop thread only (checked: core/LoopThread.h).
#pragma once

#include "core/Executor.h"
#include "core/Types.h"
#include "core/VmOperation.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hangar {

// What changed about a VM, so observers can emit PropertiesChanged for just those properties.
enum class VmField : std::uint32_t
{
    Name = 1U << 0U,
    State = 1U << 1U,
    Owner = 1U << 2U,
    Spec = 1U << 3U, // VCPUs, MemoryMiB, DiskGiB, Description
    Host = 1U << 4U,
    Addresses = 1U << 5U,
    GraphicsAddress = 1U << 6U,
    Snapshots = 1U << 7U,
    Expiry = 1U << 10U, // ExpiresAt
    AgentConnected = 1U << 11U,
    GuestChanges = 1U << 12U, // AddedUsers, InstalledPackages
    ConsoleAttached = 1U << 13U,
    GraphicsClients = 1U << 14U,
    // Not D-Bus properties (the bus ignores them), but changes all the same, announced like the others.
    Phase = 1U << 8U,
    Operation = 1U << 9U,
};
using VmFields = std::uint32_t;
constexpr VmFields operator|(VmField a, VmField b)
{
    return static_cast<VmFields>(a) | static_cast<VmFields>(b);
}
constexpr bool has(VmFields fields, VmField f)
{
    return (fields & static_cast<VmFields>(f)) != 0;
}

struct Vm
{
    VmRecord record;
    VmState state = VmState::Creating;
    std::optional<VmOperation> operation;          // the operation in flight, if any (core/OperationRunner.h)
    std::optional<Executor::TimerId> stopDeadline; // Stop's timeout_sec timer
    std::vector<std::string> addresses;            // the guest's IP addresses, as the hypervisor last reported
    std::string graphicsAddress;                   // "vnc://host:port" while it runs, else "" (core/VmAccess)
    std::vector<std::string> snapshots;            // names of its snapshots, oldest first, as the hypervisor has them
    bool agentConnected = false;                   // a guest agent answers in the running guest (core/GuestAgent.h)
    bool consoleAttached = false;                  // someone has Hangar's serial console open (core/ConsolePresence)
    std::uint32_t graphicsClients = 0;             // VNC clients connected to the running guest (idem)
};

struct InventoryCounts
{
    std::uint32_t vms = 0;
    std::uint32_t running = 0;
    bool operator==(const InventoryCounts&) const = default;
};

class InventoryObserver
{
public:
    virtual ~InventoryObserver() = default;
    virtual void vmAdded(const Vm& vm) = 0;
    // Called just before the VM is dropped; vm is still valid during the call.
    virtual void vmRemoved(const Vm& vm) = 0;
    virtual void vmChanged(const Vm& vm, VmFields fields) = 0;
    virtual void countsChanged(const InventoryCounts& counts) = 0;
};

class Inventory
{
public:
    void setObserver(InventoryObserver* observer) { m_observer = observer; }

    Vm* find(const std::string& uuid);
    Vm* findByName(const std::string& name);
    const Vm* find(const std::string& uuid) const;
    const Vm* findByName(const std::string& name) const;
    bool nameTaken(const std::string& name) const { return m_byName.count(name) != 0; }

    // Every VM, ordered by name.
    std::vector<const Vm*> all() const;
    std::vector<Vm*> allMutable();
    // Kept up to date on every change: O(1), so a state change does not cost a pass over the inventory.
    InventoryCounts counts() const;
    // The VMs of one owner (for quota usage), without a pass over everyone's.
    std::vector<const Vm*> ownedBy(std::uint32_t uid) const;
    // The VMs made from an image (VmRecord::image), ordered by UUID.
    std::vector<const Vm*> madeFrom(const std::string& imageId) const;

    Vm& add(Vm vm);
    void remove(const std::string& uuid);
    void setState(Vm& vm, VmState state);
    void rename(Vm& vm, const std::string& newName);
    void setAddresses(Vm& vm, std::vector<std::string> addresses);
    void setGraphicsAddress(Vm& vm, std::string address);
    void setSnapshots(Vm& vm, std::vector<std::string> names);
    void setAgentConnected(Vm& vm, bool connected);
    void setConsoleAttached(Vm& vm, bool attached);
    void setGraphicsClients(Vm& vm, std::uint32_t clients);
    // Records a user added or a package installed in the running guest (VmRecord::addedUsers/installedPackages).
    void addGuestChange(Vm& vm, GuestChange change);
    void setPhase(Vm& vm, VmPhase phase);
    // The mark of the operation in flight (core/OperationRunner.h sets and clears it).
    void setOperation(Vm& vm, VmOperation operation);
    void clearOperation(Vm& vm);
    void setStopDeadline(Vm& vm, std::optional<Executor::TimerId> timer);
    // Called when a VM is added and after every change of its state, whatever caused it, after the observer heard
    // of it: for what core itself derives from the state (the graphics address). Listeners must not remove VMs.
    void addStateListener(std::function<void(Vm&)> listener) { m_stateListeners.push_back(std::move(listener)); }
    // Announce a change made directly to vm.record (fields other than name).
    void changed(Vm& vm, VmFields fields);

private:
    void notifyCounts();

    std::map<std::string, std::unique_ptr<Vm>> m_byUuid;      // unique_ptr: Vm addresses stay stable
    std::map<std::string, std::string> m_byName;              // name -> uuid
    std::map<std::uint32_t, std::set<std::string>> m_byOwner; // owner uid -> uuids
    std::map<std::string, std::set<std::string>> m_byImage;   // image id -> uuids of the VMs made from it
    std::uint32_t m_running = 0;                              // VMs in state Running
    InventoryObserver* m_observer = nullptr;
    std::vector<std::function<void(Vm&)>> m_stateListeners;
    InventoryCounts m_lastCounts;
};

} // namespace hangar
