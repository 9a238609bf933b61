#include "virt/ConsoleBridge.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unordered_map>
#include <vector>

namespace hangar::virt {
namespace {

// A serial console carries a few kilobytes a second at most; the bound keeps a client that stops reading (or a
// guest that stops taking input) from growing the daemon's memory.
constexpr std::size_t kChunk = std::size_t{16} * 1024;
constexpr std::size_t kMaxBuffered = std::size_t{64} * 1024;

bool wouldBlock(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK;
}

// Stream callbacks find their bridge by number. libvirt's remote driver (up to 11.5; fixed upstream in 2025) never
// calls a stream callback's free function, so nothing handed to virStreamEventAddCallback may need freeing, and a
// reference there would keep every bridge, and with it the event loop thread, alive forever. A number needs no
// freeing, and one that no longer finds its bridge tells a late dispatch that the bridge is gone.
class BridgeIndex
{
public:
    static BridgeIndex& instance()
    {
        static BridgeIndex index;
        return index;
    }
    std::uintptr_t add(const std::shared_ptr<ConsoleBridge>& bridge)
    {
        const std::lock_guard lock(m_mutex);
        const auto id = m_next++;
        m_bridges.emplace(id, bridge);
        return id;
    }
    std::shared_ptr<ConsoleBridge> find(std::uintptr_t id) const
    {
        const std::lock_guard lock(m_mutex);
        const auto it = m_bridges.find(id);
        return it == m_bridges.end() ? nullptr : it->second.lock();
    }
    void remove(std::uintptr_t id)
    {
        const std::lock_guard lock(m_mutex);
        m_bridges.erase(id);
    }

private:
    mutable std::mutex m_mutex;
    std::unordered_map<std::uintptr_t, std::weak_ptr<ConsoleBridge>> m_bridges;
    std::uintptr_t m_next = 1;
};

} // namespace

std::shared_ptr<ConsoleBridge> ConsoleBridge::start(StreamPtr stream, UniqueFd socket,
                                                    std::shared_ptr<LibvirtEventLoop> loop, std::string uuid,
                                                    ConsolePresenceCallback presence)
{
    // Only our end: the caller's end is another open file description and stays blocking, as clients expect.
    const int flags = fcntl(socket.get(), F_GETFL);
    if (flags < 0 || fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) < 0)
        throw Error(ErrorCode::BackendFailure,
                    std::string("cannot set up the console socket: ") + std::strerror(errno));

    auto bridge = std::make_shared<ConsoleBridge>(Key{}, std::move(stream), std::move(socket), std::move(loop),
                                                  std::move(uuid), std::move(presence));
    // Held while registering, so a callback that fires at once waits until both are in place.
    const std::lock_guard lock(bridge->m_mutex);
    bridge->m_id = BridgeIndex::instance().add(bridge);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the opaque is a number (BridgeIndex), never dereferenced
    void* const opaque = reinterpret_cast<void*>(bridge->m_id);
    if (virStreamEventAddCallback(bridge->m_stream.get(), VIR_STREAM_EVENT_READABLE, onStream, opaque, nullptr) < 0)
        throw Error(ErrorCode::BackendFailure, "cannot watch the console stream: " + lastFailure().message);
    bridge->m_streamCallback = true;

    // The socket watch owns the reference that keeps the bridge alive; libvirt drops it through release() once
    // that callback can no longer run (its handle free functions are reliable), so no callback reaches a freed
    // bridge.
    auto socketRef = std::make_unique<std::shared_ptr<ConsoleBridge>>(bridge);
    bridge->m_watch =
        virEventAddHandle(bridge->m_socket.get(), VIR_EVENT_HANDLE_READABLE, onSocket, socketRef.get(), release);
    if (bridge->m_watch < 0) {
        const auto failure = lastFailure();
        bridge->closeLocked("cannot watch the console socket");
        throw Error(ErrorCode::BackendFailure, "cannot watch the console socket: " + failure.message);
    }
    static_cast<void>(socketRef.release());
    logger()->debug("console of domain {} bridged", bridge->m_uuid);
    // Under the lock, so that the end (closeLocked) cannot be reported before the start.
    if (bridge->m_presence) {
        bridge->m_announced = true;
        bridge->m_presence(bridge->m_uuid, bridge->m_id, true);
    }
    return bridge;
}

