// VmCreation makes new VMs: Create (from a spec, optionally from an image) and Clone (a stopped VM's copy). Both
// end in launch(): the row is written in phase Creating before anything exists on the host (a crash from there on
// is rolled back at the next start, core/Reconciler), the VM appears in state Creating, and its disk and domain are
// made on a worker. The quota check and the new row that counts against it happen in one loop step, so parallel
// creates cannot overshoot. Loop thread only.
#pragma once

#include "core/Validation.h"
#include "core/VmContext.h"

#include <functional>
#include <string>

namespace hangar {

class VmCreation
{
public:
    explicit VmCreation(VmContext& context) : m_ctx(context) {}

    // Done receives the new VM's UUID.
    void create(const Caller& caller, const std::string& name, const VmSpecRequest& spec,
                const Done<std::string>& done);
    // A stopped VM's copy owned by caller (its disk: a new overlay of the same image plus a copy of the source's
    // changes). Needs manage-own/all-vms on the source and create-vm; counts against the caller's quota.
    void clone(const Caller& caller, const std::string& uuid, const std::string& newName,
               const Done<std::string>& done);

private:
    // create() once the OS catalogue can be asked for the defaults of the image's OS.
    void createKnownOs(const Caller& caller, const std::string& name, const VmSpecRequest& spec,
                       const Done<std::string>& done);
    // A new record for caller: uuid, owner, creation time, host, phase Creating, its own disk volume.
    VmRecord newRecord(const Caller& caller, const std::string& name, const VmSpec& spec) const;
    // validateProvisioning, and NotSupported for a seed this hangard cannot write.
    void requireSeeds(const Provisioning& provisioning) const;
    // The provisioning and, unless it is empty, the seed volume's name ("vm-<uuid>-seed.iso").
    static void addSeed(VmRecord& record, const Provisioning& provisioning);
    // clone's second half, after both authorizations and admission.
    void cloneWithin(const Ticket& ticket, const std::string& newName, std::int64_t expiresAt,
                     const Done<std::string>& done);
    // create's second half, after authorization and admission: the quota check and the new row in one loop step.
    void reserve(const Ticket& ticket, const Caller& caller, const std::string& name, const VmSpec& spec,
                 const std::string& imageId, const Provisioning& provisioning, bool ephemeral, std::int64_t expiresAt,
                 const Done<std::string>& done);
    // Reserves the new VM (row in phase Creating, Creating in the inventory, marked with kind) and makes its disk
    // and domain on a worker: makeDisk creates record.diskVolume. detail ends the audit line.
    void launch(const Caller& caller, VmOperation kind, const VmRecord& record, std::function<void(Storage&)> makeDisk,
                const std::string& detail, const Done<std::string>& done);
    void settle(const Ticket& ticket, Vm& vm, const std::optional<Error>& failed, const std::string& detail);

    VmContext& m_ctx;
};

// "A VM named '<name>' already exists" unless the name is free.
void requireFreeVmName(const Inventory& inventory, const std::string& name);

} // namespace hangar
