// Serial consoles handed over as sockets. OpenConsole gives the caller one end of a socketpair; a ConsoleBridge
// copies between the other end and a libvirt console stream (virDomainOpenConsole) until either side closes: the
// caller closes its end, the guest stops, or someone takes the console over with force. It runs on libvirt's
// event loop thread (the one virt/LibvirtEventLoop runs), driven by a stream event callback and a handle watch on
// the socket, both non-blocking with a bounded buffer each way, the way virsh console does it — so it needs no
// thread of its own and never holds up other libvirt calls. ConsoleRegistry keeps one open console per domain.
// Each bridge reports its start and its end (once each, start first) through a Presence callback, which is how a
// VM's ConsoleAttached follows it (core/ConsolePresence.h).
// Internal to daemon/virt.
#pragma once

#include "core/UniqueFd.h"
#include "virt/LibvirtEventLoop.h"
#include "virt/LibvirtSupport.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hangar::virt {

// Called with the domain's UUID, the bridge's session number (unique in the process) and whether it began or ended;
// on any thread, with the bridge's lock held, so it must only hand the news on (virt/EventRelay's post does).
using ConsolePresenceCallback = std::function<void(const std::string& uuid, std::uint64_t session, bool present)>;

class ConsoleBridge : public std::enable_shared_from_this<ConsoleBridge>
{
    struct Key
    {
        explicit Key() = default;
    };

public:
    // Bridges stream (non-blocking, with virDomainOpenConsole done on it) to socket (the bridge's end, made
    // non-blocking here). Error(BackendFailure) when the callbacks cannot be registered; the stream is then aborted.
    static std::shared_ptr<ConsoleBridge> start(StreamPtr stream, UniqueFd socket,
                                                std::shared_ptr<LibvirtEventLoop> loop, std::string uuid,
                                                ConsolePresenceCallback presence);

    ConsoleBridge(Key, StreamPtr stream, UniqueFd socket, std::shared_ptr<LibvirtEventLoop> loop, std::string uuid,
                  ConsolePresenceCallback presence);
    ~ConsoleBridge();
    ConsoleBridge(const ConsoleBridge&) = delete;
    ConsoleBridge& operator=(const ConsoleBridge&) = delete;

    // Ends the bridge: the stream is aborted and freed, the socket closed (the caller's end reads EOF). Idempotent,
    // any thread.
    void close(const char* why);
    bool closed() const;

private:
    static void onStream(virStreamPtr stream, int events, void* opaque);
    static void onSocket(int watch, int fd, int events, void* opaque);
    static void release(void* opaque);

    // All under m_mutex, on the event loop thread (close also elsewhere).
    void streamReady(int events);
    void socketReady(int events);
    void receiveFromGuest();
    void sendToGuest();
    void receiveFromClient();
    void sendToClient();
    void settle();
    void closeLocked(const char* why);

    mutable std::mutex m_mutex;
    StreamPtr m_stream;
    UniqueFd m_socket;
    const std::shared_ptr<LibvirtEventLoop> m_loop; // keeps the loop running while callbacks may come
    const std::string m_uuid;
    const ConsolePresenceCallback m_presence;
    bool m_announced = false; // the start was reported, so the end must be
    std::uintptr_t m_id = 0;  // how the stream callback finds this bridge
    int m_watch = -1;
    bool m_streamCallback = false;
    bool m_guestEof = false;
    bool m_closed = false;
    std::string m_toClient; // read from the guest, not yet written to the socket
    std::string m_toGuest;  // read from the socket, not yet sent to the guest
};

// The open consoles of one hypervisor connection, one per domain.
class ConsoleRegistry
{
public:
    // The right to open one domain's console, held from the check to the bridge's start so that two callers cannot
    // both find the console free.
    class Claim
    {
    public:
        // Starts the bridge for stream (virDomainOpenConsole done on it) and returns the caller's end.
        UniqueFd attach(StreamPtr stream);

    private:
        friend class ConsoleRegistry;
        Claim(ConsoleRegistry& registry, std::string uuid, std::unique_lock<std::mutex> lock);
        ConsoleRegistry& m_registry;
        std::string m_uuid;
        std::unique_lock<std::mutex> m_lock;
    };

    explicit ConsoleRegistry(ConsolePresenceCallback presence = {});
    ~ConsoleRegistry();
    ConsoleRegistry(const ConsoleRegistry&) = delete;
    ConsoleRegistry& operator=(const ConsoleRegistry&) = delete;

    // Error(Busy) while a console of uuid is open here, unless force, which closes it first.
    Claim claim(const std::string& uuid, bool force);
    // Closes every console (the daemon is stopping).
    void closeAll();

private:
    std::shared_ptr<LibvirtEventLoop> m_loop;
    const ConsolePresenceCallback m_presence;
    std::mutex m_mutex;
    std::map<std::string, std::weak_ptr<ConsoleBridge>> m_bridges;
};

} // namespace hangar::virt
