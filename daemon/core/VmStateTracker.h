// VmStateTracker folds what the hypervisor reports into VM state: a domain's new state (whatever caused it: our
// call, another tool through libvirt, a guest powering itself off) and a domain undefined behind Hangar's back.
// While an operation is in flight on a VM, its own settling decides the state, so reports are ignored meanwhile.
// It also owns cancelling Stop's deadline, which every state that is no longer active makes moot. Loop thread only.
#pragma once

#include "core/VmContext.h"

namespace hangar {

// What a hypervisor step on a worker leaves behind: the error, if any, and the state the domain is in (after a
// failure too, when it can still be read). Such a step catches its own errors, so the state is known on both paths.
struct DomainStepResult
{
    std::optional<DomainState> state;
    std::optional<Error> error;
};

VmState toVmState(DomainState state);
// Running, paused, shutting down or suspended: a domain that is still active on the hypervisor.
bool isActive(VmState state);

class VmStateTracker
{
public:
    explicit VmStateTracker(VmContext& context) : m_ctx(context) {}

    // A change reported by the hypervisor (StateChanged and Undefined; connection events belong to the
    // Reconciler). Recorded in the audit log as the daemon's (uid 0).
    void handleHypervisorEvent(const HypervisorEvent& event);
    // Moves the VM to what the hypervisor reports; returns whether State changed.
    bool applyDomainState(const std::string& uuid, DomainState state);
    void cancelStopDeadline(Vm& vm);

private:
    VmContext& m_ctx;
};

} // namespace hangar
