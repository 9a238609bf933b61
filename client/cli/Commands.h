// The hangarctl commands, one function each, independent of how the command line is parsed (main.cpp does that
// with CLI11). Each takes the global options and its own, talks to hangard through a Connection, prints to
// stdout/stderr, and returns the process exit code (see ExitCode in Errors.h).
#pragma once

#include "AuthAgent.h"
#include "ExitCode.h"
#include "Words.h"
#include "common/Connection.h"

#include <chrono>
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

// How long a state-changing call may take to answer: polkit may be asking for a password meanwhile.
inline constexpr std::chrono::minutes kAuthorizedCallTimeout{5};
// For calls that copy or write a whole disk (or a running guest's memory) before they answer: clone and the snapshot
// commands. Past this, hangarctl stops waiting; hangard carries on.
inline constexpr std::chrono::hours kLongCallTimeout{1};

// What every command needs: the options, the connection (opened on first use), the authentication agent (started on
// first need), and the shared error reporting.
class Context
{
public:
    explicit Context(GlobalOptions options);

    const GlobalOptions& options() const { return m_options; }
    bool json() const { return m_options.json; }
    Connection& connection();

    // The a{sv} for a call polkit checks: carries auth.no_user_interaction = true when --no-ask-password was given,
    // and nothing otherwise, so polkit may ask for a password.
    Options authOptions() const;
    // Call before every state-changing call (and any other call polkit may have to authorize interactively, such
    // as reading another user's quota). Sets the method call timeout to callTimeout, which allows for a password
    // prompt (or a slow hypervisor), and the first time, when stdin is a terminal and --no-ask-password was not
    // given, starts pkttyagent for this process (AuthAgent) so polkit has someone to ask. The agent is stopped when
    // the Context goes. Also makes the connection's DaemonWatch, so a call that ends without a reply can be told
    // apart from a daemon that left.
    void prepareAuthorizedCall(std::chrono::microseconds callTimeout = kAuthorizedCallTimeout);

    // Prints "cannot <doing> VM '<name>': <message> (<Error>)" and returns the exit code for it. When the error means
    // the daemon is gone, throws UnreachableError instead: the remaining names would fail the same way.
    // After the first PermissionDenied, a second line says how to get the right (permissionHint in common/Errors.h).
    ExitCode reportVmError(const std::string& doing, const std::string& name, const sdbus::Error& error);
    // For calls not about one VM (list, events, quota) or about more than a VM: prints "cannot <doing>: ...".
    ExitCode reportError(const std::string& doing, const sdbus::Error& error);
    // Throws UnreachableError for an error that means hangard cannot be reached. When the call got no reply and the
    // hangard it went to left the bus meanwhile (Connection::daemonWatch, made by prepareAuthorizedCall), the message
    // says so, naming what was being done ("clone VM 'web'"), and that its outcome is unknown.
    [[noreturn]] void throwUnreachable(const sdbus::Error& error, const std::string& doing = {});
    // The command's options that became a{sv} keys: the report functions above then name the option the user typed
    // where hangard's message names the key ("--disk (GiB) must be 1..65536", not "disk_gib must be 1..65536").
    void useFlagNames(const std::vector<FlagName>& flags) { m_flags = &flags; }

private:
    std::string describeForUser(const sdbus::Error& error) const;

    void hintOnDenial(const sdbus::Error& error);

    GlobalOptions m_options;
    std::unique_ptr<Connection> m_connection;
    std::unique_ptr<AuthAgent> m_agent; // stopped when the Context goes, on every return and exception path
    bool m_agentConsidered = false;     // prepareAuthorizedCall() decided about the agent already
    bool m_denialHinted = false;        // the PermissionDenied hint was printed already: once per run is enough
    const std::vector<FlagName>* m_flags = nullptr; // useFlagNames(); a static table
};

// With several names, the exit code is the shared one if all failures agree, else the generic 1.
ExitCode combine(ExitCode soFar, ExitCode next);

struct ListOptions
{
    bool all = false;
    std::string state;
    std::vector<std::string> columns; // -o: listColumns() names; empty = kDefaultListColumns
    bool noLegend = false;            // -q: rows only
};

