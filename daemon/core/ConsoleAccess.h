// ConsoleAccess is the part of the Hypervisor (core/Hypervisor.h) that hands out a running domain's serial console
// and VNC server as sockets, and the hypervisor's own log of a domain as a read-only file (what core/VmAccess needs).
// Synchronous and thread-safe like DomainControl; Error(NotFound) for an unknown domain.
#pragma once

#include "core/UniqueFd.h"

#include <string>

namespace hangar {

class ConsoleAccess
{
public:
    virtual ~ConsoleAccess() = default;

    // One end of a socket bridged to the running domain's serial console until either side closes. Only one
    // console per domain: Error(Busy) while one is open, unless force, which closes the other first.
    // Error(NotSupported) where the driver has no consoles.
    virtual UniqueFd openConsole(const std::string& uuid, bool force) = 0;
    // A socket connected to the running domain's VNC server; any number may be open. Error(NotSupported) where
    // the driver cannot hand one over.
    virtual UniqueFd openGraphics(const std::string& uuid) = 0;
    // "vnc://127.0.0.1:5900" from the running domain's live definition; "" when it has no graphics port (not
    // running, or a driver that allocates none).
    virtual std::string graphicsAddress(const std::string& uuid) = 0;
    // The hypervisor's log of the domain (QEMU's command line, its warnings, start and stop), opened read-only by
    // the implementation itself (core/HypervisorLog.h). Error(NotFound) when the domain has no log (it never ran
    // here), Error(NotSupported) where the driver keeps none.
    virtual UniqueFd openLog(const std::string& uuid) = 0;
};

} // namespace hangar
