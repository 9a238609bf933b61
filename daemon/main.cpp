// hangard: the Hangar VM manager daemon. Parses the command line and the config file, then hands over to
// service::runDaemon. See `hangard --help` and docs/hangard.md.
#include "core/FaultPoints.h"
#include "service/Config.h"
#include "service/Daemon.h"
#include "service/Logging.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace {

int run(int argc, char** argv)
{
    using namespace hangar::service;
    CLI::App app{"hangard — the Hangar VM manager daemon: a VM inventory on D-Bus, run by libvirt"};
    app.set_version_flag("--version", HANGAR_VERSION);
    std::string configPath = "/etc/hangar/hangard.conf";
    ConfigOverrides overrides;
    app.add_option("--config", configPath, "INI configuration file; a missing file means defaults")
        ->capture_default_str();
    app.add_option("--bus", overrides.bus,
                   "bus to serve on: system, session or a D-Bus address such as unix:path=/run/x (default: system)");
    app.add_option("--hypervisor", overrides.hypervisor,
                   "libvirt URI of the local host (default: qemu:///system; test:///default runs unprivileged "
                   "against libvirt's built-in test driver)");
    app.add_option("--state-dir", overrides.stateDir, "directory for hangar.db (default: /var/lib/hangar)");
    app.add_option("--log-level", overrides.logLevel, "trace, debug, info, warn or error (default: info)");
    app.add_option("--authorizer", overrides.authorizer,
                   "polkit or allow-all (default: allow-all with --bus=session, whose bus admits only its own user; "
                   "polkit otherwise)");
    CLI11_PARSE(app, argc, argv);

    Config config;
    try {
        config = loadConfig(configPath, overrides);
    } catch (const std::exception& e) {
        std::cerr << "hangard: " << e.what() << '\n';
        return 2;
    }
    setupLogging(config.logLevel);
    try {
        if (const auto point = hangar::armedFaultPoint())
            spdlog::warn("fault point {} armed: hangard kills itself (SIGKILL) when an operation reaches it",
                         hangar::faultPointName(*point));
        else if (!hangar::kFaultPointsBuilt && std::getenv(hangar::kFaultPointVariable))
            spdlog::warn("{} is ignored: this hangard is built without fault points", hangar::kFaultPointVariable);
    } catch (const std::invalid_argument& e) {
        spdlog::critical("{}", e.what());
        return 2;
    }
    try {
        return runDaemon(config, HANGAR_VERSION, [configPath, overrides] { return loadConfig(configPath, overrides); });
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}

} // namespace

// Whatever escapes run() (CLI11's own errors are handled inside it) ends the program with a message, not
// std::terminate.
int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << '\n';
    } catch (...) {
        std::cerr << argv[0] << ": unexpected error\n";
    }
    return 1;
}
