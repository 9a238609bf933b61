// VmManager carries out what callers ask of VMs: create, start, stop, reboot, pause, resume, delete, rename, and
// the read side (lookup, listing, the audit log). Each request is validated, authorized (asynchronously), checked
// against the VM's state, run on a worker through the Executor, and settled on the loop thread, where the
// Inventory changes and the AuditLog records the outcome. It also folds the hypervisor's own events into VM state.
// Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/BootDirectory.h"
#include "core/Executor.h"
#include "core/Hypervisor.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Outcome.h"
#include "core/Quota.h"
#include "core/Storage.h"
#include "core/Store.h"
#include "core/Validation.h"
#include "core/VmAccess.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

struct StopOptions
{
    bool force = false;
    std::uint32_t timeoutSec = 0;
};

struct DeleteOptions
{
    bool force = false;
};

struct ListFilter
{
    bool all = false;
    std::optional<std::uint32_t> owner;
    std::optional<VmState> state;
};

struct EventQuery
{
    std::optional<std::string> vm; // name or UUID
    std::optional<std::uint32_t> uid;
    std::optional<std::int64_t> sinceUsec;
    std::optional<std::uint32_t> limit;
};

VmState toVmState(DomainState state);

class VmManager
{
public:
    // bootDir is where the kernel and initrd a spec names are looked up (empty: direct kernel boot unavailable).
    VmManager(Inventory& inventory, Store& store, Hypervisor& hypervisor, Storage& storage, ImageManager& images,
              Authorizer& authorizer, Executor& executor, AuditLog& audit, QuotaManager& quotas, std::string hostLabel,
              BootDirectory bootDir = {});

    // Done receives the new VM's UUID.
    void create(const Caller& caller, const std::string& name, const VmSpecRequest& spec, Done<std::string> done);
    void start(const Caller& caller, const std::string& uuid, Done<> done);
    void stop(const Caller& caller, const std::string& uuid, StopOptions options, Done<> done);
    void reboot(const Caller& caller, const std::string& uuid, Done<> done);
    void pause(const Caller& caller, const std::string& uuid, Done<> done);
    void resume(const Caller& caller, const std::string& uuid, Done<> done);
    void remove(const Caller& caller, const std::string& uuid, DeleteOptions options, Done<> done);
    void rename(const Caller& caller, const std::string& uuid, const std::string& newName, Done<> done);
    // A stopped VM's copy owned by caller (its disk: a new overlay of the same image plus a copy of the source's
    // changes). Needs manage-own/all-vms on the source and create-vm; counts against the caller's quota.
    void clone(const Caller& caller, const std::string& uuid, const std::string& newName, Done<std::string> done);
    void createSnapshot(const Caller& caller, const std::string& uuid, const std::string& name,
                        const std::string& description, Done<> done);
    void revertToSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done);
    void deleteSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done);
    // Needs no authorization.
    void listSnapshots(const std::string& uuid, Done<std::vector<SnapshotInfo>> done);
    // A socket to the VM's serial console or VNC server (core/VmAccess.h).
    void openConsole(const Caller& caller, const std::string& uuid, bool force, Done<SharedFd> done)
    {
        m_access.openConsole(caller, uuid, force, std::move(done));
    }
    void openGraphics(const Caller& caller, const std::string& uuid, Done<SharedFd> done)
    {
        m_access.openGraphics(caller, uuid, std::move(done));
    }

    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Vm& getByName(const std::string& name) const;
    std::vector<const Vm*> list(const Caller& caller, const ListFilter& filter) const;
    // Administrators (manage-all-vms, asked without interaction) read every event; others only their own.
    void events(const Caller& caller, const EventQuery& query, Done<std::vector<EventRecord>> done);

    // A change reported by the hypervisor, whatever caused it (StateChanged and Undefined; connection events
    // belong to the Reconciler). Recorded in the audit log as the daemon's (uid 0).
    void handleHypervisorEvent(const HypervisorEvent& event);

private:
    // One lifecycle operation on an existing VM: the state check on the loop, the hypervisor call on a worker.
    struct Operation
    {
        std::string verb;
        std::function<void(const Vm&)> check;                                  // throws Error when not allowed now
        std::function<DomainState(Hypervisor&, const std::string& uuid)> work; // returns the state afterwards
        std::function<void(Vm&, DomainState)> settle;                          // optional: custom state settling
        bool startsVm = false; // subject to the owner's max_running when the owner asks
        std::string done;      // what the audit log says on success; default: the state afterwards
    };

    // An operation allowed in exactly one state, carried out by one hypervisor call.
    static Operation transition(std::string verb, VmState from, std::string_view requirement,
                                void (Hypervisor::*call)(const std::string&));
    void run(const Caller& caller, const std::string& uuid, Operation op, Done<> done);
    void proceed(const Caller& caller, const std::string& uuid, const Operation& op,
                 const std::optional<QuotaLimits>& limits, Done<> done);
    void authorizeVm(const Caller& caller, const Vm& vm, const std::string& verb,
                     std::function<void(std::optional<Error>)> next);
    // Common tail of every asynchronous step: record a failure for vm (if any) and complete with it.
    template <typename T>
    void fail(std::uint32_t uid, const VmRecord* vm, const std::string& verb, const Error& error, const Done<T>& done);

    void finishCreate(const Caller& caller, const std::string& uuid, std::optional<Error> error, Done<std::string> done,
                      const std::string& verb = "create", const std::string& detail = {});
    // Reserves a new VM (row in phase Creating, Creating in the inventory) and makes its disk and domain on a
    // worker: makeDisk creates record.diskVolume. Runs in one loop step with the quota check before it.
    void launchCreate(const Caller& caller, const VmRecord& record, std::function<void(Storage&)> makeDisk,
                      std::string verb, std::string detail, Done<std::string> done);
    // A snapshot operation on the hypervisor, then the VM's Snapshots refreshed.
    Operation snapshotOperation(std::string verb, std::function<DomainState(Hypervisor&, const std::string&)> work);
    void startRemoval(const Caller& caller, Vm& vm, DeleteOptions options, Done<> done);
    // Moves vm to what the hypervisor reports; returns whether State changed.
    bool applyDomainState(const std::string& uuid, DomainState state);
    void armStopDeadline(Vm& vm, std::uint32_t uid, std::uint32_t timeoutSec);
    void cancelStopDeadline(Vm& vm);

    Inventory& m_inventory;
    Store& m_store;
    Hypervisor& m_hypervisor;
    Storage& m_storage;
    ImageManager& m_images;
    Authorizer& m_authorizer;
    Executor& m_executor;
    AuditLog& m_audit;
    QuotaManager& m_quotas;
    std::string m_hostLabel;
    BootDirectory m_bootDir;
    VmAccess m_access;
};

} // namespace hangar
