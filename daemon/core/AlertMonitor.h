// Resource alerts on the loop: every [Alerts] interval_sec it samples the host (the hypervisor connection, its free
// memory and the storage pool, through a HostSource on a worker) and reads the VMs' CPU from the StatsSampler, and
// lets an AlertPolicy decide what is raised and cleared. Each change goes first to the audit log (action "alert"),
// then to every AlertSink (the Alert signal, the journal, the alert_command hook). GetAlerts reads the active ones
// here. Loop thread only, except HostSource::sample, which runs on a worker. See docs/alerts.md.
#pragma once

#include "core/AlertPolicy.h"
#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/Inventory.h"
#include "core/Outcome.h"
#include "core/Stats.h"

#include <optional>
#include <string>
#include <vector>

namespace hangar {

class HostSource
{
public:
    virtual ~HostSource() = default;
    // One look at the host; reachable=false (with the error) when the hypervisor does not answer. Blocking; called
    // on a worker thread.
    virtual HostReading sample() = 0;
};

class AlertSink
{
public:
    virtual ~AlertSink() = default;
    virtual void alertChanged(const AlertChange& change) = 0;
};

class AlertMonitor
{
public:
    AlertMonitor(Inventory& inventory, const StatsSampler& stats, HostSource& host, Executor& executor, AuditLog& audit,
                 Authorizer& authorizer, AlertSettings settings);

    void addSink(AlertSink* sink) { m_sinks.push_back(sink); }
    // A reload: new thresholds apply at the next check (alerts of a threshold turned off clear then), a new interval
    // from the next check on.
    void setSettings(const AlertSettings& settings);

    // Checks now, then every interval.
    void start();
    void stop();

    std::vector<Alert> active() const { return m_policy.active(); }
    // The alerts the caller may see: all of them for an administrator (manage-all-vms, asked without interaction),
    // else host alerts and those about VMs the caller owns.
    void visible(const Caller& caller, const Done<std::vector<Alert>>& done);

    // One check with this host reading (public for tests; start() does it on the interval).
    void check(const HostReading& reading);

private:
    void tick();
    void publish(const AlertChange& change);

    Inventory& m_inventory;
    const StatsSampler& m_stats;
    HostSource& m_host;
    Executor& m_executor;
    AuditLog& m_audit;
    Authorizer& m_authorizer;
    AlertSettings m_settings;
    AlertPolicy m_policy;
    std::vector<AlertSink*> m_sinks;
    std::optional<Executor::TimerId> m_timer;
    bool m_running = false;
    bool m_sampling = false;
};

} // namespace hangar
