#include "virt/LibvirtConnection.h"

#include "virt/DomainXml.h"

#include <exception>

namespace hangar::virt {
namespace {

// libvirt asks for a pointer to its generic callback type; going through void(*)() tells the compiler that the
// cast between function types is deliberate (libvirt calls it with the lifecycle signature).
template <typename F> virConnectDomainEventGenericCallback genericCallback(F* callback)
{
    return reinterpret_cast<virConnectDomainEventGenericCallback>(reinterpret_cast<void (*)()>(callback));
}

// Runs on the libvirt event loop thread. The state is asked from libvirt rather than taken from the event:
// events can arrive late or be coalesced, the current state is what the VM object must show.
// Runs on the libvirt event loop thread: the guest agent in dom connected (state 1) or went away (state 2).
void onAgentLifecycle(virConnectPtr, virDomainPtr dom, int state, int, void* opaque) noexcept
{
    try {
        const auto& relay = *static_cast<std::shared_ptr<EventRelay>*>(opaque);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) < 0)
            return;
        HypervisorEvent event{HypervisorEvent::Kind::AgentChanged, uuid, DomainState::Running};
        event.agentConnected = state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED;
        relay->post(event);
    } catch (const std::exception& e) {
        logger()->error("cannot handle a guest agent event: {}", e.what());
    } catch (...) {
        logger()->error("cannot handle a guest agent event");
    }
}

// Where a VNC client is, as an audit line says it: "127.0.0.1:51234", "[::1]:51234", or a local socket (an
// OpenGraphics fd: QEMU took it as a client, it has no address).
std::string describeClient(const virDomainEventGraphicsAddress* remote)
{
    if (!remote || remote->family == VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX || !remote->node)
        return "a local socket";
    const std::string node = remote->family == VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6
                                 ? "[" + std::string(remote->node) + "]"
                                 : std::string(remote->node);
    return remote->service && *remote->service ? node + ":" + remote->service : node;
}

// Runs on the libvirt event loop thread: a VNC client of dom connected, finished its handshake or disconnected.
// QEMU reports a connect for every client, ours (OpenGraphics) and anyone's, before its handshake, and a
// disconnect for each of those; the handshake's end (initialize) is no new client.
void onGraphics(virConnectPtr, virDomainPtr dom, int phase, const virDomainEventGraphicsAddress*,
                const virDomainEventGraphicsAddress* remote, const char*, const virDomainEventGraphicsSubject*,
                void* opaque) noexcept
{
    try {
        if (phase != VIR_DOMAIN_EVENT_GRAPHICS_CONNECT && phase != VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT)
            return;
        const auto& relay = *static_cast<std::shared_ptr<EventRelay>*>(opaque);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) < 0)
            return;
        HypervisorEvent event{HypervisorEvent::Kind::GraphicsChanged, uuid, DomainState::Running};
        event.present = phase == VIR_DOMAIN_EVENT_GRAPHICS_CONNECT;
        event.client = describeClient(remote);
        relay->post(event);
    } catch (const std::exception& e) {
        logger()->error("cannot handle a graphics event: {}", e.what());
    } catch (...) {
        logger()->error("cannot handle a graphics event");
    }
}

int onLifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque) noexcept
{
    try {
        const auto& relay = *static_cast<std::shared_ptr<EventRelay>*>(opaque);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) < 0)
            return 0;
        if (event == VIR_DOMAIN_EVENT_UNDEFINED) {
            relay->post({HypervisorEvent::Kind::Undefined, uuid, DomainState::Stopped});
            return 0;
        }
        int state = 0;
        int reason = 0;
        std::optional<DomainState> current;
        if (virDomainGetState(dom, &state, &reason, 0) == 0)
            current = toDomainState(state);
        else if (lastFailure().code == VIR_ERR_NO_DOMAIN)
            return 0; // already gone; an Undefined event follows for persistent domains
        else
            current = stateFromLifecycleEvent(event);
        if (current)
            relay->post({HypervisorEvent::Kind::StateChanged, uuid, *current});
    } catch (const std::exception& e) {
        logger()->error("cannot handle a libvirt lifecycle event: {}", e.what());
    } catch (...) {
        logger()->error("cannot handle a libvirt lifecycle event");
    }
    return 0;
}

void freeRelay(void* opaque)
{
    const std::unique_ptr<std::shared_ptr<EventRelay>> owned(static_cast<std::shared_ptr<EventRelay>*>(opaque));
}

const char* closeReason(int reason)
{
    switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR:
        return "I/O error";
    case VIR_CONNECT_CLOSE_REASON_EOF:
        return "the other end closed the connection";
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
        return "keepalive timeout";
    case VIR_CONNECT_CLOSE_REASON_CLIENT:
        return "closed by the client";
    default:
        return "unknown reason";
    }
}

