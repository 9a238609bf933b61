// Lets the main thread sleep until something happens: a D-Bus signal handler (on sdbus-c++'s loop thread) called
// notify(), SIGINT/SIGTERM arrived, or a deadline passed. Handlers only queue data and notify; the main thread does
// the work, because a blocking call from inside a handler would deadlock on the connection's lock. Built on an
// eventfd and a signalfd polled together, so waiting never means sleeping in a loop and re-checking.
#pragma once

#include <chrono>
#include <optional>

namespace hangar::client {

class Waiter
{
public:
    // Blocks SIGINT and SIGTERM in the calling thread (and so in threads it starts later, such as the event loop),
    // so they arrive through the signalfd instead of killing the process mid-line. Construct before
    // Connection::startEventLoop().
    Waiter();
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    // Thread-safe; wakes one pending or future wait().
    void notify();

    enum class Wake
    {
        Notified,
        Signal,
        Timeout
    };
    // Returns as soon as any of the three happened; a pending notification is consumed.
    Wake wait(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

private:
    int m_eventFd = -1;
    int m_signalFd = -1;
};

} // namespace hangar::client
