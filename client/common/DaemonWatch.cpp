#include "common/DaemonWatch.h"

#include "common/Connection.h"

namespace hangar::client {
namespace {

constexpr const char* kDbusName = "org.freedesktop.DBus";
constexpr const char* kDbusPath = "/org/freedesktop/DBus";

} // namespace

DaemonWatch::DaemonWatch(sdbus::IConnection& bus)
    : m_bus(bus), m_busDaemon(sdbus::createProxy(bus, kDbusName, kDbusPath))
{
    // Subscribe first, then ask: a change between the two is then heard rather than lost. arg0 narrows the match in
    // the bus daemon, so we are not woken for every other name on a busy system bus.
    const std::string rule = std::string("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                         "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='") +
                             kBusName + "'";
    m_match = m_bus.addMatch(rule, [this](sdbus::Message& message) { onOwnerChanged(message); });
    std::string owner;
    try {
        owner = currentOwner();
    } catch (const sdbus::Error&) {
        // The bus does not answer either: every call will fail and say why; nothing to remember.
    }
    std::lock_guard lock(m_mutex);
    m_owner = owner;
}

DaemonWatch::~DaemonWatch() = default;

void DaemonWatch::onChange(ChangeHandler handler)
{
    std::lock_guard lock(m_mutex);
    m_onChange = std::move(handler);
}

void DaemonWatch::onOwnerChanged(sdbus::Message& message)
{
    std::string name;
    std::string oldOwner;
    std::string newOwner;
    try {
        message >> name >> oldOwner >> newOwner;
    } catch (const sdbus::Error&) {
        return; // not NameOwnerChanged's signature: not from the bus daemon
    }
    if (name != kBusName)
        return;
    ChangeHandler handler;
    {
        std::lock_guard lock(m_mutex);
        // An owner losing the name is a hangard that went away; a first owner appearing is bus activation.
        m_gone = m_gone || !oldOwner.empty();
        m_owner = newOwner;
        handler = m_onChange;
    }
    // Outside the lock: the handler takes its own, and the main thread may hold that one while asking wentAway().
    if (handler)
        handler(newOwner);
}

std::string DaemonWatch::currentOwner()
{
    std::string owner;
    try {
        m_busDaemon->callMethod("GetNameOwner")
            .onInterface(kDbusName)
            .withArguments(std::string(kBusName))
            .storeResultsTo(owner);
    } catch (const sdbus::Error& e) {
        if (e.getName() != "org.freedesktop.DBus.Error.NameHasNoOwner")
            throw;
    }
    return owner;
}

bool DaemonWatch::goneSeen() const
{
    std::lock_guard lock(m_mutex);
    return m_gone;
}

bool DaemonWatch::wentAway()
{
    std::string remembered;
    {
        std::lock_guard lock(m_mutex);
        if (m_gone)
            return true;
        remembered = m_owner;
    }
    std::string now;
    try {
        now = currentOwner();
    } catch (const sdbus::Error&) {
        return false; // the bus itself does not answer: that is what the caller's own error says
    }
    std::lock_guard lock(m_mutex);
    // Nobody there now, or another hangard than the one the call went to: either way no answer will come.
    m_gone = m_gone || now.empty() || (!remembered.empty() && now != remembered);
    return m_gone;
}

} // namespace hangar::client
