// The AuditLog records who did what to which VM, with what outcome: in the store (readable through GetEvents)
// and to every EventSink (the bus broadcasts the Event signal; the daemon writes the journal with a MESSAGE_ID).
// Loop thread only.
#pragma once

#include "core/Error.h"
#include "core/Executor.h"
#include "core/Store.h"
#include "core/Types.h"

#include <string>
#include <vector>

namespace hangar {

class EventSink
{
public:
    virtual ~EventSink() = default;
    virtual void eventAppended(const EventRecord& event) = 0;
};

class AuditLog
{
public:
    AuditLog(Store& store, Executor& executor) : m_store(store), m_executor(executor) {}

    void addSink(EventSink* sink) { m_sinks.push_back(sink); }

    void success(std::uint32_t uid, const VmRecord* vm, std::string action, std::string message);
    void failure(std::uint32_t uid, const VmRecord* vm, std::string action, const Error& error);
    // For a VM that is only known by name (e.g. a create that failed validation).
    void failure(std::uint32_t uid, const std::string& vmName, std::string action, const Error& error);

    // About an image (import, publish, delete): not about a VM, so the image is named in the message and only the
    // user who caused it (and administrators) read it back.
    void imageSuccess(std::uint32_t uid, const std::string& imageName, std::string action, const std::string& message);
    void imageFailure(std::uint32_t uid, const std::string& imageName, std::string action, const Error& error);

    // A resource alert raised or cleared (core/AlertMonitor.h): caused by the daemon (uid 0), outcome "raised" or
    // "cleared", with the alert's own severity (info once cleared). vm is the VM it is about, if any.
    void alert(const VmRecord* vm, Severity severity, std::string outcome, std::string message);

private:
    // Sets the severity the outcome implies (core/Types.h severityForOutcome), then appends.
    void appendOutcome(EventRecord event);
    void append(EventRecord event);

    Store& m_store;
    Executor& m_executor;
    std::vector<EventSink*> m_sinks;
};

} // namespace hangar
