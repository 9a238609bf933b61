// Per-user quotas: how many VMs, running VMs, vCPUs, MiB of memory and GiB of disk a user's VMs may take. A user's
// limits are their own (set by an administrator), or none at all for an administrator (whom polkit grants
// manage-all-vms without interaction), or the configured defaults. Usage is computed from the Inventory, which
// includes VMs still being created, so checking and reserving happen in one loop callback: parallel requests
// cannot overshoot a limit. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Inventory.h"
#include "core/Outcome.h"
#include "core/Store.h"

#include <functional>
#include <map>
#include <string>

namespace hangar {

struct QuotaUsage
{
    std::uint32_t vms = 0;
    std::uint32_t running = 0; // running, paused, shutting-down, suspended, or being started
    std::uint32_t vcpus = 0;
    std::uint64_t memoryMiB = 0;
    std::uint64_t diskGiB = 0;
};

enum class QuotaSource
{
    User,      // set for this user with SetQuota
    Default,   // the [Quota] section of the configuration
    Unlimited, // an administrator without a quota of their own
};
std::string_view quotaSourceName(QuotaSource source);

struct QuotaReport
{
    QuotaLimits limits;
    QuotaUsage usage;
    QuotaSource source = QuotaSource::Default;
};

struct EffectiveQuota
{
    QuotaLimits limits;
    QuotaSource source = QuotaSource::Default;
};

// What SetQuota asks for: limits to set, limits to remove, or a reset to the defaults.
struct QuotaChange
{
    QuotaLimits set;
    std::vector<std::string> unset; // "max_vms", ...
    bool reset = false;
};

QuotaUsage usageOf(const Inventory& inventory, std::uint32_t uid);
// Error(QuotaExceeded) naming the first limit that adding a VM with spec would exceed.
void checkCreate(const QuotaLimits& limits, const QuotaUsage& usage, const VmSpec& spec);
// Error(QuotaExceeded) when addGiB more disk (an image being imported or published) would exceed max_disk_gib.
void checkDisk(const QuotaLimits& limits, const QuotaUsage& usage, std::uint64_t addGiB);
// Error(QuotaExceeded) naming the first limit that growing a VM from `from` to `to` would exceed (SetResources).
void checkGrow(const QuotaLimits& limits, const QuotaUsage& usage, const VmSpec& from, const VmSpec& to);
// Error(QuotaExceeded) when one more running VM would exceed max_running.
void checkStart(const QuotaLimits& limits, const QuotaUsage& usage);

class QuotaManager
{
public:
    QuotaManager(Inventory& inventory, Store& store, Authorizer& authorizer, AuditLog& audit, QuotaLimits defaults);

    // Whether caller is an administrator: polkit grants them manage-all-vms without asking (never prompts).
    void isAdministrator(const Caller& caller, std::function<void(bool)> done);
    // The limits that apply to what caller does to their own VMs, and where they come from.
    void effectiveFor(const Caller& caller, const Done<EffectiveQuota>& done);
    // The same for enforcing them: when neither the caller nor the defaults have a limit, there is none to apply
    // whoever the caller is, so polkit is not asked whether they are an administrator (a round trip per Start).
    void limitsFor(const Caller& caller, const Done<EffectiveQuota>& done);
    // GetQuota: own quota for anyone; another user's needs manage-hosts.
    void get(const Caller& caller, std::uint32_t uid, const Done<QuotaReport>& done);
    // SetQuota: needs manage-hosts.
    void set(const Caller& caller, std::uint32_t uid, const QuotaChange& change, const Done<>& done);

    // What uid uses: their VMs (usageOf) plus the disk their images take (the provider set here, GiB).
    QuotaUsage usage(std::uint32_t uid) const;
    // The [Quota] defaults, again after a configuration reload (SIGHUP): they apply from the next check on.
    void setDefaults(const QuotaLimits& defaults) { m_defaults = defaults; }
    void setImageUsage(std::function<std::uint64_t(std::uint32_t uid)> diskGiB) { m_imageDiskGiB = std::move(diskGiB); }

private:
    Inventory& m_inventory;
    Store& m_store;
    Authorizer& m_authorizer;
    AuditLog& m_audit;
    QuotaLimits m_defaults;
    std::function<std::uint64_t(std::uint32_t)> m_imageDiskGiB;
};

} // namespace hangar
