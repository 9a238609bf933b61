#include "core/AlertPolicy.h"

#include <algorithm>
#include <fmt/format.h>

namespace hangar {
namespace {

constexpr std::int64_t kUsecPerSec = 1000000;

std::string bytes(std::uint64_t n)
{
    constexpr double kMiB = 1024.0 * 1024.0;
    constexpr double kGiB = kMiB * 1024.0;
    if (static_cast<double>(n) >= kGiB)
        return fmt::format("{:.1f} GiB", static_cast<double>(n) / kGiB);
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / kMiB);
}

// The bytes a value must reach again to clear a "below n bytes" alert.
double clearAbove(std::uint64_t threshold, unsigned marginPercent)
{
    return static_cast<double>(threshold) * (1.0 + marginPercent / 100.0);
}

} // namespace

void AlertPolicy::update(std::vector<AlertChange>& changes, Verdict verdict, AlertTime now)
{
    auto it = m_conditions.find(verdict.alert.id);
    if (!verdict.enabled) { // the threshold was turned off: nothing to watch, nothing left active
        if (it != m_conditions.end() && it->second.raised)
            changes.push_back({*it->second.raised, false, "cleared: the threshold was removed from the configuration"});
        if (it != m_conditions.end())
            m_conditions.erase(it);
        return;
    }
    if (!verdict.known)
        return;
    Condition& condition = it != m_conditions.end() ? it->second : m_conditions[verdict.alert.id];
    if (condition.raised) {
        if (verdict.backPast) {
            changes.push_back({*condition.raised, false, "cleared: " + verdict.current});
            m_conditions.erase(verdict.alert.id);
        }
        return;
    }
    if (!verdict.beyond) { // the streak, if any, is broken
        m_conditions.erase(verdict.alert.id);
        return;
    }
    if (!condition.beyondSinceUsec)
        condition.beyondSinceUsec = now.monotonicUsec;
    if (now.monotonicUsec - *condition.beyondSinceUsec < verdict.sustainUsec)
        return;
    verdict.alert.raisedAtUsec = now.wallUsec;
    condition.raised = verdict.alert;
    changes.push_back({verdict.alert, true, verdict.alert.message});
}

AlertPolicy::Verdict AlertPolicy::poolVerdict(const HostReading& r) const
{
    const auto& t = m_thresholds;
    Verdict v;
    v.alert.id = "pool-free:" + r.host + "/" + r.pool;
    v.alert.kind = "pool-free";
    v.alert.host = r.host;
    v.alert.subject = r.host + "/pool/" + r.pool;
    v.enabled = t.poolFreePercent || t.poolFreeBytes;
    v.known = r.poolCapacityBytes && r.poolAvailableBytes && *r.poolCapacityBytes > 0;
    if (!v.enabled || !v.known)
        return v;
    const std::uint64_t free = *r.poolAvailableBytes;
    const double percent = 100.0 * static_cast<double>(free) / static_cast<double>(*r.poolCapacityBytes);
    const bool lowPercent = t.poolFreePercent && percent < *t.poolFreePercent;
    const bool lowBytes = t.poolFreeBytes && free < *t.poolFreeBytes;
    v.beyond = lowPercent || lowBytes;
    v.backPast = (!t.poolFreePercent || percent >= *t.poolFreePercent + t.clearMarginPercent) &&
                 (!t.poolFreeBytes || static_cast<double>(free) >= clearAbove(*t.poolFreeBytes, t.clearMarginPercent));
    v.current = fmt::format("pool {} on {} has {:.1f}% free ({} of {})", r.pool, r.host, percent, bytes(free),
                            bytes(*r.poolCapacityBytes));
    std::string limits;
    if (t.poolFreePercent)
        limits = fmt::format("{}%", *t.poolFreePercent);
    if (t.poolFreeBytes)
        limits += (limits.empty() ? "" : " or ") + bytes(*t.poolFreeBytes);
    v.alert.message = v.current + "; the alert is set below " + limits;
    return v;
}

