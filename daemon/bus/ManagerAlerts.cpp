// ManagerObject's part of resource alerts (core/AlertMonitor.h): the Alert signal and GetAlerts. Declared in
// bus/ManagerObject.h.
#include "bus/ManagerObject.h"
#include "bus/ReplyBoundary.h"

namespace hangar::bus {

void ManagerObject::alertChanged(const AlertChange& change)
{
    // A cleared alert is the same signal with severity info: one signal to follow, whose id says which alert ended.
    const Severity severity = change.raised ? change.alert.severity : Severity::Info;
    emitAlert(change.alert.id, std::string(severityName(severity)), change.alert.subject, change.message);
}

void ManagerObject::GetAlerts(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, uint64_t>>>&& result)
{
    using Row = sdbus::Struct<std::string, std::string, std::string, std::string, uint64_t>;
    asyncMethod(std::move(result), m_calls, [&](const Reply<std::vector<Row>>& reply) {
        m_alerts.visible(currentCaller(getObject()),
                         reply.done<std::vector<Alert>>([](const std::vector<Alert>& alerts) {
                             std::vector<Row> rows;
                             rows.reserve(alerts.size());
                             for (const auto& a : alerts)
                                 rows.emplace_back(a.id, std::string(severityName(a.severity)), a.subject, a.message,
                                                   static_cast<uint64_t>(a.raisedAtUsec));
                             return rows;
                         }));
    });
}

} // namespace hangar::bus
