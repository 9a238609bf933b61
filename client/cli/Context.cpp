#include "Commands.h"

#include <unistd.h>

namespace hangar::client {
namespace {

constexpr const char* kPermissionDenied = "org.hangar.Hangar1.Error.PermissionDenied";

// The groups are those of polkit/50-hangar.rules; docs/authorization.md explains them and the alternatives.
const char* hintText(DenialHint hint)
{
    switch (hint) {
    case DenialHint::Vms:
        break;
    case DenialHint::Quotas:
        return "ask an administrator to add you to group hangar-admin (quotas of all users); see "
               "docs/authorization.md";
    case DenialHint::Images:
        return "ask an administrator to add you to group hangar-admin (importing, publishing and deleting images); "
               "see docs/authorization.md";
    }
    return "ask an administrator to add you to group hangar (your own VMs) or hangar-admin (all VMs); see "
           "docs/authorization.md";
}

} // namespace

Context::Context(GlobalOptions options) : m_options(std::move(options)) {}

Connection& Context::connection()
{
    if (!m_connection)
        m_connection = std::make_unique<Connection>(BusSpec::parse(m_options.bus));
    return *m_connection;
}

Options Context::authOptions() const
{
    Options options;
    if (m_options.noAskPassword)
        options["auth.no_user_interaction"] = sdbus::Variant(true);
    return options;
}

// A polkit password prompt can take as long as the user needs to find the password; a read never should.
void Context::prepareAuthorizedCall(std::chrono::microseconds callTimeout)
{
    connection().setCallTimeout(callTimeout);
    if (m_agentConsidered)
        return;
    m_agentConsidered = true;
    // Like systemctl: only a terminal on stdin can answer a prompt. A hangard on the session bus never asks polkit,
    // as that bus admits only its own user.
    if (m_options.noAskPassword || !isatty(STDIN_FILENO) || connection().spec().kind == BusSpec::Kind::Session)
        return;
    m_agent = AuthAgent::start();
}

void Context::throwUnreachable(const sdbus::Error& error)
{
    throw UnreachableError("cannot reach hangard (" + std::string(kBusName) + ") on " +
                           BusSpec::parse(m_options.bus).describe() + ": " + describe(error));
}

ExitCode Context::reportVmError(const std::string& doing, const std::string& name, const sdbus::Error& error)
{
    if (isUnreachable(error))
        throwUnreachable(error);
    printError("cannot " + doing + " VM '" + name + "': " + describe(error));
    hintOnDenial(error, DenialHint::Vms);
    return exitCodeFor(error);
}

ExitCode Context::reportError(const std::string& doing, const sdbus::Error& error, DenialHint hint)
{
    if (isUnreachable(error))
        throwUnreachable(error);
    printError("cannot " + doing + ": " + describe(error));
    hintOnDenial(error, hint);
    return exitCodeFor(error);
}

// hangard's message names the polkit action and the uid; what the user can do about it is to ask for a group.
// Only polkit's refusals get the hint: a bus policy's AccessDenied is not a matter of those groups.
void Context::hintOnDenial(const sdbus::Error& error, DenialHint hint)
{
    if (m_denialHinted || error.getName() != kPermissionDenied)
        return;
    m_denialHinted = true;
    printError(hintText(hint));
}

ExitCode combine(ExitCode soFar, ExitCode next)
{
    if (next == ExitCode::Ok)
        return soFar;
    if (soFar == ExitCode::Ok || soFar == next)
        return next;
    return ExitCode::Failed;
}

} // namespace hangar::client