// What the host can run. For a remote qemu host the local /dev/kvm says nothing, so libvirt on that host is asked.
std::string resolveDomainType(virConnectPtr conn, const std::string& uri)
{
    if (uriDriver(uri) == "qemu" && uriIsRemote(uri)) {
        const CString caps(virConnectGetDomainCapabilities(conn, nullptr, "x86_64", nullptr, "kvm", 0));
        return caps ? "kvm" : "qemu";
    }
    return detectDomainType(uri);
}

} // namespace

LibvirtSession::LibvirtSession(ConnectPtr conn, std::shared_ptr<LibvirtEventLoop> loop,
                               std::weak_ptr<LibvirtConnection> owner)
    : m_loop(std::move(loop)), m_conn(std::move(conn)), m_owner(std::move(owner))
{}

LibvirtSession::~LibvirtSession()
{
    if (m_lifecycleCallback >= 0 && virConnectDomainEventDeregisterAny(m_conn.get(), m_lifecycleCallback) < 0)
        logger()->debug("cannot deregister lifecycle callback: {}", lastFailure().message);
    if (m_agentCallback >= 0 && virConnectDomainEventDeregisterAny(m_conn.get(), m_agentCallback) < 0)
        logger()->debug("cannot deregister the guest agent callback: {}", lastFailure().message);
    if (m_graphicsCallback >= 0 && virConnectDomainEventDeregisterAny(m_conn.get(), m_graphicsCallback) < 0)
        logger()->debug("cannot deregister the graphics callback: {}", lastFailure().message);
    // Also after the callback fired: unregistering waits for a close callback still running with this as opaque.
    if (m_closeCallbackRegistered)
        virConnectUnregisterCloseCallback(m_conn.get(), onClose);
}

void LibvirtSession::onClose(virConnectPtr, int reason, void* opaque)
{
    try {
        const auto* session = static_cast<LibvirtSession*>(opaque);
        if (const auto owner = session->m_owner.lock())
            owner->markLost(session, closeReason(reason));
    } catch (const std::exception& e) {
        logger()->error("cannot handle a closed libvirt connection: {}", e.what());
    }
}

std::shared_ptr<LibvirtConnection> LibvirtConnection::create(std::string uri, std::shared_ptr<EventRelay> relay)
{
    auto connection = std::make_shared<LibvirtConnection>(Key{}, std::move(uri), std::move(relay));
    try {
        connection->m_session = connection->openSession();
        logger()->info("connected to {}", connection->m_uri);
    } catch (const std::exception& e) {
        connection->m_lastError = e.what();
        logger()->warn("cannot connect to {}: {}; retrying in the background", connection->m_uri, e.what());
        connection->m_relay->post({HypervisorEvent::Kind::ConnectionLost, {}, DomainState::Stopped});
    }
    connection->m_reconnector = std::thread([raw = connection.get()] { raw->reconnectLoop(); });
    return connection;
}

LibvirtConnection::LibvirtConnection(Key, std::string uri, std::shared_ptr<EventRelay> relay)
    : m_loop(LibvirtEventLoop::acquire()), m_uri(std::move(uri)), m_relay(std::move(relay))
{}

LibvirtConnection::~LibvirtConnection()
{
    shutdown();
}

void LibvirtConnection::shutdown()
{
    std::shared_ptr<LibvirtSession> session;
    std::vector<std::shared_ptr<LibvirtSession>> dead;
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
        session = std::move(m_session);
        dead = std::move(m_dead);
    }
    m_wake.notify_all();
    if (m_reconnector.joinable() && m_reconnector.get_id() != std::this_thread::get_id())
        m_reconnector.join();
}

std::shared_ptr<LibvirtSession> LibvirtConnection::session() const
{
    const std::lock_guard lock(m_mutex);
    if (!m_session)
        throw Error(ErrorCode::BackendFailure, "not connected to " + m_uri + ": " + m_lastError);
    return m_session;
}

bool LibvirtConnection::connected() const
{
    const std::lock_guard lock(m_mutex);
    return m_session != nullptr;
}

void LibvirtConnection::checkAlive(const LibvirtSession& session)
{
    if (virConnectIsAlive(session.get()) == 0)
        markLost(&session, "the connection is no longer alive");
}

void LibvirtConnection::markLost(const LibvirtSession* session, const std::string& reason)
{
    const std::lock_guard order(m_eventOrderMutex);
    {
        const std::lock_guard lock(m_mutex);
        if (m_stopping || !m_session || m_session.get() != session)
            return;
        m_dead.push_back(std::move(m_session));
        m_lastError = reason;
    }
    m_wake.notify_all();
    logger()->warn("lost the connection to {}: {}; reconnecting", m_uri, reason);
    m_relay->post({HypervisorEvent::Kind::ConnectionLost, {}, DomainState::Stopped});
}

