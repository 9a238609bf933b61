// console: the guest's serial console in this terminal. VM.OpenConsole hands over a socket bridged to the console;
// this copies stdin to it and it to stdout. On a terminal, stdin is switched to raw mode (every key, Ctrl-C
// included, goes to the guest) and Ctrl-] leaves; the terminal is restored on every way out, because the raw mode
// and the blocked stop signals are scoped objects and signals end the loop rather than the process.
#include "Commands.h"
#include "Relay.h"

#include <array>
#include <cerrno>
#include <iostream>
#include <poll.h>
#include <system_error>
#include <unistd.h>

namespace hangar::client {
namespace {

constexpr char kEscape = 0x1d; // Ctrl-], as telnet and virsh console
constexpr std::size_t kChunk = 4096;

enum class End
{
    Escape,      // the user pressed Ctrl-]
    RemoteClose, // the guest stopped, another session took the console over, or hangard stopped
    OutputGone,  // stdout was closed (the reader of a pipe went away)
    Signal,
};

// Copies until one of the ends above. stdin stops being read at its end of file (a script's input is all sent),
// and output is shown until the console closes.
End relay(int console, StopSignals& signals, bool escapeKey)
{
    bool stdinOpen = true;
    char buffer[kChunk];
    for (;;) {
        std::array<pollfd, 3> fds{{{signals.fd(), POLLIN, 0}, {console, POLLIN, 0}, {stdinOpen ? 0 : -1, POLLIN, 0}}};
        if (poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            throw std::system_error(errno, std::generic_category(), "poll");
        }
        if (fds[0].revents & POLLIN) {
            signals.take(); // handled: it must not act again once unblocked
            return End::Signal;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = read(console, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return End::RemoteClose;
            if (!writeAll(STDOUT_FILENO, buffer, static_cast<std::size_t>(n)))
                return End::OutputGone;
        }
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                stdinOpen = false;
                continue;
            }
            auto size = static_cast<std::size_t>(n);
            bool escape = false;
            if (escapeKey) {
                for (std::size_t i = 0; i < size; ++i) {
                    if (buffer[i] == kEscape) {
                        size = i; // what was typed before it still goes to the guest
                        escape = true;
                        break;
                    }
                }
            }
            if (size > 0 && !writeAll(console, buffer, size))
                return End::RemoteClose;
            if (escape)
                return End::Escape;
        }
    }
}

} // namespace

ExitCode runConsole(Context& context, const ConsoleOptions& options)
{
    sdbus::UnixFd console;
    try {
        // Before the terminal goes raw: polkit may have to ask for a password here.
        context.prepareAuthorizedCall();
        VmProxy vm(context.connection().bus(), context.connection().vmPath(options.name));
        Options call = context.authOptions();
        if (options.force)
            call["force"] = sdbus::Variant(true);
        console = vm.OpenConsole(call);
    } catch (const sdbus::Error& e) {
        return context.reportVmError("open the console of", options.name, e);
    }

    StopSignals signals;
    const bool interactive = isatty(STDIN_FILENO) != 0;
    End end = End::Signal;
    {
        const RawTerminal raw(STDIN_FILENO);
        if (interactive)
            std::cerr << "Connected to the console of VM '" << options.name << "'. Press Ctrl-] to leave.\r\n"
                      << std::flush;
        end = relay(console.get(), signals, interactive);
    } // the terminal is itself again from here on
    console = sdbus::UnixFd();

    switch (end) {
    case End::Escape:
        std::cerr << "\nLeft the console of VM '" << options.name << "'.\n";
        return ExitCode::Ok;
    case End::RemoteClose:
        std::cerr << (interactive ? "\n" : "") << "The console of VM '" << options.name
                  << "' was closed: the VM stopped, another session took it over (--force), or hangard "
                     "stopped.\n";
        return ExitCode::Ok;
    case End::OutputGone:
        return ExitCode::Ok;
    case End::Signal:
        break;
    }
    if (interactive)
        std::cerr << "\n";
    return ExitCode::Interrupted;
}

} // namespace hangar::client
