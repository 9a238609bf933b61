// Daemon wires hangard together: configuration, the loop, the store, the hypervisor, the authorizer, core and
// the D-Bus objects, in the order that makes READY=1 true (inventory reconciled, objects published, name owned),
// and tears them down in the reverse order on SIGTERM.
#pragma once

#include "service/Config.h"

#include <string>

namespace hangar::service {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int runDaemon(const Config& config, const std::string& version);

} // namespace hangar::service
