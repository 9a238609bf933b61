// Logging set-up: spdlog's journald sink when stderr is connected to the journal (systemd sets JOURNAL_STREAM),
// plain stderr otherwise. Also the EventSink that writes every audit event to the journal with a MESSAGE_ID, so
// `journalctl MESSAGE_ID=...` finds Hangar's audit trail, and the AlertSink that writes each alert raised or cleared
// with its own MESSAGE_ID (docs/alerts.md).
#pragma once

#include "core/AlertMonitor.h"
#include "core/AuditLog.h"

#include <string>

namespace hangar::service {

// The journal PRIORITY of a severity: LOG_INFO, LOG_WARNING, LOG_ERR.
int journalPriority(Severity severity);
// True when stderr is the journal stream systemd gave us.
bool stderrIsJournal();
void setupLogging(const std::string& level);
// The level again after a configuration reload; level is one Config accepts.
void setLogLevel(const std::string& level);

class JournalEventSink final : public EventSink
{
public:
    void eventAppended(const EventRecord& event) override;
};

class JournalAlertSink final : public AlertSink
{
public:
    void alertChanged(const AlertChange& change) override;
};

} // namespace hangar::service
