#include "core/AuditLog.h"

namespace hangar {

namespace {

EventRecord about(std::uint32_t uid, const VmRecord* vm, std::string action)
{
    EventRecord e;
    e.uid = uid;
    if (vm) {
        e.vmUuid = vm->uuid;
        e.vmName = vm->name;
        e.vmOwner = vm->owner;
    }
    e.action = std::move(action);
    return e;
}

} // namespace

void AuditLog::success(std::uint32_t uid, const VmRecord* vm, std::string action, std::string message)
{
    EventRecord e = about(uid, vm, std::move(action));
    e.outcome = "ok";
    e.message = std::move(message);
    appendOutcome(std::move(e));
}

void AuditLog::failure(std::uint32_t uid, const VmRecord* vm, std::string action, const Error& error)
{
    EventRecord e = about(uid, vm, std::move(action));
    e.outcome = std::string(errorCodeName(error.code()));
    e.message = error.what();
    appendOutcome(std::move(e));
}

void AuditLog::failure(std::uint32_t uid, const std::string& vmName, std::string action, const Error& error)
{
    EventRecord e = about(uid, nullptr, std::move(action));
    e.vmName = vmName;
    e.outcome = std::string(errorCodeName(error.code()));
    e.message = error.what();
    appendOutcome(std::move(e));
}

void AuditLog::imageSuccess(std::uint32_t uid, const std::string& imageName, std::string action,
                            const std::string& message)
{
    EventRecord e = about(uid, nullptr, std::move(action));
    e.outcome = "ok";
    e.message = "image '" + imageName + "': " + message;
    appendOutcome(std::move(e));
}

void AuditLog::imageFailure(std::uint32_t uid, const std::string& imageName, std::string action, const Error& error)
{
    EventRecord e = about(uid, nullptr, std::move(action));
    e.outcome = std::string(errorCodeName(error.code()));
    const std::string named = "image '" + imageName + "'";
    const std::string what = error.what();
    e.message = what.find(named) == std::string::npos ? named + ": " + what : what; // named once is enough
    appendOutcome(std::move(e));
}

void AuditLog::alert(const VmRecord* vm, Severity severity, std::string outcome, std::string message)
{
    EventRecord e = about(0, vm, "alert");
    e.outcome = std::move(outcome);
    e.message = std::move(message);
    e.severity = severity;
    append(std::move(e));
}

void AuditLog::appendOutcome(EventRecord event)
{
    event.severity = severityForOutcome(event.outcome);
    append(std::move(event));
}

void AuditLog::append(EventRecord event)
{
    event.timeUsec = m_executor.nowUsec();
    // An audit row that cannot be stored must not undo the operation it describes; it still reaches the journal
    // and the Event signal, with id 0 and the store's complaint attached.
    try {
        event = m_store.appendEvent(event);
    } catch (const Error& e) {
        event.id = 0;
        event.message += std::string(" [not stored in the audit log: ") + e.what() + "]";
    }
    for (auto* sink : m_sinks)
        sink->eventAppended(event);
}

} // namespace hangar
