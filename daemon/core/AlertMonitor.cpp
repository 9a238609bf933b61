#include "core/AlertMonitor.h"

#include <chrono>
#include <memory>

namespace hangar {
namespace {

std::int64_t monotonicUsec()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

AlertMonitor::AlertMonitor(Inventory& inventory, const StatsSampler& stats, HostSource& host, Executor& executor,
                           AuditLog& audit, Authorizer& authorizer, AlertSettings settings)
    : m_inventory(inventory), m_stats(stats), m_host(host), m_executor(executor), m_audit(audit),
      m_authorizer(authorizer), m_settings(std::move(settings))
{
    m_policy.setThresholds(m_settings.thresholds);
}

void AlertMonitor::setSettings(const AlertSettings& settings)
{
    m_settings = settings;
    m_policy.setThresholds(settings.thresholds);
}

void AlertMonitor::start()
{
    m_running = true;
    tick();
}

void AlertMonitor::stop()
{
    m_running = false;
    if (m_timer) {
        m_executor.cancel(*m_timer);
        m_timer.reset();
    }
}

void AlertMonitor::tick()
{
    m_timer.reset();
    if (!m_running || m_sampling)
        return;
    m_sampling = true;
    auto reading = std::make_shared<HostReading>();
    m_executor.submit(
        [&host = m_host, reading] {
            try {
                *reading = host.sample();
            } catch (const std::exception& e) { // an unexpected failure is an unreachable host, not a crash
                reading->reachable = false;
                reading->error = e.what();
            }
        },
        [this, reading] {
            m_sampling = false;
            check(*reading);
            if (m_running)
                m_timer = m_executor.schedule(std::chrono::seconds(m_settings.intervalSec), [this] { tick(); });
        });
}

void AlertMonitor::check(const HostReading& reading)
{
    const AlertTime now{m_executor.nowUsec(), monotonicUsec()};
    std::vector<AlertChange> changes = m_policy.observeHost(reading, now);
    std::vector<VmCpuReading> vms;
    for (const auto& [uuid, stats] : m_stats.all()) {
        const Vm* vm = m_inventory.find(uuid);
        if (vm && stats.cpuPercent)
            vms.push_back(VmCpuReading{uuid, vm->record.name, *stats.cpuPercent});
    }
    for (auto& change : m_policy.observeVms(reading.host, vms, now))
        changes.push_back(std::move(change));
    for (const auto& change : changes)
        publish(change);
}

void AlertMonitor::publish(const AlertChange& change)
{
    const Vm* vm = change.alert.vmUuid.empty() ? nullptr : m_inventory.find(change.alert.vmUuid);
    m_audit.alert(vm ? &vm->record : nullptr, change.raised ? change.alert.severity : Severity::Info,
                  change.raised ? "raised" : "cleared", change.alert.subject + ": " + change.message);
    for (auto* sink : m_sinks)
        sink->alertChanged(change);
}

void AlertMonitor::visible(const Caller& caller, const Done<std::vector<Alert>>& done)
{
    Caller quiet = caller;
    quiet.allowInteraction = false; // reading never prompts; a non-administrator simply sees less
    m_authorizer.check(quiet, Action::ManageAllVms, {{"verb", "alerts"}},
                       [this, caller, done](const std::optional<Error>& denied) {
                           std::vector<Alert> alerts = m_policy.active();
                           if (denied)
                               std::erase_if(alerts, [&](const Alert& a) {
                                   if (a.vmUuid.empty())
                                       return false;
                                   const Vm* vm = m_inventory.find(a.vmUuid);
                                   return !vm || vm->record.owner != caller.uid;
                               });
                           done(std::move(alerts));
                       });
}

} // namespace hangar
