// Daemon wires hangard together: configuration, the loop, the store, the hypervisor, the authorizer, core and
// the D-Bus objects, in the order that makes READY=1 true (inventory reconciled, objects published, name owned),
// and tears them down in the reverse order on SIGTERM.
#pragma once

#include "service/Config.h"

#include <functional>
#include <string>

namespace hangar::service {

// Runs until SIGTERM/SIGINT; returns the process exit code. loadConfig reads the configuration again on SIGHUP
// (throwing when it does not load), as main() read it at start.
int runDaemon(const Config& config, const std::string& version, std::function<Config()> loadConfig);

} // namespace hangar::service