// The columns `list -o` offers (ListColumns.cpp), their names joined for --help, and the default set.
std::vector<std::string> listColumns();
std::string listColumnNames();
inline constexpr const char* kDefaultListColumns = "name,state,image,owner,lifetime,uuid";

// The create options that become CreateVM's cloud-init keys (client/cli/ProvisioningCommands.cpp).
struct ProvisioningOptions
{
    std::optional<std::string> hostname;
    std::vector<std::string> users;          // NAME or NAME:sudo
    std::vector<std::string> sshKeys;        // [NAME=]FILE: every key in FILE, for NAME or else the last --user
    std::vector<std::string> passwordHashes; // [NAME=]HASH, likewise
    std::vector<std::string> packages;
    std::vector<std::string> runcmd;
    std::vector<std::string> writeFiles; // GUESTPATH=LOCALFILE
    // For each --ssh-key and --password-hash, how many --user options came before it on the command line.
    std::vector<std::size_t> keyUsersBefore;
    std::vector<std::size_t> hashUsersBefore;
};

struct ProvisionedUserOption
{
    std::string name;
    bool sudo = false;
};

struct CreateOptions
{
    std::string name;
    std::optional<std::uint32_t> cpus;
    std::optional<std::string> memory;
    std::optional<std::string> disk;
    std::optional<std::string> description;
    std::optional<std::string> kernel; // file names in the daemon's boot directory
    std::optional<std::string> initrd;
    std::optional<std::string> cmdline;
    std::optional<std::string> image; // the name of an image to make the VM from
    ProvisioningOptions provisioning;
    bool ephemeral = false;         // deleted once it has run and stopped
    std::optional<std::string> ttl; // "2h": deleted that long after creation
};

struct ExpireOptions
{
    std::string name;
    std::string when; // a duration from now ("4h"), or "never"
};

struct SetOptions
{
    std::string name;
    std::optional<std::uint32_t> cpus;
    std::optional<std::string> memory;
    std::optional<std::string> disk;
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

// stop, and start and restart with --wait (StopCommand.cpp).
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
    std::optional<std::string> severity; // the minimum: info, warning, error
    bool follow = false;
};

struct QuotaShowOptions
{
    std::optional<std::string> user; // name or uid; default: the caller
};

struct QuotaSetOptions
{
    std::string user; // name or uid
    std::optional<std::uint32_t> vms;
    std::optional<std::uint32_t> running;
    std::optional<std::uint32_t> cpus;
    std::optional<std::string> memory;
    std::optional<std::string> disk;
    std::vector<std::string> unset; // vms, running, cpus, memory, disk
    bool reset = false;
};

struct TopOptions
{
    double delaySec = 2.0;
    std::optional<unsigned> iterations; // -n: refresh this many times, then exit (for scripts)
};

ExitCode runList(Context& context, const ListOptions& options);
// Live figures of the named VMs, or of every running VM when names is empty.
ExitCode runStats(Context& context, const std::vector<std::string>& names);
ExitCode runTop(Context& context, const TopOptions& options);
ExitCode runStatus(Context& context, const std::string& name);
ExitCode runCreate(Context& context, const CreateOptions& options);
// "alice", "bob:sudo"; UsageError for another suffix.
std::vector<ProvisionedUserOption> parseUserOptions(const std::vector<std::string>& users);
// Adds the cloud-init keys to a CreateVM spec, reading the key and --write-file files; UsageError when one cannot
// be read or an option is malformed.
void addProvisioning(const ProvisioningOptions& options, Options& spec);
ExitCode runProvisioning(Context& context, const std::string& name);
ExitCode runAction(Context& context, Action action, const std::vector<std::string>& names,
                   const ActionOptions& options);
ExitCode runStop(Context& context, const std::vector<std::string>& names, const StopOptions& options);
// start --wait: returns once each VM is running (or failed to get there).
ExitCode runStartWait(Context& context, const std::vector<std::string>& names, const StopOptions& options);
// restart --wait: stop (as stop --wait, with force and timeoutSec), then start --wait, each VM that stopped.
ExitCode runRestartWait(Context& context, const std::vector<std::string>& names, const StopOptions& options);
// Everything about one VM, like `virsh dominfo`: its properties in a readable form and its live figures.
ExitCode runInfo(Context& context, const std::string& name);
ExitCode runRename(Context& context, const std::string& oldName, const std::string& newName);
ExitCode runEvents(Context& context, const EventsOptions& options);
// The active resource alerts (GetAlerts).
ExitCode runAlerts(Context& context);
ExitCode runQuotaShow(Context& context, const QuotaShowOptions& options);
ExitCode runQuotaSet(Context& context, const QuotaSetOptions& options);

