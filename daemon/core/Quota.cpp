#include "core/Quota.h"

#include <fmt/format.h>
#include <memory>
#include <set>

namespace hangar {
namespace {

bool countsAsRunning(const Vm& vm)
{
    return vm.state == VmState::Running || vm.state == VmState::Paused || vm.state == VmState::ShuttingDown ||
           vm.state == VmState::Suspended || vm.operation == VmOperation::Start;
}

template <typename T>
void checkLimit(const char* name, const std::optional<T>& limit, T used, T adding, const char* unit = "")
{
    if (limit && used + adding > *limit)
        throw Error(ErrorCode::QuotaExceeded,
                    fmt::format("quota exceeded: {} is {}{}, {}{} in use, this needs {}{} more", name, *limit, unit,
                                used, unit, adding, unit));
}

Caller quiet(Caller caller)
{
    caller.allowInteraction = false;
    return caller;
}

} // namespace

std::string_view quotaSourceName(QuotaSource source)
{
    switch (source) {
    case QuotaSource::User:
        return "user";
    case QuotaSource::Default:
        return "default";
    case QuotaSource::Unlimited:
        return "unlimited";
    }
    return "default";
}

QuotaUsage usageOf(const Inventory& inventory, std::uint32_t uid)
{
    QuotaUsage usage;
    for (const Vm* vm : inventory.ownedBy(uid)) {
        ++usage.vms;
        if (countsAsRunning(*vm))
            ++usage.running;
        usage.vcpus += vm->record.spec.vcpus;
        usage.memoryMiB += vm->record.spec.memoryMiB;
        usage.diskGiB += vm->record.spec.diskGiB;
    }
    return usage;
}

void checkCreate(const QuotaLimits& limits, const QuotaUsage& usage, const VmSpec& spec)
{
    checkLimit<std::uint32_t>("max_vms", limits.maxVms, usage.vms, 1);
    checkLimit<std::uint32_t>("max_vcpus", limits.maxVcpus, usage.vcpus, spec.vcpus);
    checkLimit<std::uint64_t>("max_memory_mib", limits.maxMemoryMiB, usage.memoryMiB, spec.memoryMiB, " MiB");
    checkLimit<std::uint64_t>("max_disk_gib", limits.maxDiskGiB, usage.diskGiB, spec.diskGiB, " GiB");
}

void checkGrow(const QuotaLimits& limits, const QuotaUsage& usage, const VmSpec& from, const VmSpec& to)
{
    // Only what grows is checked: a user already over a lowered limit may still shrink or keep the rest.
    if (to.vcpus > from.vcpus)
        checkLimit<std::uint32_t>("max_vcpus", limits.maxVcpus, usage.vcpus, to.vcpus - from.vcpus);
    if (to.memoryMiB > from.memoryMiB)
        checkLimit<std::uint64_t>("max_memory_mib", limits.maxMemoryMiB, usage.memoryMiB, to.memoryMiB - from.memoryMiB,
                                  " MiB");
    if (to.diskGiB > from.diskGiB)
        checkLimit<std::uint64_t>("max_disk_gib", limits.maxDiskGiB, usage.diskGiB, to.diskGiB - from.diskGiB, " GiB");
}

void checkDisk(const QuotaLimits& limits, const QuotaUsage& usage, std::uint64_t addGiB)
{
    checkLimit<std::uint64_t>("max_disk_gib", limits.maxDiskGiB, usage.diskGiB, addGiB, " GiB");
}

QuotaUsage QuotaManager::usage(std::uint32_t uid) const
{
    QuotaUsage result = usageOf(m_inventory, uid);
    if (m_imageDiskGiB)
        result.diskGiB += m_imageDiskGiB(uid);
    return result;
}

void checkStart(const QuotaLimits& limits, const QuotaUsage& usage)
{
    checkLimit<std::uint32_t>("max_running", limits.maxRunning, usage.running, 1);
}

QuotaManager::QuotaManager(Inventory& inventory, Store& store, Authorizer& authorizer, AuditLog& audit,
                           QuotaLimits defaults)
    : m_inventory(inventory), m_store(store), m_authorizer(authorizer), m_audit(audit), m_defaults(defaults)
{}

void QuotaManager::effectiveFor(const Caller& caller, const Done<EffectiveQuota>& done)
{
    try {
        if (auto own = m_store.quota(caller.uid))
            return done(EffectiveQuota{*own, QuotaSource::User});
    } catch (const Error& e) {
        return done(e);
    }
    isAdministrator(caller, [this, done](bool admin) {
        if (admin)
            return done(EffectiveQuota{QuotaLimits{}, QuotaSource::Unlimited});
        done(EffectiveQuota{m_defaults, QuotaSource::Default});
    });
}

void QuotaManager::isAdministrator(const Caller& caller, std::function<void(bool)> done)
{
    // Administrators are those polkit lets manage everyone's VMs; never prompt just to learn that.
    m_authorizer.check(quiet(caller), Action::ManageAllVms, {{"verb", "quota"}},
                       [done = std::move(done)](const std::optional<Error>& denied) { done(!denied); });
}

void QuotaManager::limitsFor(const Caller& caller, const Done<EffectiveQuota>& done)
{
    if (m_defaults == QuotaLimits{}) {
        try {
            if (auto own = m_store.quota(caller.uid))
                return done(EffectiveQuota{*own, QuotaSource::User});
        } catch (const Error& e) {
            return done(e);
        }
        return done(EffectiveQuota{QuotaLimits{}, QuotaSource::Default});
    }
    effectiveFor(caller, done);
}

void QuotaManager::get(const Caller& caller, std::uint32_t uid, const Done<QuotaReport>& done)
{
    auto report = [this, uid, done](EffectiveQuota effective) {
        done(QuotaReport{effective.limits, usage(uid), effective.source});
    };
    if (uid == caller.uid) {
        return effectiveFor(caller, [report, done](const Outcome<EffectiveQuota>& o) {
            if (!o.ok())
                return done(o.error());
            report(o.value());
        });
    }
    m_authorizer.check(caller, Action::ManageHosts, {{"verb", "get-quota"}, {"uid", std::to_string(uid)}},
                       [this, uid, report, done](std::optional<Error> denied) {
                           if (denied)
                               return done(*denied);
                           try {
                               // Whether another user is an administrator cannot be asked of polkit without a
                               // process of theirs: report what applies to a guest.
                               if (auto own = m_store.quota(uid))
                                   return report(EffectiveQuota{*own, QuotaSource::User});
                               report(EffectiveQuota{m_defaults, QuotaSource::Default});
                           } catch (const Error& e) {
                               done(e);
                           }
                       });
}

void QuotaManager::set(const Caller& caller, std::uint32_t uid, const QuotaChange& change, const Done<>& done)
{
    static const std::set<std::string> names{"max_vms", "max_running", "max_vcpus", "max_memory_mib", "max_disk_gib"};
    for (const auto& name : change.unset)
        if (names.count(name) == 0)
            return done(Error(ErrorCode::InvalidArgument,
                              fmt::format("unset names unknown limit '{}'; limits are max_vms, max_running, "
                                          "max_vcpus, max_memory_mib, max_disk_gib",
                                          name)));
    if (change.reset && (change.set != QuotaLimits{} || !change.unset.empty()))
        return done(Error(ErrorCode::InvalidArgument, "reset cannot be combined with other keys"));

    m_authorizer.check(caller, Action::ManageHosts, {{"verb", "set-quota"}, {"uid", std::to_string(uid)}},
                       [this, caller, uid, change, done](std::optional<Error> denied) {
                           const std::string subject = fmt::format("quota of uid {}", uid);
                           try {
                               if (denied)
                                   throw *denied;
                               if (change.reset) {
                                   m_store.deleteQuota(uid);
                               } else {
                                   QuotaLimits next = m_store.quota(uid).value_or(m_defaults);
                                   auto apply = [](auto& field, const auto& value) {
                                       if (value)
                                           field = value;
                                   };
                                   apply(next.maxVms, change.set.maxVms);
                                   apply(next.maxRunning, change.set.maxRunning);
                                   apply(next.maxVcpus, change.set.maxVcpus);
                                   apply(next.maxMemoryMiB, change.set.maxMemoryMiB);
                                   apply(next.maxDiskGiB, change.set.maxDiskGiB);
                                   for (const auto& name : change.unset) {
                                       if (name == "max_vms")
                                           next.maxVms.reset();
                                       else if (name == "max_running")
                                           next.maxRunning.reset();
                                       else if (name == "max_vcpus")
                                           next.maxVcpus.reset();
                                       else if (name == "max_memory_mib")
                                           next.maxMemoryMiB.reset();
                                       else
                                           next.maxDiskGiB.reset();
                                   }
                                   m_store.setQuota(uid, next);
                               }
                           } catch (const Error& e) {
                               m_audit.failure(caller.uid, static_cast<const VmRecord*>(nullptr), "set-quota",
                                               Error(e.code(), fmt::format("{}: {}", subject, e.what())));
                               return done(e);
                           }
                           m_audit.success(caller.uid, nullptr, "set-quota",
                                           change.reset ? fmt::format("{}: back to the defaults", subject)
                                                        : fmt::format("{}: changed", subject));
                           done(std::monostate{});
                       });
}

} // namespace hangar