ConsoleBridge::ConsoleBridge(Key, StreamPtr stream, UniqueFd socket, std::shared_ptr<LibvirtEventLoop> loop,
                             std::string uuid, ConsolePresenceCallback presence)
    : m_stream(std::move(stream)), m_socket(std::move(socket)), m_loop(std::move(loop)), m_uuid(std::move(uuid)),
      m_presence(std::move(presence))
{}

// By the time the last reference goes (the socket watch's release(), on the event loop thread, or a callback's own
// copy), close() has freed the stream already; only a bridge whose start failed still owns one, on the starting
// thread.
ConsoleBridge::~ConsoleBridge()
{
    BridgeIndex::instance().remove(m_id);
    logger()->debug("console bridge of domain {} released", m_uuid);
}

void ConsoleBridge::release(void* opaque)
{
    const std::unique_ptr<std::shared_ptr<ConsoleBridge>> owned(static_cast<std::shared_ptr<ConsoleBridge>*>(opaque));
}

void ConsoleBridge::onStream(virStreamPtr, int events, void* opaque)
{
    // Not found: closed and released already; this was a dispatch on its way.
    const auto self = BridgeIndex::instance().find(reinterpret_cast<std::uintptr_t>(opaque));
    if (!self)
        return;
    const std::lock_guard lock(self->m_mutex);
    try {
        if (!self->m_closed)
            self->streamReady(events);
    } catch (const std::exception& e) {
        self->closeLocked(e.what());
    }
}

void ConsoleBridge::onSocket(int, int, int events, void* opaque)
{
    // A reference of our own: closing removes the watch, and its reference may go during this call.
    const auto self = *static_cast<std::shared_ptr<ConsoleBridge>*>(opaque);
    const std::lock_guard lock(self->m_mutex);
    try {
        if (!self->m_closed)
            self->socketReady(events);
    } catch (const std::exception& e) {
        self->closeLocked(e.what());
    }
}

void ConsoleBridge::close(const char* why)
{
    const std::lock_guard lock(m_mutex);
    closeLocked(why);
}

bool ConsoleBridge::closed() const
{
    const std::lock_guard lock(m_mutex);
    return m_closed;
}

void ConsoleBridge::streamReady(int events)
{
    if (events & VIR_STREAM_EVENT_READABLE)
        receiveFromGuest();
    if (!m_closed && (events & VIR_STREAM_EVENT_WRITABLE))
        sendToGuest();
    if (!m_closed && (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) &&
        !(events & VIR_STREAM_EVENT_READABLE))
        closeLocked("the console stream failed");
    settle();
}

void ConsoleBridge::socketReady(int events)
{
    if (events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP))
        receiveFromClient();
    if (!m_closed && (events & VIR_EVENT_HANDLE_WRITABLE))
        sendToClient();
    if (!m_closed && (events & VIR_EVENT_HANDLE_ERROR))
        closeLocked("the console socket failed");
    settle();
}

void ConsoleBridge::receiveFromGuest()
{
    std::vector<char> buffer(kChunk);
    while (!m_closed && !m_guestEof && m_toClient.size() < kMaxBuffered) {
        const int n = virStreamRecv(m_stream.get(), buffer.data(), buffer.size());
        if (n > 0) {
            m_toClient.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0) {
            m_guestEof = true; // the guest stopped, or someone took the console over with force
        } else if (n == -2) {
            break;
        } else {
            closeLocked("cannot read the console stream");
            return;
        }
    }
    sendToClient();
}

void ConsoleBridge::sendToGuest()
{
    while (!m_closed && !m_toGuest.empty()) {
        const int n = virStreamSend(m_stream.get(), m_toGuest.data(), m_toGuest.size());
        if (n > 0) {
            m_toGuest.erase(0, static_cast<std::size_t>(n));
        } else if (n == -2) {
            break;
        } else {
            closeLocked("cannot write to the console stream");
            return;
        }
    }
}

void ConsoleBridge::receiveFromClient()
{
    std::vector<char> buffer(kChunk);
    while (!m_closed && m_toGuest.size() < kMaxBuffered) {
        const ssize_t n = ::recv(m_socket.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n > 0) {
            m_toGuest.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && wouldBlock(errno)) {
            break;
        } else {
            sendToGuest(); // what the client typed last still reaches the guest
            closeLocked(n == 0 ? "the client closed the console" : "cannot read the console socket");
            return;
        }
    }
    sendToGuest();
}

