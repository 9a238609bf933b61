#include "service/Config.h"

#include <INIReader.h>
#include <fmt/format.h>

#include <array>
#include <set>
#include <stdexcept>
#include <sys/stat.h>

namespace hangar::service {
namespace {

void validate(const Config& c)
{
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
    if (levels.count(c.logLevel) == 0)
        throw std::runtime_error(fmt::format("log_level must be one of trace, debug, info, warn, error; got '{}'",
                                             c.logLevel));
    if (c.stateDir.empty() || c.stateDir.front() != '/')
        throw std::runtime_error(fmt::format("state_dir must be an absolute path, got '{}'", c.stateDir));
    if (c.hypervisor.find("://") == std::string::npos)
        throw std::runtime_error(fmt::format("hypervisor must be a libvirt URI such as qemu:///system, got '{}'",
                                             c.hypervisor));
    if (c.bus.empty())
        throw std::runtime_error("bus must be system, session or a D-Bus address");
    if (c.workers < 1 || c.workers > 64)
        throw std::runtime_error(fmt::format("workers must be 1..64, got {}", c.workers));
}

} // namespace

Config loadConfig(const std::string& path, const ConfigOverrides& overrides)
{
    Config c;
    struct stat st{};
    if (!path.empty() && stat(path.c_str(), &st) == 0) {
        INIReader ini(path);
        if (ini.ParseError() < 0)
            throw std::runtime_error(fmt::format("cannot read {}", path));
        if (ini.ParseError() > 0)
            throw std::runtime_error(fmt::format("{}:{}: syntax error", path, ini.ParseError()));
        static const std::set<std::string> known{"bus", "hypervisor", "state_dir", "log_level", "workers"};
        for (const auto& key : ini.Keys("Daemon"))
            if (known.count(key) == 0)
                throw std::runtime_error(fmt::format("{}: unknown key '{}' in [Daemon]; known keys: bus, hypervisor, "
                                                     "state_dir, log_level, workers",
                                                     path, key));
        c.bus = ini.Get("Daemon", "bus", c.bus);
        c.hypervisor = ini.Get("Daemon", "hypervisor", c.hypervisor);
        c.stateDir = ini.Get("Daemon", "state_dir", c.stateDir);
        c.logLevel = ini.Get("Daemon", "log_level", c.logLevel);
        const long workers = ini.GetInteger("Daemon", "workers", static_cast<long>(c.workers));
        if (workers < 1 || workers > 64)
            throw std::runtime_error(fmt::format("{}: workers must be 1..64, got {}", path, workers));
        c.workers = static_cast<unsigned>(workers);
    }
    if (overrides.bus)
        c.bus = *overrides.bus;
    if (overrides.hypervisor)
        c.hypervisor = *overrides.hypervisor;
    if (overrides.stateDir)
        c.stateDir = *overrides.stateDir;
    if (overrides.logLevel)
        c.logLevel = *overrides.logLevel;
    validate(c);
    return c;
}

} // namespace hangar::service
