// ConsolePresence keeps each VM's ConsoleAttached and GraphicsClients true to what the hypervisor reports: the
// start and end of each of Hangar's serial-console bridges (one per OpenConsole, identified by a session number) and
// VNC clients connecting and disconnecting (libvirt's graphics events, which count OpenGraphics' sockets and any
// other VNC client alike). Both are live state, never stored: a VM whose guest is not running has neither, so they
// are reset whenever it stops (or turns unavailable), and a daemon that starts knows of no console (its bridges died
// with the previous one) and counts VNC clients from the connections it sees from then on; a disconnect of a client
// it never saw connect is not counted below zero. Each change is in the audit log as the daemon's (uid 0); who
// opened a console is in VmAccess's "console" entry. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/HypervisorEvents.h"
#include "core/Inventory.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace hangar {

class ConsolePresence
{
public:
    ConsolePresence(Inventory& inventory, AuditLog& audit) : m_inventory(inventory), m_audit(audit) {}

    // ConsoleChanged and GraphicsChanged events; others are ignored.
    void handleHypervisorEvent(const HypervisorEvent& event);
    // Inventory state listener: a VM whose guest is not running has no console attached and no graphics client.
    void stateChanged(Vm& vm);

private:
    void consoleChanged(Vm& vm, std::uint64_t session, bool present);
    void graphicsChanged(Vm& vm, const std::string& client, bool present);

    Inventory& m_inventory;
    AuditLog& m_audit;
    std::map<std::string, std::set<std::uint64_t>> m_sessions; // uuid -> console bridges open now
};

} // namespace hangar