AlertPolicy::Verdict AlertPolicy::memoryVerdict(const HostReading& r) const
{
    const auto& t = m_thresholds;
    Verdict v;
    v.alert.id = "host-memory:" + r.host;
    v.alert.kind = "host-memory";
    v.alert.host = r.host;
    v.alert.subject = r.host;
    v.enabled = t.hostMemoryFreeBytes.has_value();
    v.known = r.memoryFreeBytes.has_value();
    if (!v.enabled || !v.known)
        return v;
    v.beyond = *r.memoryFreeBytes < *t.hostMemoryFreeBytes;
    v.backPast = static_cast<double>(*r.memoryFreeBytes) >= clearAbove(*t.hostMemoryFreeBytes, t.clearMarginPercent);
    v.current = fmt::format("host {} has {} of memory free", r.host, bytes(*r.memoryFreeBytes));
    v.alert.message = v.current + "; the alert is set below " + bytes(*t.hostMemoryFreeBytes);
    return v;
}

AlertPolicy::Verdict AlertPolicy::unreachableVerdict(const HostReading& r) const
{
    const auto& t = m_thresholds;
    Verdict v;
    v.alert.id = "host-unreachable:" + r.host;
    v.alert.kind = "host-unreachable";
    v.alert.host = r.host;
    v.alert.subject = r.host;
    v.alert.severity = Severity::Error; // every VM of the host is out of reach, not just short of something
    v.enabled = t.unreachableSec.has_value();
    if (!v.enabled)
        return v;
    v.beyond = !r.reachable;
    v.backPast = r.reachable;
    v.sustainUsec = static_cast<std::int64_t>(*t.unreachableSec) * kUsecPerSec;
    v.current = fmt::format("the hypervisor of host {} answers again", r.host);
    v.alert.message = fmt::format("the hypervisor of host {} has been unreachable for at least {} s{}{}", r.host,
                                  *t.unreachableSec, r.error.empty() ? "" : ": ", r.error);
    return v;
}

AlertPolicy::Verdict AlertPolicy::cpuVerdict(const std::string& host, const VmCpuReading& vm) const
{
    const auto& t = m_thresholds;
    Verdict v;
    v.alert.id = "vm-cpu:" + host + "/" + vm.uuid;
    v.alert.kind = "vm-cpu";
    v.alert.host = host;
    v.alert.subject = host + "/vm/" + vm.name;
    v.alert.vmUuid = vm.uuid;
    v.enabled = t.vmCpuPercent.has_value();
    if (!v.enabled)
        return v;
    v.beyond = vm.cpuPercent >= *t.vmCpuPercent;
    v.backPast = vm.cpuPercent < static_cast<double>(*t.vmCpuPercent) - t.clearMarginPercent;
    v.sustainUsec = static_cast<std::int64_t>(t.vmCpuSustainSec) * kUsecPerSec;
    v.current = fmt::format("VM {} on {} uses {:.0f}% CPU", vm.name, host, vm.cpuPercent);
    v.alert.message =
        fmt::format("{}, at or above {}% for at least {} s", v.current, *t.vmCpuPercent, t.vmCpuSustainSec);
    return v;
}

std::vector<AlertChange> AlertPolicy::observeHost(const HostReading& reading, AlertTime now)
{
    std::vector<AlertChange> changes;
    update(changes, unreachableVerdict(reading), now);
    update(changes, poolVerdict(reading), now);
    update(changes, memoryVerdict(reading), now);
    return changes;
}

std::vector<AlertChange> AlertPolicy::observeVms(const std::string& host, const std::vector<VmCpuReading>& vms,
                                                 AlertTime now)
{
    std::vector<AlertChange> changes;
    std::vector<std::string> seen;
    for (const auto& vm : vms) {
        Verdict verdict = cpuVerdict(host, vm);
        seen.push_back(verdict.alert.id);
        update(changes, std::move(verdict), now);
    }
    const std::string prefix = "vm-cpu:" + host + "/";
    for (auto it = m_conditions.begin(); it != m_conditions.end();) {
        if (it->first.rfind(prefix, 0) != 0 || std::find(seen.begin(), seen.end(), it->first) != seen.end()) {
            ++it;
            continue;
        }
        if (it->second.raised)
            changes.push_back({*it->second.raised, false,
                               fmt::format("cleared: {} is no longer running", it->second.raised->subject)});
        it = m_conditions.erase(it);
    }
    return changes;
}

std::vector<Alert> AlertPolicy::active() const
{
    std::vector<Alert> alerts;
    for (const auto& [id, condition] : m_conditions)
        if (condition.raised)
            alerts.push_back(*condition.raised);
    std::stable_sort(alerts.begin(), alerts.end(),
                     [](const Alert& a, const Alert& b) { return a.raisedAtUsec < b.raisedAtUsec; });
    return alerts;
}

} // namespace hangar
