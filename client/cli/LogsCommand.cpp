// logs: the hypervisor's own log of a VM (QEMU's command line, its warnings and errors, each start and stop), which
// VM.OpenLog hands over as a read-only fd the daemon opened itself. With -n, only its last lines; with -f, it goes on
// printing what is appended, like tail -f, until Ctrl-C or until the VM is deleted. The file only grows while the
// guest runs; a log that libvirt rotates away is not followed into its successor (run the command again).
#include "Commands.h"
#include "Relay.h"
#include "Waiter.h"
#include "common/Errors.h"

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <unistd.h>

namespace hangar::client {
namespace {

constexpr std::size_t kChunk = std::size_t{64} * 1024;
// How often -f looks for new lines and whether the VM still exists: a log is read by people, a quarter of a
// second is immediate to them, and a read of a file that did not grow costs nothing.
constexpr auto kFollowInterval = std::chrono::milliseconds(250);
constexpr int kChecksPerExistenceCheck = 4;

// Everything from fd's position to its current end; false when it cannot be read.
bool readToEnd(int fd, std::string& out)
{
    char buffer[kChunk];
    for (;;) {
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0)
            return true;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

// The last `lines` lines of text (a last line without its newline counts as one).
std::string lastLines(const std::string& text, unsigned lines)
{
    if (lines == 0)
        return {};
    std::size_t end = text.size();
    if (end > 0 && text[end - 1] == '\n')
        --end;
    std::size_t start = end;
    for (unsigned seen = 0; start > 0; --start) {
        if (text[start - 1] == '\n' && ++seen == lines)
            break;
    }
    return text.substr(start);
}

bool print(const std::string& text)
{
    return text.empty() || writeAll(STDOUT_FILENO, text.data(), text.size());
}

// Whether the VM at path is still there: a deleted VM's object is gone (UnknownObject) or retired (NotFound).
bool vmExists(Context& context, const sdbus::ObjectPath& path)
{
    try {
        VmProxy vm(context.connection().bus(), path);
        static_cast<void>(vm.GetStats());
        return true;
    } catch (const sdbus::Error& e) {
        if (classifyError(e.getName()) == ErrorKind::NotFound)
            return false;
        context.throwUnreachable(e);
    }
}

} // namespace

ExitCode runLogs(Context& context, const LogsOptions& options)
{
    sdbus::UnixFd log;
    sdbus::ObjectPath path;
    try {
        context.prepareAuthorizedCall();
        path = context.connection().vmPath(options.name);
        VmProxy vm(context.connection().bus(), path);
        log = vm.OpenLog(context.authOptions());
    } catch (const sdbus::Error& e) {
        return context.reportVmError("read the log of", options.name, e);
    }

    // Blocks SIGINT/SIGTERM before the first read, so Ctrl-C during -f ends the loop below and not the process.
    Waiter waiter;
    std::string text;
    if (!readToEnd(log.get(), text))
        throw std::system_error(errno, std::generic_category(), "reading the log");
    if (!print(options.lines ? lastLines(text, *options.lines) : text))
        return ExitCode::Ok; // the reader of our output went away
    if (!options.follow)
        return ExitCode::Ok;

    for (int round = 1;; ++round) {
        if (waiter.wait(std::chrono::steady_clock::now() + kFollowInterval) == Waiter::Wake::Signal)
            return ExitCode::Interrupted;
        std::string more;
        if (!readToEnd(log.get(), more))
            throw std::system_error(errno, std::generic_category(), "reading the log");
        if (!print(more))
            return ExitCode::Ok;
        if (round % kChecksPerExistenceCheck == 0 && !vmExists(context, path)) {
            std::cerr << "VM '" << options.name << "' was deleted.\n";
            return ExitCode::Ok;
        }
    }
}

} // namespace hangar::client
