// Moving bytes for `hangarctl console` and `hangarctl vnc`: a terminal in raw mode that is put back on every way
// out, the stop signals delivered through a file descriptor (so they end a poll loop instead of the process, and
// the terminal is restored by the destructors), and a splice that copies between two sockets in both directions
// through bounded buffers, driven by poll, so one slow VNC viewer never holds up another.
#pragma once

#include <array>
#include <csignal>
#include <cstddef>
#include <poll.h>
#include <sdbus-c++/Types.h>
#include <string>
#include <termios.h>

namespace hangar::client {

// Raw mode on a terminal (no echo, no line editing, no signals from Ctrl-C/Ctrl-Z: those keys go to the guest)
// for as long as this lives. Does nothing when fd is not a terminal.
class RawTerminal
{
public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    bool active() const { return m_active; }

private:
    int m_fd;
    termios m_saved{};
    bool m_active = false;
};

// Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT and hands them over through fd(); the old signal mask comes back with
// the destructor. SIGPIPE is ignored meanwhile, so a write to a closed pipe or socket fails with EPIPE instead.
class StopSignals
{
public:
    StopSignals();
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    int fd() const { return m_fd; }
    // The pending signal's number (consumed), 0 if none.
    int take();

private:
    int m_fd = -1;
    sigset_t m_oldMask{};
    struct sigaction m_oldPipe = {};
};

// Writes all of data, waiting when fd would block; false when the other side is gone.
bool writeAll(int fd, const char* data, std::size_t size);
void setNonBlocking(int fd);

// Copies between two sockets both ways until either closes. Both are made non-blocking.
class Splice
{
public:
    Splice(sdbus::UnixFd a, sdbus::UnixFd b);
    // The two entries to poll for, each with the events that can make progress now.
    std::array<pollfd, 2> pollFds() const;
    // Handles what poll reported for those two entries; false once the splice is over (it then holds no fds).
    bool service(const std::array<pollfd, 2>& ready);

private:
    struct Side
    {
        sdbus::UnixFd fd;
        std::string pending; // read from the other side, not yet written to this one
    };
    bool transfer(Side& from, Side& to);
    bool flush(Side& to);
    void finish();

    std::array<Side, 2> m_sides;
    bool m_done = false;
};

} // namespace hangar::client
