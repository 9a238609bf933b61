#include "service/Config.h"

#include "core/AlertHook.h"
#include "core/Validation.h"

#include <algorithm>
#include <fmt/format.h>
#include <ini.h>
#include <map>
#include <set>
#include <stdexcept>
#include <sys/stat.h>

namespace hangar::service {
namespace {

void validate(const Config& c)
{
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
    if (levels.count(c.logLevel) == 0)
        throw std::runtime_error(
            fmt::format("log_level must be one of trace, debug, info, warn, error; got '{}'", c.logLevel));
    if (c.stateDir.empty() || c.stateDir.front() != '/')
        throw std::runtime_error(fmt::format("state_dir must be an absolute path, got '{}'", c.stateDir));
    if (c.hypervisor.find("://") == std::string::npos)
        throw std::runtime_error(
            fmt::format("hypervisor must be a libvirt URI such as qemu:///system, got '{}'", c.hypervisor));
    if (c.bus.empty())
        throw std::runtime_error("bus must be system, session or a D-Bus address");
    if (!c.authorizer.empty() && c.authorizer != "polkit" && c.authorizer != "allow-all")
        throw std::runtime_error(fmt::format("authorizer must be polkit or allow-all, got '{}'", c.authorizer));
    if (c.workers < 1 || c.workers > 64)
        throw std::runtime_error(fmt::format("workers must be 1..64, got {}", c.workers));
    if (c.domainType != "auto" && c.domainType != "kvm" && c.domainType != "qemu")
        throw std::runtime_error(fmt::format("domain_type must be auto, kvm or qemu, got '{}'", c.domainType));
    // libvirt wants absolute kernel paths, and a relative one would depend on libvirtd's working directory.
    if (c.bootDir.empty() || c.bootDir.front() != '/')
        throw std::runtime_error(fmt::format("boot_dir must be an absolute path, got '{}'", c.bootDir));
    if (!c.hypervisorLogDir.empty() && c.hypervisorLogDir.front() != '/')
        throw std::runtime_error(
            fmt::format("hypervisor_log_dir must be an absolute path (or empty), got '{}'", c.hypervisorLogDir));
    if (c.storagePoolPath.empty() || c.storagePoolPath.front() != '/')
        throw std::runtime_error(fmt::format("pool_path must be an absolute path, got '{}'", c.storagePoolPath));
    if (c.storagePool.empty() || c.storagePool.size() > 64 ||
        c.storagePool.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            std::string::npos)
        throw std::runtime_error(
            fmt::format("pool must be 1..64 characters of letters, digits, '-', '_' and '.', got '{}'", c.storagePool));
    if (c.maxImportGiB < 1)
        throw std::runtime_error("max_import_gib must be at least 1");
    if (c.copyWorkers < 1 || c.copyWorkers > 16)
        throw std::runtime_error(fmt::format("copy_workers must be 1..16, got {}", c.copyWorkers));
    if (c.stallTimeoutSec < 1)
        throw std::runtime_error("stall_timeout_sec must be 1..86400, got 0");
    if (c.lifetime.maxTtlSec > 0 && c.lifetime.defaultTtlSec > c.lifetime.maxTtlSec)
        throw std::runtime_error(fmt::format("[Lifetime] default_ttl_sec ({}) must not exceed max_ttl_sec ({})",
                                             c.lifetime.defaultTtlSec, c.lifetime.maxTtlSec));
    if (c.createRate.burst > 0 && c.createRate.perMinute == 0)
        throw std::runtime_error("[Quota] create_burst needs create_per_minute");
}

struct ParseState
{
    std::map<std::string, std::string> values; // "section.key" -> value
    std::string error;
};

int onEntry(void* user, const char* section, const char* name, const char* value)
{
    auto* state = static_cast<ParseState*>(user);
    static const std::set<std::string> known{"Daemon.bus",
                                             "Daemon.hypervisor",
                                             "Daemon.state_dir",
                                             "Daemon.log_level",
                                             "Daemon.workers",
                                             "Daemon.stats_interval_sec",
                                             "Daemon.authorizer",
                                             "Quota.max_vms",
                                             "Quota.max_running",
                                             "Quota.max_vcpus",
                                             "Quota.max_memory_mib",
                                             "Quota.max_disk_gib",
                                             "Daemon.domain_type",
                                             "Guest.boot_dir",
                                             "Storage.pool",
                                             "Storage.pool_path",
                                             "Images.max_import_gib",
                                             "Images.copy_workers",
                                             "Images.stall_timeout_sec",
                                             "Lifetime.max_ttl_sec",
                                             "Lifetime.default_ttl_sec",
                                             "Quota.create_per_minute",
                                             "Quota.create_burst",
                                             "Alerts.interval_sec",
                                             "Alerts.pool_free_percent",
                                             "Alerts.pool_free_bytes",
                                             "Alerts.host_memory_free_bytes",
                                             "Alerts.vm_cpu_percent",
                                             "Alerts.vm_cpu_sustain_sec",
                                             "Alerts.unreachable_sec",
                                             "Alerts.clear_margin_percent",
                                             "Alerts.alert_command",
                                             "Alerts.alert_command_timeout_sec",
                                             "Daemon.hypervisor_log_dir"};
    const std::string key = std::string(section) + "." + name;
    if (known.count(key) == 0) {
        state->error =
            fmt::format("unknown key '{}' in section [{}]; known: [Daemon] bus, hypervisor, state_dir, "
                        "log_level, workers, authorizer, stats_interval_sec, domain_type; [Guest] boot_dir; "
                        "[Storage] pool, pool_path; [Images] max_import_gib, copy_workers, "
                        "stall_timeout_sec; [Quota] max_vms, max_running, max_vcpus, max_memory_mib, "
                        "max_disk_gib, create_per_minute, create_burst; [Lifetime] max_ttl_sec, "
                        "default_ttl_sec; [Alerts] interval_sec, pool_free_percent, pool_free_bytes, "
                        "host_memory_free_bytes, vm_cpu_percent, vm_cpu_sustain_sec, unreachable_sec, "
                        "clear_margin_percent, alert_command, alert_command_timeout_sec; [Daemon] hypervisor_log_dir",
                        name, section);
        return 0;
    }
    state->values[key] = value;
    return 1;
}

// A size: a whole number of bytes, or with a K, M, G or T suffix (powers of 1024).
std::uint64_t parseSize(const std::string& path, const char* key, const std::string& text)
{
    static const std::string suffixes = "KMGT";
    bool ok = !text.empty() && text.front() != '-';
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        if (ok)
            n = std::stoull(text, &used);
    } catch (const std::logic_error&) {
        ok = false;
    }
    const std::string rest = ok ? text.substr(used) : std::string();
    unsigned shift = 0;
    if (rest.size() == 1 && suffixes.find(rest.front()) != std::string::npos)
        shift = 10U * static_cast<unsigned>(suffixes.find(rest.front()) + 1);
    else if (!rest.empty())
        ok = false;
    if (!ok || n > (UINT64_MAX >> shift))
        throw std::runtime_error(fmt::format("{}: [Alerts] {} must be a size in bytes, optionally with a K, M, G or T "
                                             "suffix (powers of 1024), e.g. 10G; got '{}'",
                                             path, std::string(key).substr(7), text));
    return static_cast<std::uint64_t>(n) << shift;
}

void applyAlerts(const std::string& path, const std::map<std::string, std::string>& values, AlertSettings& a)
{
    auto number = [&](const char* key, std::uint64_t min, std::uint64_t max) -> std::optional<unsigned> {
        auto it = values.find(key);
        if (it == values.end())
            return std::nullopt;
        std::size_t used = 0;
        unsigned long long n = 0;
        try {
            n = std::stoull(it->second, &used);
        } catch (const std::logic_error&) {
            used = 0;
        }
        if (used == 0 || used != it->second.size() || it->second.front() == '-' || n < min || n > max)
            throw std::runtime_error(fmt::format("{}: [Alerts] {} must be a number {}..{}, got '{}'", path,
                                                 std::string(key).substr(7), min, max, it->second));
        return static_cast<unsigned>(n);
    };
    auto size = [&](const char* key) -> std::optional<std::uint64_t> {
        auto it = values.find(key);
        if (it == values.end())
            return std::nullopt;
        return parseSize(path, key, it->second);
    };
    AlertThresholds& t = a.thresholds;
    a.intervalSec = number("Alerts.interval_sec", 1, 3600).value_or(a.intervalSec);
    t.poolFreePercent = number("Alerts.pool_free_percent", 1, 99);
    t.poolFreeBytes = size("Alerts.pool_free_bytes");
    t.hostMemoryFreeBytes = size("Alerts.host_memory_free_bytes");
    t.vmCpuPercent = number("Alerts.vm_cpu_percent", 1, 100000);
    t.vmCpuSustainSec = number("Alerts.vm_cpu_sustain_sec", 0, 86400).value_or(t.vmCpuSustainSec);
    t.unreachableSec = number("Alerts.unreachable_sec", 0, 86400);
    t.clearMarginPercent = number("Alerts.clear_margin_percent", 0, 50).value_or(t.clearMarginPercent);
    a.commandTimeoutSec = number("Alerts.alert_command_timeout_sec", 1, 3600).value_or(a.commandTimeoutSec);
    if (auto it = values.find("Alerts.alert_command"); it != values.end()) {
        try {
            a.command = splitCommandLine(it->second);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(fmt::format("{}: [Alerts] {}", path, e.what()));
        }
    }
}

void applyFile(const std::string& path, Config& c)
{
    ParseState state;
    const int r = ini_parse(path.c_str(), &onEntry, &state);
    if (r < 0)
        throw std::runtime_error(fmt::format("cannot read {}", path));
    if (r > 0)
        throw std::runtime_error(fmt::format("{}:{}: {}", path, r, state.error.empty() ? "syntax error" : state.error));
    auto take = [&](const char* key, std::string& into) {
        if (auto it = state.values.find(key); it != state.values.end())
            into = it->second;
    };
    take("Daemon.bus", c.bus);
    take("Daemon.hypervisor", c.hypervisor);
    take("Daemon.state_dir", c.stateDir);
    take("Daemon.log_level", c.logLevel);
    take("Daemon.authorizer", c.authorizer);
    take("Daemon.domain_type", c.domainType);
    take("Daemon.hypervisor_log_dir", c.hypervisorLogDir);
    take("Guest.boot_dir", c.bootDir);
    take("Storage.pool", c.storagePool);
    take("Storage.pool_path", c.storagePoolPath);
    auto number = [&](const char* key, std::uint64_t max) -> std::optional<std::uint64_t> {
        auto it = state.values.find(key);
        if (it == state.values.end())
            return std::nullopt;
        try {
            std::size_t used = 0;
            const unsigned long long n = std::stoull(it->second, &used);
            if (used != it->second.size() || it->second.front() == '-' || n > max)
                throw std::invalid_argument("out of range");
            return n;
        } catch (const std::logic_error&) {
            throw std::runtime_error(
                fmt::format("{}: {} must be a number 0..{}, got '{}'", path, key, max, it->second));
        }
    };
    auto u32 = [](std::optional<std::uint64_t> v) -> std::optional<std::uint32_t> {
        if (!v)
            return std::nullopt;
        return static_cast<std::uint32_t>(*v);
    };
    if (auto interval = number("Daemon.stats_interval_sec", 3600)) {
        if (*interval < 1)
            throw std::runtime_error(fmt::format("{}: stats_interval_sec must be 1..3600, got 0", path));
        c.statsIntervalSec = static_cast<unsigned>(*interval);
    }
    if (auto gib = number("Images.max_import_gib", 1U << 20U))
        c.maxImportGiB = *gib;
    if (auto copies = number("Images.copy_workers", 16))
        c.copyWorkers = static_cast<unsigned>(*copies);
    if (auto stall = number("Images.stall_timeout_sec", 86400))
        c.stallTimeoutSec = static_cast<unsigned>(*stall);
    c.quotaDefaults.maxVms = u32(number("Quota.max_vms", UINT32_MAX));
    c.quotaDefaults.maxRunning = u32(number("Quota.max_running", UINT32_MAX));
    c.quotaDefaults.maxVcpus = u32(number("Quota.max_vcpus", UINT32_MAX));
    c.quotaDefaults.maxMemoryMiB = number("Quota.max_memory_mib", INT64_MAX);
    c.quotaDefaults.maxDiskGiB = number("Quota.max_disk_gib", INT64_MAX);
    c.lifetime.maxTtlSec = number("Lifetime.max_ttl_sec", Limits::kMaxTtlSec).value_or(0);
    c.lifetime.defaultTtlSec = number("Lifetime.default_ttl_sec", Limits::kMaxTtlSec).value_or(0);
    c.createRate.perMinute = u32(number("Quota.create_per_minute", 1000000)).value_or(0);
    c.createRate.burst = u32(number("Quota.create_burst", 1000000)).value_or(0);
    applyAlerts(path, state.values, c.alerts);
    if (auto it = state.values.find("Daemon.workers"); it != state.values.end()) {
        try {
            std::size_t used = 0;
            const unsigned long n = std::stoul(it->second, &used);
            if (used != it->second.size())
                throw std::invalid_argument("trailing characters");
            c.workers = static_cast<unsigned>(std::min<unsigned long>(n, 1000));
        } catch (const std::logic_error&) {
            throw std::runtime_error(fmt::format("{}: workers must be a number 1..64, got '{}'", path, it->second));
        }
    }
}

} // namespace

Config loadConfig(const std::string& path, const ConfigOverrides& overrides)
{
    Config c;
    struct stat st
    {
    };
    if (!path.empty() && stat(path.c_str(), &st) == 0)
        applyFile(path, c);
    if (overrides.bus)
        c.bus = *overrides.bus;
    if (overrides.hypervisor)
        c.hypervisor = *overrides.hypervisor;
    if (overrides.stateDir)
        c.stateDir = *overrides.stateDir;
    if (overrides.logLevel)
        c.logLevel = *overrides.logLevel;
    if (overrides.authorizer)
        c.authorizer = *overrides.authorizer;
    // Follows --state-dir when the file does not set it.
    if (c.bootDir.empty())
        c.bootDir = c.stateDir + "/boot";
    if (c.storagePoolPath.empty())
        c.storagePoolPath = c.stateDir + "/pool";
    validate(c);
    return c;
}

std::string effectiveAuthorizer(const Config& config)
{
    if (!config.authorizer.empty())
        return config.authorizer;
    return config.bus == "session" ? "allow-all" : "polkit";
}

} // namespace hangar::service
