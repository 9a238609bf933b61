#include "NotifySocket.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hangar::support {

NotifySocket::NotifySocket(const std::string& path) : m_path(path)
{
    unlink(m_path.c_str());
    m_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, m_path.c_str(), sizeof addr.sun_path - 1);
    if (m_fd < 0 || bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (m_fd >= 0)
            close(m_fd);
        throw std::runtime_error("cannot bind " + m_path + ": " + std::strerror(errno));
    }
}

NotifySocket::~NotifySocket()
{
    close(m_fd);
    unlink(m_path.c_str());
}

bool NotifySocket::waitReady(std::chrono::milliseconds deadline, const std::function<bool()>& alive)
{
    return waitFor("READY=1", deadline, alive);
}

bool NotifySocket::waitFor(const std::string& line, std::chrono::milliseconds deadline,
                           const std::function<bool()>& alive)
{
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end && alive()) {
        pollfd p{m_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = recv(m_fd, buf.data(), buf.size() - 1, 0);
        if (n <= 0)
            continue;
        // A message is newline-separated lines: match a whole line, so READY=1 is not found in "NOTREADY=1".
        const std::string message = "\n" + std::string(buf.data(), static_cast<std::size_t>(n)) + "\n";
        if (message.find("\n" + line + "\n") != std::string::npos)
            return true;
    }
    return false;
}

} // namespace hangar::support
