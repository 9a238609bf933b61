// Keeps one libvirt connection open for a LibvirtHypervisor. It opens the connection, subscribes to lifecycle
// and guest agent events (relayed as HypervisorEvents) and to close notifications, and when the connection dies it
// posts ConnectionLost, retries on its own thread with exponential back-off (1 s, 2 s, 4 s ... 30 s) and posts
// ConnectionRestored once a new connection works. Callers take the current connection with session() for the
// duration of one call; a reconnect swaps in a new one without disturbing calls still running on the old.
// Internal to daemon/virt.
#pragma once

#include "virt/EventRelay.h"
#include "virt/LibvirtEventLoop.h"
#include "virt/LibvirtSupport.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hangar::virt {

class LibvirtConnection;

// One open connection with Hangar's callbacks registered on it. When the last holder lets go, the callbacks are
// deregistered and then the connection is closed.
class LibvirtSession
{
public:
    LibvirtSession(ConnectPtr conn, std::shared_ptr<LibvirtEventLoop> loop, std::weak_ptr<LibvirtConnection> owner);
    ~LibvirtSession();
    LibvirtSession(const LibvirtSession&) = delete;
    LibvirtSession& operator=(const LibvirtSession&) = delete;

    virConnectPtr get() const { return m_conn.get(); }
    // The <domain type> to define domains with on this host ("test", "qemu" or "kvm").
    const std::string& domainType() const { return m_domainType; }

private:
    friend class LibvirtConnection;
    static void onClose(virConnectPtr conn, int reason, void* opaque);

    std::shared_ptr<LibvirtEventLoop> m_loop; // outlives m_conn: closing a remote connection needs the loop
    ConnectPtr m_conn;
    std::weak_ptr<LibvirtConnection> m_owner;
    std::string m_domainType;
    int m_lifecycleCallback = -1;
    int m_agentCallback = -1;
    int m_graphicsCallback = -1;
    bool m_closeCallbackRegistered = false;
};

class LibvirtConnection : public std::enable_shared_from_this<LibvirtConnection>
{
    struct Key
    {
        explicit Key() = default;
    };

public:
    static constexpr std::chrono::seconds kFirstRetry{1};
    static constexpr std::chrono::seconds kMaxRetry{30};
    // The wait before the attempt after one that waited `previous` and failed: double, at most kMaxRetry.
    static std::chrono::seconds nextRetryDelay(std::chrono::seconds previous)
    {
        return std::min(previous * 2, std::chrono::seconds(kMaxRetry));
    }

    // Connects at once; if that fails, posts ConnectionLost and keeps retrying in the background (a host that is
    // down when the daemon starts must not keep the daemon from starting).
    static std::shared_ptr<LibvirtConnection> create(std::string uri, std::shared_ptr<EventRelay> relay);

    LibvirtConnection(Key, std::string uri, std::shared_ptr<EventRelay> relay);
    ~LibvirtConnection();
    LibvirtConnection(const LibvirtConnection&) = delete;
    LibvirtConnection& operator=(const LibvirtConnection&) = delete;

    // Stops reconnecting and closes the connection. Idempotent.
    void shutdown();

    // The current connection, open at least as long as the caller holds it.
    // Error(BackendFailure, "not connected to <uri>: <why>") while disconnected.
    std::shared_ptr<LibvirtSession> session() const;
    bool connected() const;

    // After a failed call: libvirt does not report every death of a connection through the close callback (local
    // drivers have none), so a call that failed on a dead connection starts the reconnect too.
    void checkAlive(const LibvirtSession& session);
    // session is dead: drop it, post ConnectionLost, reconnect. Ignored unless session is the current one.
    void markLost(const LibvirtSession* session, const std::string& reason);

private:
    std::shared_ptr<LibvirtSession> openSession();
    void reconnectLoop();
    // Makes fresh the current session and posts ConnectionRestored, unless shutting down.
    void adopt(std::shared_ptr<LibvirtSession> fresh);

    const std::shared_ptr<LibvirtEventLoop> m_loop; // registered before the first connection is opened
    const std::string m_uri;
    const std::shared_ptr<EventRelay> m_relay;

    // Held from a change of connectedness until its event is posted, so ConnectionLost and ConnectionRestored reach
    // the loop in the order the changes happened. Taken before m_mutex.
    std::mutex m_eventOrderMutex;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    // Sessions are never destroyed while m_mutex is held: their destructor waits for a close callback in flight,
    // and that callback takes m_mutex.
    std::shared_ptr<LibvirtSession> m_session;           // null while disconnected
    std::vector<std::shared_ptr<LibvirtSession>> m_dead; // lost sessions for the reconnect thread to close
    std::string m_lastError;
    bool m_stopping = false;
    std::thread m_reconnector;
};

} // namespace hangar::virt
