#include "Commands.h"

namespace hangar::client {

// A polkit password prompt can take as long as the user needs to find the password; a read never should.
constexpr std::chrono::minutes kSlowCallTimeout{5};

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

void Context::allowSlowCalls()
{
    connection().setCallTimeout(kSlowCallTimeout);
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
    return exitCodeFor(error);
}

ExitCode Context::reportError(const std::string& doing, const sdbus::Error& error)
{
    if (isUnreachable(error))
        throwUnreachable(error);
    printError("cannot " + doing + ": " + describe(error));
    return exitCodeFor(error);
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