std::shared_ptr<LibvirtSession> LibvirtConnection::openSession()
{
    ConnectPtr conn(virConnectOpen(m_uri.c_str()));
    if (!conn)
        throw Error(ErrorCode::BackendFailure, lastFailure().message);
    silenceErrors(conn.get());
    const virConnectPtr raw = conn.get();
    auto session = std::make_shared<LibvirtSession>(std::move(conn), m_loop, weak_from_this());
    session->m_domainType = resolveDomainType(raw, m_uri);

    // Lets a dead peer be noticed within ~20 s instead of at the next call. Local drivers do not support it.
    if (virConnectSetKeepAlive(raw, 5, 3) < 0)
        logger()->debug("no keepalive on {}: {}", m_uri, lastFailure().message);

    auto relay = std::make_unique<std::shared_ptr<EventRelay>>(m_relay);
    const int id = virConnectDomainEventRegisterAny(raw, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    genericCallback(onLifecycle), relay.get(), freeRelay);
    if (id < 0)
        throw Error(ErrorCode::BackendFailure, "cannot subscribe to domain events: " + lastFailure().message);
    static_cast<void>(relay.release()); // libvirt owns it now and frees it through freeRelay
    session->m_lifecycleCallback = id;

    // AgentConnected follows these. A driver without them (none Hangar supports) leaves it to the probe at start.
    auto agentRelay = std::make_unique<std::shared_ptr<EventRelay>>(m_relay);
    const int agentId =
        virConnectDomainEventRegisterAny(raw, nullptr, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                                         genericCallback(onAgentLifecycle), agentRelay.get(), freeRelay);
    if (agentId >= 0) {
        static_cast<void>(agentRelay.release());
        session->m_agentCallback = agentId;
    } else {
        logger()->debug("no guest agent events on {}: {}", m_uri, lastFailure().message);
    }

    // GraphicsClients follows these (VNC clients connecting and leaving).
    auto graphicsRelay = std::make_unique<std::shared_ptr<EventRelay>>(m_relay);
    const int graphicsId = virConnectDomainEventRegisterAny(
        raw, nullptr, VIR_DOMAIN_EVENT_ID_GRAPHICS, genericCallback(onGraphics), graphicsRelay.get(), freeRelay);
    if (graphicsId >= 0) {
        static_cast<void>(graphicsRelay.release());
        session->m_graphicsCallback = graphicsId;
    } else {
        logger()->debug("no graphics events on {}: {}", m_uri, lastFailure().message);
    }

    if (virConnectRegisterCloseCallback(raw, LibvirtSession::onClose, session.get(), nullptr) == 0)
        session->m_closeCallbackRegistered = true;
    else
        logger()->debug("no close callback on {}: {}", m_uri, lastFailure().message);

    // It may have died before the close callback was in place.
    if (virConnectIsAlive(raw) == 0)
        throw Error(ErrorCode::BackendFailure, "the connection closed while it was being set up");
    return session;
}

void LibvirtConnection::reconnectLoop()
{
    auto delay = std::chrono::seconds(kFirstRetry);
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        if (!m_dead.empty()) {
            auto dead = std::move(m_dead);
            m_dead.clear();
            lock.unlock();
            dead.clear();
            lock.lock();
            continue;
        }
        if (m_session) {
            delay = kFirstRetry;
            m_wake.wait(lock);
            continue;
        }
        if (m_wake.wait_for(lock, delay, [this] { return m_stopping; }))
            break;

        lock.unlock();
        std::shared_ptr<LibvirtSession> fresh;
        std::string error;
        try {
            fresh = openSession();
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (fresh) {
            adopt(std::move(fresh));
            lock.lock();
            continue;
        }
        lock.lock();
        // Said once at warning level; the same failure every 30 s after that is noise.
        if (error != m_lastError)
            logger()->warn("cannot reconnect to {}: {}", m_uri, error);
        m_lastError = error;
        delay = nextRetryDelay(delay);
        logger()->debug("next attempt to reconnect to {} in {} s", m_uri, delay.count());
    }
}

void LibvirtConnection::adopt(std::shared_ptr<LibvirtSession> fresh)
{
    {
        const std::lock_guard order(m_eventOrderMutex);
        std::unique_lock lock(m_mutex);
        if (!m_stopping) {
            m_session = std::move(fresh);
            lock.unlock();
            logger()->info("reconnected to {}", m_uri);
            m_relay->post({HypervisorEvent::Kind::ConnectionRestored, {}, DomainState::Stopped});
            return;
        }
    }
    // Shutting down meanwhile: fresh is closed on return, outside the locks.
}

} // namespace hangar::virt
