// Tells "hangard went away" from "hangard is slow", the one way every wait of a client does it: a blocking call that
// ends without a reply (the bus answers NoReply both for a call that timed out and for a daemon that died before
// replying), `stop --wait`, following a job or the event log. It remembers which hangard (unique bus name) owned
// org.hangar.Hangar1 when it was made, hears NameOwnerChanged for that name while an event loop runs, and can ask the
// bus again when none does.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <sdbus-c++/sdbus-c++.h>
#include <string>

namespace hangar::client {

class DaemonWatch
{
public:
    using ChangeHandler = std::function<void(const std::string& newOwner)>;

    // Subscribes to NameOwnerChanged for org.hangar.Hangar1, then asks the bus who owns it now (empty when nobody
    // does: the daemon may yet be started by bus activation). Blocking calls: make it before the event loop runs.
    explicit DaemonWatch(sdbus::IConnection& bus);
    ~DaemonWatch();
    DaemonWatch(const DaemonWatch&) = delete;
    DaemonWatch& operator=(const DaemonWatch&) = delete;

    // Called on the connection's event-loop thread for every change of owner (empty newOwner: hangard left the
    // bus). One handler at a time; an empty function removes it. The handler only records and wakes: it must not
    // call over the bus.
    void onChange(ChangeHandler handler);

    // True once a hangard this client could have been talking to left the bus: seen through NameOwnerChanged while
    // an event loop ran, or, when asked from a thread that does no waiting on signals (after a blocking call failed,
    // see isNoReply), by asking the bus whether the owner it remembered is still there. Sticky: a hangard that
    // came back has lost what the one before was doing.
    bool wentAway();
    // The same as far as NameOwnerChanged told, without asking the bus: for a wait loop that checks on every wake-up.
    bool goneSeen() const;

private:
    void onOwnerChanged(sdbus::Message& message);
    // The unique name that owns org.hangar.Hangar1 now; empty when none. Throws sdbus::Error.
    std::string currentOwner();

    sdbus::IConnection& m_bus;
    std::unique_ptr<sdbus::IProxy> m_busDaemon;
    sdbus::Slot m_match;
    mutable std::mutex m_mutex; // guards the members below: the handler runs on the event-loop thread
    std::string m_owner;
    bool m_gone = false;
    ChangeHandler m_onChange;
};

} // namespace hangar::client
