// hangard's configuration: built-in defaults, overridden by the INI file (default /etc/hangar/hangard.conf; a
// missing file means defaults), overridden by command-line options. See docs/hangard.conf.example.
#pragma once

#include <optional>
#include <string>

namespace hangar::service {

struct Config
{
    std::string bus = "system"; // system | session | a D-Bus address
    std::string hypervisor = "qemu:///system";
    std::string stateDir = "/var/lib/hangar";
    std::string logLevel = "info";
    unsigned workers = 4;
};

// What the command line gave; unset fields leave the file's (or the default) value.
struct ConfigOverrides
{
    std::optional<std::string> bus;
    std::optional<std::string> hypervisor;
    std::optional<std::string> stateDir;
    std::optional<std::string> logLevel;
};

// Throws std::runtime_error naming the file and line for a malformed file or an invalid value.
Config loadConfig(const std::string& path, const ConfigOverrides& overrides);

} // namespace hangar::service
