#include "core/ConsolePresence.h"

#include "core/VmStateTracker.h"

#include <fmt/format.h>

namespace hangar {

void ConsolePresence::handleHypervisorEvent(const HypervisorEvent& event)
{
    if (event.kind != HypervisorEvent::Kind::ConsoleChanged && event.kind != HypervisorEvent::Kind::GraphicsChanged)
        return;
    Vm* vm = m_inventory.find(event.uuid);
    // A report about a guest that is not running is late (it stopped meanwhile): what it says is already undone.
    if (!vm || !isActive(vm->state))
        return;
    if (event.kind == HypervisorEvent::Kind::ConsoleChanged)
        consoleChanged(*vm, event.session, event.present);
    else
        graphicsChanged(*vm, event.client, event.present);
}

void ConsolePresence::consoleChanged(Vm& vm, std::uint64_t session, bool present)
{
    auto& sessions = m_sessions[vm.record.uuid];
    if (present)
        sessions.insert(session);
    else if (sessions.erase(session) == 0)
        return; // a bridge that ended before the VM stopped and was already forgotten then
    const bool attached = !sessions.empty();
    if (sessions.empty())
        m_sessions.erase(vm.record.uuid);
    if (attached == vm.consoleAttached)
        return;
    m_inventory.setConsoleAttached(vm, attached);
    // The attach is audited by VmAccess with the caller's uid, once the open is answered.
    if (!attached)
        m_audit.success(0, &vm.record, "console", "serial console detached");
}

void ConsolePresence::graphicsChanged(Vm& vm, const std::string& client, bool present)
{
    if (!present && vm.graphicsClients == 0)
        return; // connected before this daemon started (or before the VM was last seen stopped)
    const std::uint32_t clients = present ? vm.graphicsClients + 1 : vm.graphicsClients - 1;
    m_inventory.setGraphicsClients(vm, clients);
    m_audit.success(0, &vm.record, "graphics",
                    fmt::format("graphics client {} {}; {} connected", present ? "connected from" : "disconnected from",
                                client.empty() ? "an unknown address" : client, clients));
}

void ConsolePresence::stateChanged(Vm& vm)
{
    if (isActive(vm.state))
        return;
    m_sessions.erase(vm.record.uuid);
    if (vm.consoleAttached) {
        m_inventory.setConsoleAttached(vm, false);
        m_audit.success(0, &vm.record, "console",
                        fmt::format("serial console detached: the VM is {}", stateName(vm.state)));
    }
    m_inventory.setGraphicsClients(vm, 0);
}

} // namespace hangar
