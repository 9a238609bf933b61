// VmManager is the one door to VM management that the bus and the service use: create, start, stop, reboot,
// pause, resume, delete, rename, clone, snapshots, consoles and logs, who is on a console, and the read side (lookup,
// listing, the audit log). It is a facade: each request goes to the part that carries it out (core/VmCreation,
// VmLifecycle, VmSnapshots, VmRemoval, VmReads, VmAccess, VmGuestCommands for commands in running guests), all of which
// run through the one operation pipeline (core/OperationRunner.h); VmStateTracker folds the hypervisor's own events
// into VM state. Adding an operation is one small file (or one factory) in a part plus one line here. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/BootDirectory.h"
#include "core/ConsolePresence.h"
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
#include "core/VmContext.h"
#include "core/VmCreation.h"
#include "core/VmGuestCommands.h"
#include "core/VmLifecycle.h"
#include "core/VmLifetime.h"
#include "core/VmReads.h"
#include "core/VmRemoval.h"
#include "core/VmResources.h"
#include "core/VmSnapshots.h"
#include "core/VmStateTracker.h"

#include <string>
#include <vector>

namespace hangar {

class VmManager
{
public:
    // bootDir is where the kernel and initrd a spec names are looked up (empty: direct kernel boot unavailable).
    VmManager(Inventory& inventory, Store& store, Hypervisor& hypervisor, Storage& storage, ImageManager& images,
              Authorizer& authorizer, Executor& executor, AuditLog& audit, QuotaManager& quotas, std::string hostLabel,
              BootDirectory bootDir = {});

    // Done receives the new VM's UUID.
    void create(const Caller& caller, const std::string& name, const VmSpecRequest& spec, const Done<std::string>& done)
    {
        m_creation.create(caller, name, spec, done);
    }
    void start(const Caller& caller, const std::string& uuid, Done<> done)
    {
        m_lifecycle.run(caller, uuid, startOperation(), std::move(done));
    }
    void stop(const Caller& caller, const std::string& uuid, StopOptions options, Done<> done)
    {
        m_lifecycle.stop(caller, uuid, options, std::move(done));
    }
    void reboot(const Caller& caller, const std::string& uuid, Done<> done)
    {
        m_lifecycle.run(
            caller, uuid,
            transition(VmOperation::Reboot, VmState::Running, "only a running VM can be rebooted", &Hypervisor::reboot),
            std::move(done));
    }
    void pause(const Caller& caller, const std::string& uuid, Done<> done)
    {
        m_lifecycle.run(
            caller, uuid,
            transition(VmOperation::Pause, VmState::Running, "only a running VM can be paused", &Hypervisor::suspend),
            std::move(done));
    }
    void resume(const Caller& caller, const std::string& uuid, Done<> done)
    {
        m_lifecycle.run(
            caller, uuid,
            transition(VmOperation::Resume, VmState::Paused, "only a paused VM can be resumed", &Hypervisor::resume),
            std::move(done));
    }
    void remove(const Caller& caller, const std::string& uuid, DeleteOptions options, Done<> done)
    {
        m_removal.remove(caller, uuid, options, std::move(done));
    }
    void rename(const Caller& caller, const std::string& uuid, const std::string& newName, Done<> done)
    {
        m_removal.rename(caller, uuid, newName, std::move(done));
    }
    // A stopped VM's copy owned by caller (its disk: a new overlay of the same image plus a copy of the source's
    // changes). Needs manage-own/all-vms on the source and create-vm; counts against the caller's quota.
    void clone(const Caller& caller, const std::string& uuid, const std::string& newName, const Done<std::string>& done)
    {
        m_creation.clone(caller, uuid, newName, done);
    }
    void createSnapshot(const Caller& caller, const std::string& uuid, const std::string& name,
                        const std::string& description, Done<> done)
    {
        m_snapshots.create(caller, uuid, name, description, std::move(done));
    }
    void revertToSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
    {
        m_snapshots.revert(caller, uuid, name, std::move(done));
    }
    void deleteSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
    {
        m_snapshots.remove(caller, uuid, name, std::move(done));
    }
    // Needs no authorization.
    void listSnapshots(const std::string& uuid, const Done<std::vector<SnapshotInfo>>& done)
    {
        m_snapshots.list(uuid, done);
    }
    // A socket to the VM's serial console or VNC server (core/VmAccess.h).
    void openConsole(const Caller& caller, const std::string& uuid, bool force, Done<SharedFd> done)
    {
        m_access.openConsole(caller, uuid, force, std::move(done));
    }
    void openGraphics(const Caller& caller, const std::string& uuid, Done<SharedFd> done)
    {
        m_access.openGraphics(caller, uuid, std::move(done));
    }
    // The hypervisor's log of the VM, read-only (core/VmAccess.h).
    void openLog(const Caller& caller, const std::string& uuid, Done<SharedFd> done)
    {
        m_access.openLog(caller, uuid, std::move(done));
    }

