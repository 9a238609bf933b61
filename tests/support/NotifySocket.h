// The receiving end of sd_notify for a daemon started by a harness: bind it, start the daemon with
// NOTIFY_SOCKET=path(), and waitReady() returns once the daemon said READY=1, which is when it serves.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hangar::support {

class NotifySocket
{
public:
    // Binds a datagram socket at path (replacing a file there); removed again when the object goes.
    explicit NotifySocket(const std::string& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return m_path; }
    // True once READY=1 arrived; false when the deadline passed or alive() turned false first.
    bool waitReady(std::chrono::milliseconds deadline, const std::function<bool()>& alive);
    // The same for any line ("RELOADING=1", "WATCHDOG=1"); messages before the one with it are consumed.
    bool waitFor(const std::string& line, std::chrono::milliseconds deadline, const std::function<bool()>& alive);

private:
    std::string m_path;
    int m_fd = -1;
};

} // namespace hangar::support
