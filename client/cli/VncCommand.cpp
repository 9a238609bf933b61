// vnc: the guest's display on a local TCP port, for any VNC viewer (or noVNC's websockify). Each connection a
// viewer makes gets a fresh socket from VM.OpenGraphics, spliced to it; any number may be connected at once. Runs
// until Ctrl-C (or SIGTERM/SIGHUP).
#include "Commands.h"
#include "Relay.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <list>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace hangar::client {
namespace {

struct Endpoint
{
    std::string host;
    std::string port;
};

// "127.0.0.1:5901", "[::1]:5901", "localhost:5901", ":5901" (loopback); port 0 picks a free one.
Endpoint parseListen(const std::string& text)
{
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size())
        throw UsageError("invalid --listen '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:5901 or [::1]:5901");
    Endpoint endpoint{text.substr(0, colon), text.substr(colon + 1)};
    if (endpoint.port.find_first_not_of("0123456789") != std::string::npos || endpoint.port.size() > 5 ||
        std::stoul(endpoint.port) > 65535)
        throw UsageError("invalid --listen port '" + endpoint.port + "': expected 0..65535");
    if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']')
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    if (endpoint.host.empty())
        endpoint.host = "127.0.0.1";
    return endpoint;
}

std::string describe(const sockaddr_storage& address)
{
    char host[NI_MAXHOST] = {};
    char port[NI_MAXSERV] = {};
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), sizeof address, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "?";
    const std::string h(host);
    return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
}

// A listening socket on the first address the endpoint resolves to; "" when none could be bound (why in error).
sdbus::UnixFd listenOn(const Endpoint& endpoint, std::string& bound)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found); rc != 0)
        throw UsageError("cannot listen on " + endpoint.host + ":" + endpoint.port + ": " + gai_strerror(rc));
    const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
    std::string error = "no address";
    for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
        sdbus::UnixFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), sdbus::adopt_fd);
        if (!fd.isValid())
            continue;
        const int yes = 1;
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd.get(), 16) != 0) {
            error = std::strerror(errno);
            continue;
        }
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
        bound = describe(address);
        return fd;
    }
    throw UsageError("cannot listen on " + endpoint.host + ":" + endpoint.port + ": " + error +
                     " (another port: --listen HOST:PORT)");
}

class VncRelay
{
public:
    VncRelay(Context& context, const VncOptions& options, const sdbus::ObjectPath& path)
        : m_context(context), m_options(options), m_vm(context.connection().bus(), path)
    {}

    // Checks now that the display can be had (rights, state, hypervisor support), so a problem shows at once and
    // not when the first viewer connects.
    sdbus::UnixFd open() { return m_vm.OpenGraphics(m_context.authOptions()); }

    ExitCode serve(const sdbus::UnixFd& listener, StopSignals& signals)
    {
        for (;;) {
            std::vector<pollfd> fds{{signals.fd(), POLLIN, 0}, {listener.get(), POLLIN, 0}};
            for (const auto& splice : m_splices) {
                const auto pair = splice.pollFds();
                fds.insert(fds.end(), pair.begin(), pair.end());
            }
            if (poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR)
                    continue;
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            if (fds[0].revents & POLLIN) {
                signals.take(); // handled: it must not act again once unblocked
                return ExitCode::Ok;
            }
            std::size_t i = 2;
            for (auto it = m_splices.begin(); it != m_splices.end(); i += 2) {
                const bool open = it->service({fds[i], fds[i + 1]});
                it = open ? std::next(it) : m_splices.erase(it);
            }
            if (fds[1].revents & POLLIN)
                accept(listener);
        }
    }

private:
    void accept(const sdbus::UnixFd& listener)
    {
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        sdbus::UnixFd viewer(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC),
                             sdbus::adopt_fd);
        if (!viewer.isValid())
            return;
        try {
            m_splices.emplace_back(std::move(viewer), open());
            std::cout << "viewer " << describe(peer) << " connected (" << m_splices.size() << " now)" << std::endl;
        } catch (const sdbus::Error& e) {
            // The viewer is refused (its socket closes); the command carries on, e.g. until the VM runs again.
            printError("cannot open the display of VM '" + m_options.name + "' for " + describe(peer) + ": " +
                       client::describe(e));
        }
    }

    Context& m_context;
    const VncOptions& m_options;
    VmProxy m_vm;
    std::list<Splice> m_splices;
};

} // namespace

ExitCode runVnc(Context& context, const VncOptions& options)
{
    const Endpoint endpoint = parseListen(options.listen);
    std::unique_ptr<VncRelay> relay;
    try {
        context.prepareAuthorizedCall();
        relay = std::make_unique<VncRelay>(context, options, context.connection().vmPath(options.name));
        relay->open(); // closed again at once
    } catch (const sdbus::Error& e) {
        return context.reportVmError("open the display of", options.name, e);
    }
    std::string bound;
    const sdbus::UnixFd listener = listenOn(endpoint, bound);
    StopSignals signals;
    // Viewers read "host:N" as display N (port 5900 + N); "host::port" names the port.
    const auto colon = bound.rfind(':');
    std::cout << "The display of VM '" << options.name << "' is at vnc://" << bound << " (vncviewer "
              << bound.substr(0, colon) << "::" << bound.substr(colon + 1) << "). Ctrl-C ends." << std::endl;
    return relay->serve(listener, signals);
}

} // namespace hangar::client
