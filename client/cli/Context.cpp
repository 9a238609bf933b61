#include "Commands.h"

#include <unistd.h>

namespace hangar::client {
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
    connection().daemonWatch();
    if (m_agentConsidered)
        return;
    m_agentConsidered = true;
    // Like systemctl: only a terminal on stdin can answer a prompt. A hangard on the session bus never asks polkit,
    // as that bus admits only its own user.
    if (m_options.noAskPassword || !isatty(STDIN_FILENO) || connection().spec().kind == BusSpec::Kind::Session)
        return;
    // An agent without polkit to register with would only print pkttyagent's "Authorization not available" (a
    // hangard on a private bus without polkit says for itself what is wrong, permissionHint in common/Errors.h).
    const bool onSystemBus = connection().spec().kind == BusSpec::Kind::System;
    if (!polkitOnSystemBus(onSystemBus ? &connection().bus() : nullptr))
        return;
    m_agent = AuthAgent::start();
}

void Context::throwUnreachable(const sdbus::Error& error, const std::string& doing)
{
    const std::string bus = BusSpec::parse(m_options.bus).describe();
    if (isNoReply(error) && connection().daemonWatch().wentAway()) {
        throw UnreachableError(
            (doing.empty() ? std::string() : "cannot " + doing + ": ") + "hangard left " + bus +
            " before it answered (it stopped or was restarted); whether that took effect is unknown");
    }
    throw UnreachableError("cannot reach hangard (" + std::string(kBusName) + ") on " + bus + ": " + describe(error));
}

ExitCode Context::reportVmError(const std::string& doing, const std::string& name, const sdbus::Error& error)
{
    if (isUnreachable(error))
        throwUnreachable(error, doing + " VM '" + name + "'");
    printError("cannot " + doing + " VM '" + name + "': " + describeForUser(error));
    hintOnDenial(error);
    return exitCodeFor(error);
}

ExitCode Context::reportError(const std::string& doing, const sdbus::Error& error)
{
    if (isUnreachable(error))
        throwUnreachable(error, doing);
    printError("cannot " + doing + ": " + describeForUser(error));
    hintOnDenial(error);
    return exitCodeFor(error);
}

std::string Context::describeForUser(const sdbus::Error& error) const
{
    if (m_flags == nullptr)
        return describe(error);
    return describe(error.getName(), withFlagNames(error.getMessage(), *m_flags));
}

// hangard's message names the polkit action and the uid; what the user can do about it is to ask for the group that
// grants that action (or, when polkit could not be asked, to run hangard differently). Once per run is enough.
void Context::hintOnDenial(const sdbus::Error& error)
{
    if (m_denialHinted)
        return;
    const std::string hint = permissionHint(error);
    if (hint.empty())
        return;
    m_denialHinted = true;
    printError(hint);
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
