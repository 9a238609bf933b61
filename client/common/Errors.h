// What a failed call to hangard means for the person who made it, for every client (hangarctl, hangar-gtk, ...):
// whether hangard is there at all, whether the object exists, whether the caller was refused, and what the caller
// can do about a refusal. The mapping from D-Bus error names lives here and nowhere else. Everything works on the
// error's name and message as strings, so a client on another D-Bus binding (GDBus) can use it too; the sdbus::Error
// overloads are shorthands. Nothing here prints: the caller decides where text goes.
#pragma once

#include <sdbus-c++/Error.h>
#include <stdexcept>
#include <string>

namespace hangar::client {

// The classes a client branches on; hangarctl's exit codes and a GUI's messages are chosen from these.
enum class ErrorKind
{
    Failed,           // hangard refused or failed the operation (Busy, InvalidArgument, AlreadyExists, ...)
    Unreachable,      // no bus, nobody owns org.hangar.Hangar1 on it, or it stopped answering
    NotFound,         // no VM, image or snapshot of that name (or its object vanished meanwhile)
    PermissionDenied, // polkit or the bus policy said no
};

// Bad input found by a client before anything was sent (a bus name, a size, a time): for hangarctl, exit code 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// The daemon cannot be reached at all; the message already says which bus and why.
class UnreachableError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// "org.hangar.Hangar1.Error.Busy" -> "Busy": the part a user can act on, shown in parentheses after the message.
std::string shortErrorName(const std::string& errorName);

// True for errors that mean "nobody to talk to" rather than "the daemon said no".
bool isUnreachable(const std::string& errorName);
inline bool isUnreachable(const sdbus::Error& error)
{
    return isUnreachable(error.getName());
}

// True for the errors a method call ends with when no reply came: the call timed out, or the daemon left the bus
// before answering. Which of the two it was, DaemonWatch::wentAway() tells.
bool isNoReply(const std::string& errorName);
inline bool isNoReply(const sdbus::Error& error)
{
    return isNoReply(error.getName());
}

ErrorKind classifyError(const std::string& errorName);
inline ErrorKind classifyError(const sdbus::Error& error)
{
    return classifyError(error.getName());
}

// "<message> (<ShortName>)", with a fallback when a D-Bus error carries no message.
std::string describe(const std::string& errorName, const std::string& message);
inline std::string describe(const sdbus::Error& error)
{
    return describe(error.getName(), error.getMessage());
}

// What a refused caller can do about it, judged from hangard's PermissionDenied message, which names the polkit
// action that was refused (and says when polkit could not be asked at all): the group of polkit/50-hangar.rules that
// grants that action, or how to run hangard where no polkit is. Empty for any other error, and for refusals that
// name no Hangar action (libvirt's own, the bus policy's): no group would help there.
std::string permissionHint(const std::string& errorName, const std::string& message);
inline std::string permissionHint(const sdbus::Error& error)
{
    return permissionHint(error.getName(), error.getMessage());
}

} // namespace hangar::client
