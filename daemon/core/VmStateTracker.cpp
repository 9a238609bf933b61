#include "core/VmStateTracker.h"

#include <fmt/format.h>

namespace hangar {

VmState toVmState(DomainState state)
{
    switch (state) {
    case DomainState::Stopped:
        return VmState::Stopped;
    case DomainState::Running:
        return VmState::Running;
    case DomainState::Paused:
        return VmState::Paused;
    case DomainState::ShuttingDown:
        return VmState::ShuttingDown;
    case DomainState::Crashed:
        return VmState::Crashed;
    case DomainState::Suspended:
        return VmState::Suspended;
    }
    return VmState::Unavailable;
}

bool isActive(VmState s)
{
    return s == VmState::Running || s == VmState::Paused || s == VmState::ShuttingDown || s == VmState::Suspended;
}

void VmStateTracker::cancelStopDeadline(Vm& vm)
{
    if (vm.stopDeadline) {
        m_ctx.executor.cancel(*vm.stopDeadline);
        m_ctx.inventory.setStopDeadline(vm, std::nullopt);
    }
}

bool VmStateTracker::applyDomainState(const std::string& uuid, DomainState state)
{
    Vm* vm = m_ctx.inventory.find(uuid);
    // While an operation runs, its own completion settles the state.
    if (!vm || vm->operation || vm->state == VmState::Creating || vm->state == VmState::Deleting)
        return false;
    VmState next = toVmState(state);
    // The hypervisor keeps saying "running" until a guest that was asked to power off is off.
    if (vm->state == VmState::ShuttingDown && next == VmState::Running)
        return false;
    if (!isActive(next))
        cancelStopDeadline(*vm);
    if (vm->state == next)
        return false;
    m_ctx.inventory.setState(*vm, next);
    return true;
}

void VmStateTracker::handleHypervisorEvent(const HypervisorEvent& event)
{
    switch (event.kind) {
    case HypervisorEvent::Kind::StateChanged:
        if (applyDomainState(event.uuid, event.state)) {
            const Vm* vm = m_ctx.inventory.find(event.uuid);
            m_ctx.audit.success(0, &vm->record, "state",
                                fmt::format("the hypervisor reports the VM {}", stateName(vm->state)));
        }
        break;
    case HypervisorEvent::Kind::Undefined: {
        Vm* vm = m_ctx.inventory.find(event.uuid);
        if (!vm || vm->operation || vm->state == VmState::Creating || vm->state == VmState::Deleting)
            break;
        cancelStopDeadline(*vm);
        m_ctx.inventory.setState(*vm, VmState::Unavailable);
        m_ctx.audit.failure(0, &vm->record, "state",
                            Error(ErrorCode::NotFound, "the domain was undefined outside Hangar; the VM is unavailable "
                                                       "until the daemon reconciles (restart or reconnect)"));
        break;
    }
    case HypervisorEvent::Kind::ConnectionLost:
    case HypervisorEvent::Kind::ConnectionRestored:
    case HypervisorEvent::Kind::AgentChanged:    // core/VmGuestCommands
    case HypervisorEvent::Kind::ConsoleChanged:  // core/ConsolePresence
    case HypervisorEvent::Kind::GraphicsChanged: // core/ConsolePresence
        break;
    }
}

} // namespace hangar
