// The harness of the authorization tests: a private dbus-daemon configured as a system bus (with the stock system
// policy and Hangar's own bus policy), the real polkitd on it, hangard as root or as the service user `hangar`,
// and clients run as real Unix users created for the run. Everything runs inside run-hermetic.sh's namespaces, so
// the users live in a private copy of /etc and polkit sees only Hangar's actions and rules.
//
// Every process is a child tracked by PID and stopped by its owner's destructor, also when a test fails or throws;
// PID 1 of the namespace takes any leftover with it. Waits have deadlines; nothing sleeps and hopes.
#pragma once

#include "../Harness.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::it::polkit {

using namespace std::chrono_literals;

inline constexpr const char* kService = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kManager = "org.hangar.Hangar1.Manager";
inline constexpr const char* kVm = "org.hangar.Hangar1.VM";
inline constexpr const char* kPermissionDenied = "org.hangar.Hangar1.Error.PermissionDenied";
inline constexpr const char* kQuotaExceeded = "org.hangar.Hangar1.Error.QuotaExceeded";
inline constexpr const char* kNotFound = "org.hangar.Hangar1.Error.NotFound";
inline constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";

// ---- The run's environment --------------------------------------------------------------------------------------

struct TestUser
{
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The users of a run: root, an admin (group hangar-admin), two guests (group hangar), an outsider (neither), and
// the service user hangar (group libvirt) that hangard runs as in production.
struct TestUsers
{
    TestUser root, admin, guest1, guest2, outsider, service;
};

// Why the binary cannot change users and polkit's files here (empty when it can): run-hermetic.sh must have put a
// private copy of /etc over /etc.
std::string hermeticProblem();

// Creates the users and groups on first use, in the private /etc only. Throws when hermeticProblem() is not empty.
const TestUsers& testUsers();

// argv run as user (setpriv: no fork, so the PID is the program's; supplementary groups from the user database;
// a clean environment). Root runs argv as it is.
std::vector<std::string> asUser(const TestUser& user, std::vector<std::string> argv);

// ---- Processes ---------------------------------------------------------------------------------------------------

// A process running in the background, its stdout and stderr going to files; killed (with its process group) when
// the object goes. With gated = true its stdin is a pipe, for a command that waits for release() before it goes on.
class Process
{
public:
    Process(const std::vector<std::string>& argv, const std::string& outputPrefix, bool gated = false);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return m_pid; }
    bool running();
    // Waits for the exit; nullopt when the deadline passed first.
    std::optional<int> wait(std::chrono::milliseconds deadline);
    void release();
    std::string out() const;
    std::string err() const;

private:
    pid_t m_pid = -1;
    int m_gate = -1;
    std::optional<int> m_status;
    std::string m_outPath, m_errPath;
};

// argv behind a gate: a shell that waits for a line on stdin (start it as a gated Process, then release() it) and
// then execs argv, so the PID stays the same throughout (an agent can be registered for it before it calls).
std::vector<std::string> behindGate(const std::vector<std::string>& argv);

// ---- The bus, polkitd, hangard ----------------------------------------------------------------------------------

// dbus-daemon as a system bus: <type>system</type>, the stock default-deny policy, the stock system.d directories
// (polkitd's name) and a directory holding the repository's dbus/org.hangar.Hangar1.conf. No activation: a service
// that is not running is not started behind the tests' back (polkitd in particular).
class SystemBus : public support::PrivateBus
{
public:
    explicit SystemBus(const std::string& dir);
};

// The real polkitd, started as root with DBUS_SYSTEM_BUS_ADDRESS pointing at the private bus (it drops to user
// polkitd itself). start() returns once it owns org.freedesktop.PolicyKit1.
class Polkitd
{
public:
    Polkitd(const std::string& busAddress, const std::string& dir);
    void start();
    void stop();
    std::string log() const;

private:
    std::string m_busAddress, m_logPath;
    std::unique_ptr<Child> m_process;
};

// A polkit rules file of one test, in the private /etc/polkit-1/rules.d (read by polkitd at start and on change).
class RulesFile
{
public:
    RulesFile(const std::string& name, const std::string& text);
    ~RulesFile();
    RulesFile(const RulesFile&) = delete;
    RulesFile& operator=(const RulesFile&) = delete;

private:
    std::string m_path;
};

struct HangardOptions
{
    bool asServiceUser = false; // run as user hangar (setpriv) instead of root
    std::string config;         // text of the --config file (INI); empty = an empty file
};

// hangard on the private bus with libvirt's test driver and polkit as authorizer. Returns from the constructor
// once the daemon said READY=1.
class HangardProcess
{
public:
    HangardProcess(const std::string& busAddress, const std::string& dir, const HangardOptions& options);
    ~HangardProcess();
    int stop();
    std::string log() const;

private:
    std::string m_logPath;
    std::unique_ptr<Child> m_process;
};

