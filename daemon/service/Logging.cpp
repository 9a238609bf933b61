#include "service/Logging.h"

#include <cstdio>
#include <cstdlib>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

namespace hangar::service {
namespace {

// MESSAGE_ID of Hangar's audit events (a random 128-bit id, fixed forever).
constexpr const char* kAuditMessageId = "7c1b4e0f5d3a4c6f9e2b8a1d0c3f5e7a";
// MESSAGE_ID of resource alerts raised or cleared (docs/alerts.md; also random and fixed forever).
constexpr const char* kAlertMessageId = "3f9a1c7e52b84d0e8c6a2f41b7d3e590";

// The level of the stderr line that stands for a journal entry when stderr is not the journal.
spdlog::level::level_enum logLevelOf(Severity severity)
{
    if (severity == Severity::Error)
        return spdlog::level::err;
    return severity == Severity::Warning ? spdlog::level::warn : spdlog::level::info;
}

} // namespace

int journalPriority(Severity severity)
{
    switch (severity) {
    case Severity::Error:
        return LOG_ERR;
    case Severity::Warning:
        return LOG_WARNING;
    case Severity::Info:
        break;
    }
    return LOG_INFO;
}

bool stderrIsJournal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream)
        return false;
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
        return false;
    struct stat st
    {
    };
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return st.st_dev == dev && st.st_ino == ino;
}

void setupLogging(const std::string& level)
{
    std::shared_ptr<spdlog::logger> logger;
    if (stderrIsJournal()) {
        logger = std::make_shared<spdlog::logger>("hangard", std::make_shared<spdlog::sinks::systemd_sink_mt>());
        logger->set_pattern("%v");
    } else {
        logger = std::make_shared<spdlog::logger>("hangard", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void setLogLevel(const std::string& level)
{
    spdlog::default_logger()->set_level(spdlog::level::from_str(level));
}

void JournalEventSink::eventAppended(const EventRecord& e)
{
    const std::string vm = e.vmName.empty() ? std::string("-") : e.vmName;
    if (stderrIsJournal()) {
        sd_journal_send("MESSAGE=%s %s by uid %u: %s: %s", e.action.c_str(), vm.c_str(), e.uid, e.outcome.c_str(),
                        e.message.c_str(), "MESSAGE_ID=%s", kAuditMessageId, "PRIORITY=%d", journalPriority(e.severity),
                        "HANGAR_EVENT_ID=%lld", static_cast<long long>(e.id), "HANGAR_VM_NAME=%s", e.vmName.c_str(),
                        "HANGAR_VM_UUID=%s", e.vmUuid.c_str(), "HANGAR_UID=%u", e.uid, "HANGAR_ACTION=%s",
                        e.action.c_str(), "HANGAR_OUTCOME=%s", e.outcome.c_str(), "HANGAR_SEVERITY=%s",
                        std::string(severityName(e.severity)).c_str(), nullptr);
        return;
    }
    spdlog::log(logLevelOf(e.severity), "event {} {} vm={} uuid={} uid={} outcome={}: {}", e.id, e.action, vm,
                e.vmUuid.empty() ? "-" : e.vmUuid, e.uid, e.outcome, e.message);
}

void JournalAlertSink::alertChanged(const AlertChange& change)
{
    const Alert& a = change.alert;
    const Severity severity = change.raised ? a.severity : Severity::Info;
    const char* state = change.raised ? "raised" : "cleared";
    if (stderrIsJournal()) {
        sd_journal_send("MESSAGE=alert %s %s: %s", state, a.subject.c_str(), change.message.c_str(), "MESSAGE_ID=%s",
                        kAlertMessageId, "PRIORITY=%d", journalPriority(severity), "HANGAR_ALERT_ID=%s", a.id.c_str(),
                        "HANGAR_ALERT_STATE=%s", state, "HANGAR_ALERT_SEVERITY=%s",
                        std::string(severityName(severity)).c_str(), "HANGAR_ALERT_SUBJECT=%s", a.subject.c_str(),
                        "HANGAR_ALERT_KIND=%s", a.kind.c_str(), "HANGAR_ALERT_HOST=%s", a.host.c_str(),
                        "HANGAR_VM_UUID=%s", a.vmUuid.c_str(), nullptr);
        return;
    }
    spdlog::log(logLevelOf(severity), "alert {} {} id={}: {}", state, a.subject, a.id, change.message);
}

} // namespace hangar::service
