// hangard's configuration: built-in defaults, overridden by the INI file (default /etc/hangar/hangard.conf; a
// missing file means defaults), overridden by command-line options. See docs/hangard.conf.example.
#pragma once

#include "core/AlertPolicy.h"
#include "core/LifetimePolicy.h"
#include "core/Types.h"

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
    unsigned statsIntervalSec = 5; // how often running VMs' figures are sampled
    // "polkit" or "allow-all"; empty means: allow-all on the session bus (which admits only its own user),
    // polkit on any other bus.
    std::string authorizer;
    QuotaLimits quotaDefaults;          // the [Quota] section: limits for users without their own
    std::string domainType = "auto";    // auto | kvm | qemu: <domain type> of new guests (auto: detect KVM)
    std::string bootDir;                // [Guest] boot_dir; empty in the file means <stateDir>/boot
    std::string hypervisorLogDir;       // [Daemon] hypervisor_log_dir; empty: libvirt's for the URI
    std::string storagePool = "hangar"; // [Storage] pool: the libvirt storage pool of images and VM disks
    std::string storagePoolPath;        // [Storage] pool_path; empty in the file means <stateDir>/pool
    std::uint64_t maxImportGiB = 256;   // [Images] max_import_gib: the largest file ImportImage accepts
    unsigned copyWorkers = 2;           // [Images] copy_workers: image copies at once; more queue
    unsigned stallTimeoutSec = 60;      // [Images] stall_timeout_sec: a source silent this long fails its import
    LifetimeSettings lifetime;          // [Lifetime] max_ttl_sec, default_ttl_sec
    CreateRateSettings createRate;      // [Quota] create_per_minute, create_burst
    AlertSettings alerts;               // [Alerts]: thresholds, interval, alert_command (docs/alerts.md)

    bool operator==(const Config&) const = default;
};

// What the command line gave; unset fields leave the file's (or the default) value.
struct ConfigOverrides
{
    std::optional<std::string> bus;
    std::optional<std::string> hypervisor;
    std::optional<std::string> stateDir;
    std::optional<std::string> logLevel;
    std::optional<std::string> authorizer;
};

// The authorizer the configuration asks for, with the empty default resolved.
std::string effectiveAuthorizer(const Config& config);

// Throws std::runtime_error naming the file and line for a malformed file or an invalid value. Also what SIGHUP
// calls to read the file again (service/Reloader.h).
Config loadConfig(const std::string& path, const ConfigOverrides& overrides);

} // namespace hangar::service
