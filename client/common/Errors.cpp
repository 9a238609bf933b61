#include "common/Errors.h"

#include <array>
#include <string_view>

namespace hangar::client {
namespace {

constexpr std::string_view kHangarErrorPrefix = "org.hangar.Hangar1.Error.";
constexpr std::string_view kDbusErrorPrefix = "org.freedesktop.DBus.Error.";
constexpr std::string_view kActionPrefix = "org.hangar.hangar1.";

// Errors from the bus itself (or from sd-bus on our side) that mean the daemon is absent, not that it refused.
constexpr std::array<std::string_view, 11> kUnreachableDbusErrors{
    "ServiceUnknown", "NameHasNoOwner", "NoReply",    "Timeout",      "TimedOut",      "Disconnected",
    "NoServer",       "NoNetwork",      "BadAddress", "FileNotFound", "LimitsExceeded"};

// sd-bus reports socket-level failures as "System.Error.<errno name>".
constexpr std::array<std::string_view, 8> kUnreachableErrnos{"ENOTCONN", "ECONNRESET", "ECONNREFUSED", "EPIPE",
                                                             "ENOENT",   "ETIMEDOUT",  "EHOSTUNREACH", "ESHUTDOWN"};

// The polkit actions (polkit/org.hangar.Hangar1.policy) and which group of polkit/50-hangar.rules grants each.
struct ActionHint
{
    std::string_view verb;
    std::string_view hint;
};
// The texts for the VM and quota actions are those hangarctl printed before it read the action from the message.
constexpr std::string_view kOwnVmsHint =
    "ask an administrator to add you to group hangar (your own VMs) or hangar-admin (all VMs); see "
    "docs/authorization.md";
constexpr std::array<ActionHint, 5> kActionHints{{
    {"create-vm", kOwnVmsHint},
    {"manage-own-vms", kOwnVmsHint},
    {"manage-all-vms", "ask an administrator to add you to group hangar-admin (the VMs of all users); see "
                       "docs/authorization.md"},
    {"manage-images", "ask an administrator to add you to group hangar-admin (importing, publishing and deleting "
                      "images); see docs/authorization.md"},
    {"manage-hosts", "ask an administrator to add you to group hangar-admin (quotas of all users); see "
                     "docs/authorization.md"},
}};

// hangard's polkit authorizer says this when polkit could not be asked (not on the bus, or it failed): no group
// helps then. On a private or test bus that is the usual case, and the daemon's other authorizer is the way out.
constexpr std::string_view kPolkitUnreachable = "could not ask polkit";
constexpr const char* kPolkitUnreachableHint =
    "hangard could not ask polkit, so it refuses every change; is polkitd running on the bus hangard uses? A hangard "
    "on a private bus without polkit must be started with --authorizer=allow-all (every caller of that bus is then "
    "allowed); see docs/authorization.md";

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

// The verb of the first "org.hangar.hangar1.<verb>" in text ("manage-images"), or empty.
std::string_view actionVerb(std::string_view text)
{
    const auto at = text.find(kActionPrefix);
    if (at == std::string_view::npos)
        return {};
    std::string_view verb = text.substr(at + kActionPrefix.size());
    const auto end = verb.find_first_not_of("abcdefghijklmnopqrstuvwxyz-");
    return verb.substr(0, end);
}

} // namespace

std::string shortErrorName(const std::string& errorName)
{
    auto dot = errorName.rfind('.');
    return dot == std::string::npos ? errorName : errorName.substr(dot + 1);
}

bool isUnreachable(const std::string& name)
{
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

bool isNoReply(const std::string& name)
{
    // The bus daemon answers NoReply for a peer that disconnected without replying; sd-bus ends a call that timed
    // out with one of the other three, depending on where the timeout was noticed.
    return name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
           name == "org.freedesktop.DBus.Error.TimedOut" || name == "System.Error.ETIMEDOUT";
}

ErrorKind classifyError(const std::string& name)
{
    if (isUnreachable(name))
        return ErrorKind::Unreachable;
    if (name == std::string(kHangarErrorPrefix) + "NotFound")
        return ErrorKind::NotFound;
    // The object vanished between GetVM and the call on it: for the user that is the same as "no such VM".
    if (name == std::string(kDbusErrorPrefix) + "UnknownObject")
        return ErrorKind::NotFound;
    if (name == std::string(kHangarErrorPrefix) + "PermissionDenied" ||
        name == std::string(kDbusErrorPrefix) + "AccessDenied" ||
        name == std::string(kDbusErrorPrefix) + "InteractiveAuthorizationRequired")
        return ErrorKind::PermissionDenied;
    return ErrorKind::Failed;
}

std::string describe(const std::string& errorName, const std::string& message)
{
    return (message.empty() ? std::string("no details given") : message) + " (" + shortErrorName(errorName) + ")";
}

std::string permissionHint(const std::string& errorName, const std::string& message)
{
    // Only hangard's own refusals carry an action; the bus policy's AccessDenied is not a matter of these groups.
    if (errorName != std::string(kHangarErrorPrefix) + "PermissionDenied")
        return {};
    if (message.find(kPolkitUnreachable) != std::string::npos)
        return kPolkitUnreachableHint;
    const std::string_view verb = actionVerb(message);
    for (const auto& action : kActionHints) {
        if (action.verb == verb)
            return std::string(action.hint);
    }
    return {};
}

} // namespace hangar::client
