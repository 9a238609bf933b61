// VmSnapshots: take, revert to and delete a VM's snapshots (lifecycle operations, core/VmLifecycle: each refreshes
// the VM's Snapshots from the hypervisor when it settles), and list them. Loop thread only.
#pragma once

#include "core/VmLifecycle.h"

#include <string>
#include <vector>

namespace hangar {

class VmSnapshots
{
public:
    VmSnapshots(VmContext& context, VmLifecycle& lifecycle, VmStateTracker& tracker)
        : m_ctx(context), m_lifecycle(lifecycle), m_tracker(tracker)
    {}

    void create(const Caller& caller, const std::string& uuid, const std::string& name, const std::string& description,
                Done<> done);
    void revert(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done);
    void remove(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done);
    // Needs no authorization.
    void list(const std::string& uuid, const Done<std::vector<SnapshotInfo>>& done);

private:
    // A snapshot operation on the hypervisor, then the VM's Snapshots refreshed.
    LifecycleOperation operation(VmOperation kind, std::function<DomainState(Hypervisor&, const std::string&)> work);

    VmContext& m_ctx;
    VmLifecycle& m_lifecycle;
    VmStateTracker& m_tracker;
};

} // namespace hangar
