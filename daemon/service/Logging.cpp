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

} // namespace

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
                        e.message.c_str(), "MESSAGE_ID=%s", kAuditMessageId, "PRIORITY=%d",
                        e.outcome == "ok" ? LOG_INFO : LOG_NOTICE, "HANGAR_EVENT_ID=%lld", static_cast<long long>(e.id),
                        "HANGAR_VM_NAME=%s", e.vmName.c_str(), "HANGAR_VM_UUID=%s", e.vmUuid.c_str(), "HANGAR_UID=%u",
                        e.uid, "HANGAR_ACTION=%s", e.action.c_str(), "HANGAR_OUTCOME=%s", e.outcome.c_str(), nullptr);
        return;
    }
    spdlog::info("event {} {} vm={} uuid={} uid={} outcome={}: {}", e.id, e.action, vm,
                 e.vmUuid.empty() ? "-" : e.vmUuid, e.uid, e.outcome, e.message);
}

} // namespace hangar::service