void ConsoleBridge::sendToClient()
{
    while (!m_closed && !m_toClient.empty()) {
        const ssize_t n = ::send(m_socket.get(), m_toClient.data(), m_toClient.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            m_toClient.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && wouldBlock(errno)) {
            break;
        } else {
            closeLocked("the client went away");
            return;
        }
    }
}

// Watches only for what can make progress: a full buffer stops reading from its source until the other side
// takes some, so memory stays bounded and a quiet console costs nothing.
void ConsoleBridge::settle()
{
    if (m_closed)
        return;
    if (m_guestEof && m_toClient.empty()) {
        closeLocked("the guest's console closed");
        return;
    }
    int streamEvents = 0;
    if (!m_guestEof && m_toClient.size() < kMaxBuffered)
        streamEvents |= VIR_STREAM_EVENT_READABLE;
    if (!m_toGuest.empty())
        streamEvents |= VIR_STREAM_EVENT_WRITABLE;
    if (virStreamEventUpdateCallback(m_stream.get(), streamEvents) < 0) {
        closeLocked("cannot watch the console stream");
        return;
    }
    int socketEvents = 0;
    if (m_toGuest.size() < kMaxBuffered)
        socketEvents |= VIR_EVENT_HANDLE_READABLE;
    if (!m_toClient.empty())
        socketEvents |= VIR_EVENT_HANDLE_WRITABLE;
    virEventUpdateHandle(m_watch, socketEvents);
}

void ConsoleBridge::closeLocked(const char* why)
{
    if (m_closed)
        return;
    m_closed = true;
    logger()->debug("console of domain {} closed: {}", m_uuid, why);
    if (m_watch >= 0) {
        virEventRemoveHandle(m_watch);
        m_watch = -1;
    }
    // virsh console ends its stream the same way, also from inside the stream's own callback: remove the callback,
    // abort, free.
    if (m_streamCallback) {
        virStreamEventRemoveCallback(m_stream.get());
        m_streamCallback = false;
    }
    m_stream.reset();
    m_socket.reset(); // the caller's end now reads EOF
    m_toClient.clear();
    m_toGuest.clear();
    if (m_announced)
        m_presence(m_uuid, m_id, false);
}

ConsoleRegistry::ConsoleRegistry(ConsolePresenceCallback presence)
    : m_loop(LibvirtEventLoop::acquire()), m_presence(std::move(presence))
{}

ConsoleRegistry::~ConsoleRegistry()
{
    closeAll();
}

ConsoleRegistry::Claim ConsoleRegistry::claim(const std::string& uuid, bool force)
{
    std::unique_lock lock(m_mutex);
    if (auto it = m_bridges.find(uuid); it != m_bridges.end()) {
        if (const auto open = it->second.lock(); open && !open->closed()) {
            if (!force)
                throw Error(ErrorCode::Busy, "the console of domain " + uuid +
                                                 " is open in another session; open it with force to take it over");
            open->close("taken over by a forced open");
        }
        m_bridges.erase(it);
    }
    return Claim(*this, uuid, std::move(lock));
}

void ConsoleRegistry::closeAll()
{
    std::vector<std::shared_ptr<ConsoleBridge>> open;
    {
        const std::lock_guard lock(m_mutex);
        for (const auto& [uuid, weak] : m_bridges)
            if (auto bridge = weak.lock())
                open.push_back(std::move(bridge));
        m_bridges.clear();
    }
    for (const auto& bridge : open)
        bridge->close("the daemon is stopping");
}

ConsoleRegistry::Claim::Claim(ConsoleRegistry& registry, std::string uuid, std::unique_lock<std::mutex> lock)
    : m_registry(registry), m_uuid(std::move(uuid)), m_lock(std::move(lock))
{}

UniqueFd ConsoleRegistry::Claim::attach(StreamPtr stream)
{
    int pair[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        throw Error(ErrorCode::BackendFailure,
                    std::string("cannot create the console socket: ") + std::strerror(errno));
    UniqueFd callerEnd(pair[0]);
    auto bridge =
        ConsoleBridge::start(std::move(stream), UniqueFd(pair[1]), m_registry.m_loop, m_uuid, m_registry.m_presence);
    // Entries of bridges that closed by themselves are dropped here, at the next open of any console.
    for (auto it = m_registry.m_bridges.begin(); it != m_registry.m_bridges.end();)
        it = it->second.expired() ? m_registry.m_bridges.erase(it) : std::next(it);
    m_registry.m_bridges[m_uuid] = bridge;
    return callerEnd;
}

} // namespace hangar::virt
