// The hangarctl commands, one function each, independent of how the command line is parsed (main.cpp does that
// with CLI11). Each takes the global options and its own, talks to hangard through a Connection, prints to
// stdout/stderr, and returns the process exit code (see ExitCode in Errors.h).
#pragma once

#include "Connection.h"
#include "Errors.h"

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hangar::client {

struct GlobalOptions
{
    std::string bus;            // --bus, or HANGAR_BUS; empty = system
    bool json = false;          // --json
    bool noAskPassword = false; // --no-ask-password
};

// What every command needs: the options, the connection (opened on first use), and the shared error reporting.
class Context
{
public:
    explicit Context(GlobalOptions options);

    const GlobalOptions& options() const { return m_options; }
    bool json() const { return m_options.json; }
    Connection& connection();

    // The a{sv} for a state-changing call: carries auth.no_user_interaction when --no-ask-password was given.
    Options authOptions() const;
    // Allows for a polkit password prompt (or a slow hypervisor) before a state-changing call times out.
    void allowSlowCalls();

    // Prints "cannot <doing> VM '<name>': <message> (<Error>)" and returns the exit code for it. When the error means
    // the daemon is gone, throws UnreachableError instead: the remaining names would fail the same way.
    ExitCode reportVmError(const std::string& doing, const std::string& name, const sdbus::Error& error);
    // For calls not about one VM (list, events).
    ExitCode reportError(const std::string& doing, const sdbus::Error& error);
    [[noreturn]] void throwUnreachable(const sdbus::Error& error);

private:
    GlobalOptions m_options;
    std::unique_ptr<Connection> m_connection;
};

// With several names, the exit code is the shared one if all failures agree, else the generic 1.
ExitCode combine(ExitCode soFar, ExitCode next);

struct ListOptions
{
    bool all = false;
    std::string state;
};

struct CreateOptions
{
    std::string name;
    std::optional<std::uint32_t> cpus;
    std::optional<std::string> memory;
    std::optional<std::string> disk;
    std::optional<std::string> description;
};

// The commands that take a list of names and call one VM method each, apart from stop.
enum class Action
{
    Start,
    Restart,
    Pause,
    Resume,
    Delete
};

struct ActionOptions
{
    bool force = false; // delete --force
};

struct StopOptions
{
    bool force = false;
    std::optional<std::uint32_t> timeoutSec;
    bool wait = false;
    std::uint32_t waitTimeoutSec = 120;
};

struct EventsOptions
{
    std::optional<std::string> vm;
    std::optional<std::uint32_t> uid;
    std::optional<std::string> since;
    std::optional<std::uint32_t> limit;
    bool follow = false;
};

ExitCode runList(Context& context, const ListOptions& options);
ExitCode runStatus(Context& context, const std::string& name);
ExitCode runCreate(Context& context, const CreateOptions& options);
ExitCode runAction(Context& context, Action action, const std::vector<std::string>& names,
                   const ActionOptions& options);
ExitCode runStop(Context& context, const std::vector<std::string>& names, const StopOptions& options);
ExitCode runRename(Context& context, const std::string& oldName, const std::string& newName);
ExitCode runEvents(Context& context, const EventsOptions& options);

// Shared by status and create: every property of one VM, as printed by `status --json`.
nlohmann::json vmJson(Context& context, const sdbus::ObjectPath& path);

} // namespace hangar::client