    // ExpiresAt (unix seconds, 0 = never); see core/VmLifetime.h for who may set how far ahead.
    void setExpiry(const Caller& caller, const std::string& uuid, std::int64_t expiresAt, Done<> done)
    {
        m_lifetime.setExpiry(caller, uuid, expiresAt, std::move(done));
    }
    // vCPUs, memory, disk (grow only) of a stopped VM; see core/VmResources.h.
    void setResources(const Caller& caller, const std::string& uuid, const ResourceRequest& request, Done<> done)
    {
        m_resources.set(caller, uuid, request, std::move(done));
    }
    // [Lifetime] and the create rate, at start and again on a configuration reload.
    void setLifetimeSettings(const LifetimeSettings& settings) { m_ctx.lifetime = settings; }
    void setCreateRate(const CreateRateSettings& settings) { m_ctx.createRate.setSettings(settings); }
    const VmLifetime& lifetime() const { return m_lifetime; }
    // Commands in the running guest, each as a Job (core/VmGuestCommands.h); done receives the job's id.
    void exec(const Caller& caller, const std::string& uuid, std::vector<std::string> argv, ExecOptions options,
              const Done<std::uint64_t>& done)
    {
        m_guest.exec(caller, uuid, std::move(argv), std::move(options), done);
    }
    void addUser(const Caller& caller, const std::string& uuid, ProvisionedUser user, const Done<std::uint64_t>& done)
    {
        m_guest.addUser(caller, uuid, std::move(user), done);
    }
    void installPackages(const Caller& caller, const std::string& uuid, std::vector<std::string> names,
                         const Done<std::uint64_t>& done)
    {
        m_guest.installPackages(caller, uuid, std::move(names), done);
    }

    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Vm& getByName(const std::string& name) const { return m_reads.getByName(name); }
    std::vector<const Vm*> list(const Caller& caller, const ListFilter& filter) const
    {
        return m_reads.list(caller, filter);
    }
    // Administrators (manage-all-vms, asked without interaction) read every event; others only their own.
    void events(const Caller& caller, const EventQuery& query, const Done<std::vector<EventRecord>>& done)
    {
        m_reads.events(caller, query, done);
    }

    // Keys and password hashes included: the owner's (manage-own-vms) and administrators' (manage-all-vms) only.
    void provisioning(const Caller& caller, const std::string& uuid, const Done<Provisioning>& done)
    {
        m_reads.provisioning(caller, uuid, done);
    }
    // What writes cloud-init seed ISOs; until it is set, a spec with provisioning is NotSupported.
    void setSeedBuilder(const SeedBuilder& seeds) { m_ctx.seeds = &seeds; }
    // A change reported by the hypervisor, whatever caused it (StateChanged and Undefined; connection events
    // belong to the Reconciler). Recorded in the audit log as the daemon's (uid 0).
    void handleHypervisorEvent(const HypervisorEvent& event)
    {
        if (event.kind == HypervisorEvent::Kind::AgentChanged)
            return m_guest.agentChanged(event.uuid, event.agentConnected);
        if (event.kind == HypervisorEvent::Kind::ConsoleChanged || event.kind == HypervisorEvent::Kind::GraphicsChanged)
            return m_presence.handleHypervisorEvent(event);
        m_tracker.handleHypervisorEvent(event);
    }

private:
    VmContext m_ctx;
    VmStateTracker m_tracker;
    VmLifecycle m_lifecycle;
    VmSnapshots m_snapshots;
    VmCreation m_creation;
    VmRemoval m_removal;
    VmLifetime m_lifetime;
    VmResources m_resources;
    VmReads m_reads;
    VmAccess m_access;
    ConsolePresence m_presence;
    VmGuestCommands m_guest;
};

} // namespace hangar
