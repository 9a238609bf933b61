// hangarctl's exit codes and its one way of writing an error line. Every failure the user can see ends up as one of
// the exit codes below, chosen by what a script would want to branch on (is the daemon there at all? does the VM
// exist? was I refused?); which D-Bus error means what is the shared client library's (common/Errors.h).
#pragma once

#include "common/Errors.h"

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

ExitCode exitCodeFor(ErrorKind kind);
inline ExitCode exitCodeFor(const sdbus::Error& error)
{
    return exitCodeFor(classifyError(error));
}

// Prints "hangarctl: <text>" to stderr; the single place that writes error lines, so they all look alike.
void printError(const std::string& text);

} // namespace hangar::client
