#include "Waiter.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <system_error>
#include <unistd.h>

namespace hangar::client {
namespace {

sigset_t stopSignals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

[[noreturn]] void throwErrno(const char* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

Waiter::Waiter()
{
    sigset_t set = stopSignals();
    if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
    m_eventFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_eventFd < 0)
        throwErrno("eventfd");
    m_signalFd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m_signalFd < 0) {
        close(m_eventFd);
        throwErrno("signalfd");
    }
}

Waiter::~Waiter()
{
    close(m_signalFd);
    close(m_eventFd);
}

void Waiter::notify()
{
    const std::uint64_t one = 1;
    // Can only fail if the counter would overflow, i.e. the main thread is already due to wake up.
    [[maybe_unused]] auto written = write(m_eventFd, &one, sizeof one);
}

Waiter::Wake Waiter::wait(std::optional<std::chrono::steady_clock::time_point> deadline)
{
    std::array<pollfd, 2> fds{{{m_signalFd, POLLIN, 0}, {m_eventFd, POLLIN, 0}}};
    for (;;) {
        int timeoutMs = -1;
        if (deadline) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return Wake::Timeout;
            timeoutMs = left.count() > INT32_MAX ? INT32_MAX : static_cast<int>(left.count());
        }
        int ready = poll(fds.data(), fds.size(), timeoutMs);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            throwErrno("poll");
        }
        if (ready == 0)
            continue; // re-check the deadline: poll may return a little early
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            [[maybe_unused]] auto got = read(m_signalFd, &info, sizeof info);
            return Wake::Signal;
        }
        if (fds[1].revents & POLLIN) {
            std::uint64_t count = 0;
            [[maybe_unused]] auto got = read(m_eventFd, &count, sizeof count);
            return Wake::Notified;
        }
    }
}

} // namespace hangar::client