// The binaries under test: the build's, or HANGAR_TEST_HANGARD / HANGAR_TEST_HANGARCTL when set (to run the suite
// against another build).
std::string hangardBinary();
std::string hangarctlBinary();

// ---- Clients -------------------------------------------------------------------------------------------------------

// What a client saw: the exit code, the output, and for a D-Bus error its name and message.
struct CallResult
{
    int exitCode = -1;
    std::string out, err;
    std::string errorName, errorMessage;

    bool ok() const { return exitCode == 0; }
    std::string describe() const;
};

// Parses gdbus's output into a CallResult ("GDBus.Error:NAME: MESSAGE" on failure).
CallResult toCallResult(const RunResult& run);

// argv of `gdbus call` on the bus (to org.hangar.Hangar1 unless told). args are GVariant text, e.g. "'web'",
// "@a{sv} {}".
std::vector<std::string> gdbusCall(const std::string& busAddress, const std::string& path, const std::string& method,
                                   const std::vector<std::string>& args, const std::string& destination = kService);

// Runs a gdbus call as user and waits for it.
CallResult callAs(const std::string& busAddress, const TestUser& user, const std::string& path,
                  const std::string& method, const std::vector<std::string>& args,
                  std::chrono::seconds timeout = std::chrono::seconds(30));

// ---- What gdbus prints ---------------------------------------------------------------------------------------------

// The first VM object path in the output, or "".
std::string vmPathIn(const std::string& gdbusOutput);

struct EventRow
{
    std::uint32_t uid = 0;
    std::string vmName, action, outcome, message;
};

// The rows of a GetEvents reply as gdbus prints them.
std::vector<EventRow> parseEvents(const std::string& gdbusOutput);

// A number in one section ("limits" or "usage") of a GetQuota reply as gdbus prints it.
std::optional<std::uint64_t> quotaNumber(const std::string& gdbusOutput, const std::string& section,
                                         const std::string& key);

// ---- Root's view -----------------------------------------------------------------------------------------------

struct VmRow
{
    std::string name, uuid, state;
    std::uint32_t owner = 0;
    std::string path;
};

// Reads the inventory as root through sdbus-c++ (reads need no authorization): what a denied call must not have
// changed, and what an allowed one did.
class RootView
{
public:
    explicit RootView(const std::string& busAddress);

    std::uint32_t vmCount();
    std::uint32_t runningVmCount();
    std::vector<VmRow> allVms();
    std::optional<std::string> findVm(const std::string& name);
    bool objectExists(const std::string& path);
    std::string state(const std::string& path);
    std::string name(const std::string& path);
    std::uint32_t owner(const std::string& path);
    // Every event about the VM (by UUID), as root (an administrator) sees them.
    std::vector<EventRow> eventsAbout(const std::string& uuid);
    std::string uuid(const std::string& path);
    // Waits until the VM's State is want; returns the last State seen.
    std::string waitForState(const std::string& path, const std::string& want,
                             std::chrono::milliseconds deadline = 10s);
    bool nameHasOwner(const std::string& name);

private:
    sdbus::Variant property(const std::string& path, const std::string& interface, const std::string& name);

    std::unique_ptr<sdbus::IConnection> m_connection;
};

// ---- A polkit authentication agent -------------------------------------------------------------------------------

// An authentication agent registered by root for processes (as `pkttyagent --process PID` does), so a test can keep
// interactive authorizations pending as long as it wants and then answer them, without PAM: root tells polkitd the
// identity authenticated (AuthenticationAgentResponse2), as polkit's setuid helper would.
// Single-threaded: its connection is served only inside waitForRequests() and approveAll(), on the test's thread.
class AuthAgent
{
public:
    explicit AuthAgent(const std::string& busAddress);
    ~AuthAgent();
    AuthAgent(const AuthAgent&) = delete;
    AuthAgent& operator=(const AuthAgent&) = delete;

    void registerForProcess(pid_t pid);
    // Serves the agent's connection until cond holds or the deadline passed.
    bool serveUntil(const std::function<bool()>& cond, std::chrono::milliseconds deadline);
    // Serves until polkitd asked for count authentications (pending at once), or the deadline passed.
    bool waitForRequests(std::size_t count, std::chrono::milliseconds deadline)
    {
        return serveUntil([this, count] { return m_pending.size() >= count; }, deadline);
    }
    std::size_t pendingCount() const { return m_pending.size(); }
    // The action and details polkitd sent with the first pending request.
    const std::string& requestedAction() const;
    const std::map<std::string, std::string>& requestDetails() const;
    // Tells polkitd that uid authenticated, for every pending request, then ends them.
    void approveAll(uid_t uid);

private:
    struct Pending
    {
        sdbus::Result<> result;
        std::string cookie, action;
        std::map<std::string, std::string> details;
    };

    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IObject> m_object;
    std::unique_ptr<sdbus::IProxy> m_authority;
    std::vector<Pending> m_pending;
};

} // namespace hangar::it::polkit
