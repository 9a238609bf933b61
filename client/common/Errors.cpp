#include "Errors.h"

#include "Format.h"

#include <array>
#include <iostream>
#include <string_view>

namespace hangar::client {
namespace {

constexpr std::string_view kHangarErrorPrefix = "org.hangar.Hangar1.Error.";
constexpr std::string_view kDbusErrorPrefix = "org.freedesktop.DBus.Error.";

// Errors from the bus itself (or from sd-bus on our side) that mean the daemon is absent, not that it refused.
constexpr std::array<std::string_view, 11> kUnreachableDbusErrors{
    "ServiceUnknown", "NameHasNoOwner", "NoReply",    "Timeout",      "TimedOut",      "Disconnected",
    "NoServer",       "NoNetwork",      "BadAddress", "FileNotFound", "LimitsExceeded"};

// sd-bus reports socket-level failures as "System.Error.<errno name>".
constexpr std::array<std::string_view, 8> kUnreachableErrnos{"ENOTCONN", "ECONNRESET", "ECONNREFUSED", "EPIPE",
                                                             "ENOENT",   "ETIMEDOUT",  "EHOSTUNREACH", "ESHUTDOWN"};

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

template <std::size_t N> bool contains(const std::array<std::string_view, N>& names, std::string_view name)
{
    for (auto candidate : names) {
        if (candidate == name)
            return true;
    }
    return false;
}

} // namespace

std::string shortErrorName(const std::string& errorName)
{
    auto dot = errorName.rfind('.');
    return dot == std::string::npos ? errorName : errorName.substr(dot + 1);
}

bool isUnreachable(const sdbus::Error& error)
{
    const std::string& name = error.getName();
    if (startsWith(name, kDbusErrorPrefix)) {
        std::string_view rest = std::string_view(name).substr(kDbusErrorPrefix.size());
        // Bus activation failures (org.freedesktop.DBus.Error.Spawn.*) mean the service could not be started.
        return contains(kUnreachableDbusErrors, rest) || startsWith(rest, "Spawn.");
    }
    if (startsWith(name, "System.Error."))
        return contains(kUnreachableErrnos, std::string_view(name).substr(std::string_view("System.Error.").size()));
    // Activation through systemd that fails (masked or missing unit) comes back under systemd's own names.
    return startsWith(name, "org.freedesktop.systemd1.");
}

ExitCode exitCodeFor(const sdbus::Error& error)
{
    const std::string& name = error.getName();
    if (isUnreachable(error))
        return ExitCode::Unreachable;
    if (name == std::string(kHangarErrorPrefix) + "NotFound")
        return ExitCode::NotFound;
    // The object vanished between GetVM and the call on it: for the user that is the same as "no such VM".
    if (name == std::string(kDbusErrorPrefix) + "UnknownObject")
        return ExitCode::NotFound;
    if (name == std::string(kHangarErrorPrefix) + "PermissionDenied" ||
        name == std::string(kDbusErrorPrefix) + "AccessDenied" ||
        name == std::string(kDbusErrorPrefix) + "InteractiveAuthorizationRequired")
        return ExitCode::PermissionDenied;
    return ExitCode::Failed;
}

std::string describe(const sdbus::Error& error)
{
    std::string message = error.getMessage();
    if (message.empty())
        message = "no details given";
    return message + " (" + shortErrorName(error.getName()) + ")";
}

void printError(const std::string& text)
{
    std::cerr << "hangarctl: " << sanitize(text) << std::endl;
}

} // namespace hangar::client
