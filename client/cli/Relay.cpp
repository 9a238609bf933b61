#include "Relay.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace hangar::client {
namespace {

constexpr std::size_t kChunk = std::size_t{16} * 1024;
// Per direction: enough for a burst of VNC framebuffer updates without letting a stalled viewer grow us forever.
constexpr std::size_t kMaxPending = std::size_t{1024} * 1024;

sigset_t stopSet()
{
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
        sigaddset(&set, sig);
    return set;
}

bool wouldBlock(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK;
}

} // namespace

RawTerminal::RawTerminal(int fd) : m_fd(fd)
{
    if (!isatty(fd) || tcgetattr(fd, &m_saved) != 0)
        return;
    termios raw = m_saved;
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSADRAIN, &raw) == 0)
        m_active = true;
}

RawTerminal::~RawTerminal()
{
    if (m_active)
        tcsetattr(m_fd, TCSADRAIN, &m_saved);
}

StopSignals::StopSignals()
{
    const sigset_t set = stopSet();
    if (const int rc = pthread_sigmask(SIG_BLOCK, &set, &m_oldMask); rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
    m_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m_fd < 0) {
        const int error = errno;
        pthread_sigmask(SIG_SETMASK, &m_oldMask, nullptr);
        throw std::system_error(error, std::generic_category(), "signalfd");
    }
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &m_oldPipe);
}

StopSignals::~StopSignals()
{
    sigaction(SIGPIPE, &m_oldPipe, nullptr);
    close(m_fd);
    // A signal that arrived and was not taken stays pending and acts as it would have (usually: ends us) once
    // unblocked; the terminal is already restored by then, the RawTerminal having gone first.
    pthread_sigmask(SIG_SETMASK, &m_oldMask, nullptr);
}

int StopSignals::take()
{
    signalfd_siginfo info{};
    if (read(m_fd, &info, sizeof info) != static_cast<ssize_t>(sizeof info))
        return 0;
    return static_cast<int>(info.ssi_signo);
}

bool writeAll(int fd, const char* data, std::size_t size)
{
    while (size > 0) {
        const ssize_t n = write(fd, data, size);
        if (n > 0) {
            data += n;
            size -= static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && wouldBlock(errno)) {
            pollfd p{fd, POLLOUT, 0};
            poll(&p, 1, -1);
        } else {
            return false;
        }
    }
    return true;
}

void setNonBlocking(int fd)
{
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        throw std::system_error(errno, std::generic_category(), "fcntl");
}

Splice::Splice(sdbus::UnixFd a, sdbus::UnixFd b)
{
    m_sides[0].fd = std::move(a);
    m_sides[1].fd = std::move(b);
    for (auto& side : m_sides)
        setNonBlocking(side.fd.get());
}

std::array<pollfd, 2> Splice::pollFds() const
{
    std::array<pollfd, 2> fds{};
    for (std::size_t i = 0; i < 2; ++i) {
        const Side& self = m_sides[i];
        const Side& other = m_sides[1 - i];
        fds[i].fd = m_done ? -1 : self.fd.get();
        // Read only while the other side's backlog has room; write while there is something for this side.
        fds[i].events = static_cast<short>((other.pending.size() < kMaxPending ? POLLIN : 0) |
                                           (self.pending.empty() ? 0 : POLLOUT));
    }
    return fds;
}

bool Splice::service(const std::array<pollfd, 2>& ready)
{
    if (m_done)
        return false;
    for (std::size_t i = 0; i < 2 && !m_done; ++i) {
        const short revents = ready[i].revents;
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!transfer(m_sides[i], m_sides[1 - i]))
                finish();
        }
        if (!m_done && (revents & POLLOUT) && !flush(m_sides[i]))
            finish();
    }
    return !m_done;
}

bool Splice::transfer(Side& from, Side& to)
{
    char buffer[kChunk];
    const ssize_t n = recv(from.fd.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
        to.pending.append(buffer, static_cast<std::size_t>(n));
        return flush(to);
    }
    if (n < 0 && (errno == EINTR || wouldBlock(errno)))
        return true;
    return false; // end of file or an error: the splice is over
}

bool Splice::flush(Side& to)
{
    while (!to.pending.empty()) {
        const ssize_t n = send(to.fd.get(), to.pending.data(), to.pending.size(), MSG_NOSIGNAL);
        if (n > 0)
            to.pending.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && wouldBlock(errno))
            return true;
        else
            return false;
    }
    return true;
}

void Splice::finish()
{
    m_done = true;
    for (auto& side : m_sides) {
        side.fd = sdbus::UnixFd();
        side.pending.clear();
    }
}

} // namespace hangar::client