struct ConsoleOptions
{
    std::string name;
    bool force = false; // take the console over from another session
};

struct LogsOptions
{
    std::string name;
    bool follow = false;           // -f: go on printing what is appended
    std::optional<unsigned> lines; // -n: only the last this many lines
};

struct VncOptions
{
    std::string name;
    std::string listen = "127.0.0.1:5901"; // HOST:PORT; port 0 picks a free one
};

struct CloneOptions
{
    std::string source;
    std::string name;
};

struct ImageImportOptions
{
    std::string file;                       // opened by hangarctl, with the user's own rights
    std::string name;                       // --name
    std::optional<std::string> format;      // qcow2, raw or iso: what the caller expects
    std::optional<std::string> description; // free text
    std::optional<std::string> os;          // libosinfo short id; "" = none; unset = hangard detects it from an ISO
};

struct PublishOptions
{
    std::string vm;
    std::string image;
    std::optional<std::string> description;
    std::optional<std::string> os; // unset = the OS of the VM's image
};

enum class SnapshotAction
{
    Create,
    Revert,
    Delete
};

struct SnapshotOptions
{
    std::string vm;
    std::string name;
    std::optional<std::string> description; // snapshot create
};

ExitCode runClone(Context& context, const CloneOptions& options);
ExitCode runExpire(Context& context, const ExpireOptions& options);
ExitCode runSet(Context& context, const SetOptions& options);
// image import and publish start a job and follow it to its end (JobFollower), with a progress bar on a terminal.
ExitCode runImageImport(Context& context, const ImageImportOptions& options);
ExitCode runPublish(Context& context, const PublishOptions& options);

// Commands in a running guest (client/cli/GuestCommands.cpp), each following its Job.
struct ExecCommandOptions
{
    std::string vm;
    std::vector<std::string> argv;
    std::optional<std::uint32_t> timeoutSec;
};
struct AddUserOptions
{
    std::string vm;
    std::string name;
    bool sudo = false;
    std::vector<std::string> sshKeyFiles;
    std::optional<std::string> passwordHash;
    std::optional<std::string> shell;
};
struct InstallOptions
{
    std::string vm;
    std::vector<std::string> packages;
};
// Prints the command's stdout and stderr as they were and exits with its exit code.
ExitCode runExec(Context& context, const ExecCommandOptions& options);
ExitCode runAddUser(Context& context, const AddUserOptions& options);
ExitCode runInstall(Context& context, const InstallOptions& options);
ExitCode runImageList(Context& context);
ExitCode runImageShow(Context& context, const std::string& name);
ExitCode runImageDelete(Context& context, const std::vector<std::string>& names);
ExitCode runSnapshotList(Context& context, const std::string& vm);
ExitCode runSnapshotChange(Context& context, SnapshotAction action, const SnapshotOptions& options);

// The guest's serial console in this terminal (raw mode, Ctrl-] leaves) or on stdin/stdout when they are not one.
ExitCode runConsole(Context& context, const ConsoleOptions& options);
// The hypervisor's log of the VM (VM.OpenLog): all of it or its last lines, and with follow what is appended.
ExitCode runLogs(Context& context, const LogsOptions& options);
// The guest's display on a local TCP port for VNC viewers, until Ctrl-C.
ExitCode runVnc(Context& context, const VncOptions& options);

// Shared by status and create: every property of one VM, as printed by `status --json`.
nlohmann::json vmJson(Context& context, const sdbus::ObjectPath& path);
// Shared by create and clone: prints the new VM ("Created VM 'name' (uuid)<note>.", or vmJson with --json).
ExitCode printCreatedVm(Context& context, const std::string& name, const sdbus::ObjectPath& path,
                        const std::string& note = {});
// Shared by the image commands, import and publish: every property of one image under its D-Bus name, plus
// OwnerName, UsedByNames (the VMs' names) and ObjectPath.
nlohmann::json imageJson(Context& context, const sdbus::ObjectPath& path);

} // namespace hangar::client
