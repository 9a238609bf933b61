// How hangarctl turns failures into messages and exit codes. Every failure the user can see ends up as one of the
// exit codes below, chosen by what a script would want to branch on (is the daemon there at all? does the VM exist?
// was I refused?), so the mapping from D-Bus error names lives in exactly one place.
#pragma once

#include <sdbus-c++/Error.h>
#include <stdexcept>
#include <string>

namespace hangar::client {

// Documented in `hangarctl --help` and docs/hangarctl.md; keep the three in step.
enum class ExitCode : int
{
    Ok = 0,
    Failed = 1,           // the daemon refused or failed the operation (Busy, InvalidArgument, AlreadyExists, ...)
    Usage = 2,            // bad command line, detected by CLI11 or by hangarctl itself
    Unreachable = 3,      // no bus, or nobody owns org.hangar.Hangar1 on it, or it stopped answering
    NotFound = 4,         // no VM, image or snapshot of that name
    PermissionDenied = 5, // polkit or the bus policy said no
    Timeout = 6,          // `stop --wait` gave up before the VM reached "stopped"
    Interrupted = 130,    // SIGINT/SIGTERM while waiting, or a job cancelled by it (shell convention 128 + SIGINT)
};

inline int toInt(ExitCode code)
{
    return static_cast<int>(code);
}

// Bad arguments found after CLI11 parsed them (sizes, times, bus names): exit code 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// The daemon cannot be reached at all; the message already says which bus and why. Exit code 3.
class UnreachableError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// "org.hangar.Hangar1.Error.Busy" -> "Busy": the part a user can act on, printed in parentheses after the message.
std::string shortErrorName(const std::string& errorName);

// True for errors that mean "nobody to talk to" rather than "the daemon said no".
bool isUnreachable(const sdbus::Error& error);

ExitCode exitCodeFor(const sdbus::Error& error);

// "<message> (<ShortName>)", with a fallback when a D-Bus error carries no message.
std::string describe(const sdbus::Error& error);

// Prints "hangarctl: <text>" to stderr; the single place that writes error lines, so they all look alike.
void printError(const std::string& text);

} // namespace hangar::client
