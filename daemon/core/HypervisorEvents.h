// HypervisorEvents is the part of the Hypervisor (core/Hypervisor.h) that tells core what happened on the host
// without being asked: lifecycle changes made by anyone, removed definitions, the connection dropping and coming
// back, and who is looking at a guest (core/ConsolePresence.h). The service wires it to VmManager and the Reconciler.
#pragma once

#include "core/DomainControl.h"

#include <cstdint>
#include <functional>
#include <string>

namespace hangar {

struct HypervisorEvent
{
    enum class Kind
    {
        StateChanged,       // uuid + state: a lifecycle event (started, stopped, paused, ..., whatever the cause)
        Undefined,          // uuid: the domain definition was removed
        ConnectionLost,     // the connection to the hypervisor dropped; the implementation reconnects itself
        ConnectionRestored, // reconnected: the inventory should be reconciled
        AgentChanged,       // uuid + agentConnected: the guest agent connected or went away
        ConsoleChanged,     // uuid + session + present: one of Hangar's console bridges began (true) or ended (false)
        GraphicsChanged,    // uuid + present + client: a VNC client (ours or anyone's) connected or disconnected
    };
    Kind kind = Kind::StateChanged;
    std::string uuid;
    DomainState state = DomainState::Stopped;
    bool agentConnected = false;
    bool present = false;      // ConsoleChanged, GraphicsChanged
    std::uint64_t session = 0; // ConsoleChanged: which bridge (never reused while the daemon runs)
    std::string client = {};   // GraphicsChanged: where from ("127.0.0.1:51234", "a local socket")
};

class HypervisorEvents
{
public:
    virtual ~HypervisorEvents() = default;

    // Registers the receiver of hypervisor events. The implementation calls it on the daemon's loop thread only,
    // never on its own threads.
    virtual void subscribe(std::function<void(const HypervisorEvent&)> sink) = 0;
};

} // namespace hangar
