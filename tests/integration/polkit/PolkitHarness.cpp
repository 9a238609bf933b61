#include "PolkitHarness.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hangar::it::polkit {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kHermeticMarker = "/etc/hangar-hermetic-etc";
constexpr const char* kPolkitd = "/usr/lib/polkit-1/polkitd";
constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kAgentPath = "/org/hangar/tests/AuthAgent";
constexpr const char* kAgentInterface = "org.freedesktop.PolicyKit1.AuthenticationAgent";
constexpr const char* kAuthorityInterface = "org.freedesktop.PolicyKit1.Authority";

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;

bool etcIsAMountPoint()
{
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, device, root, mountPoint;
        if (fields >> id >> parent >> device >> root >> mountPoint && mountPoint == "/etc")
            return true;
    }
    return false;
}

void mustRun(const std::vector<std::string>& argv)
{
    const RunResult r = run(argv);
    if (r.exitCode != 0) {
        std::string command;
        for (const auto& a : argv)
            command += a + " ";
        throw std::runtime_error("'" + command + "' failed (" + std::to_string(r.exitCode) + "): " + r.err);
    }
}

bool userExists(const std::string& name)
{
    return getpwnam(name.c_str()) != nullptr;
}
bool groupExists(const std::string& name)
{
    return getgrnam(name.c_str()) != nullptr;
}

TestUser lookUp(const std::string& name)
{
    const passwd* pw = getpwnam(name.c_str());
    if (!pw)
        throw std::runtime_error("user " + name + " does not exist after useradd");
    return TestUser{name, pw->pw_uid, pw->pw_gid};
}

std::string resolveExecutable(const std::string& exe)
{
    if (exe.find('/') != std::string::npos)
        return exe;
    for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
        std::string p = std::string(dir) + "/" + exe;
        if (access(p.c_str(), X_OK) == 0)
            return p;
    }
    return exe;
}

// The bus is ready when a client can connect: the socket file appears at bind(), before dbus-daemon listens.
bool acceptsConnections(const std::string& socketPath)
{
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socketPath.c_str(), sizeof addr.sun_path - 1);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::uint64_t processStartTime(pid_t pid)
{
    const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    // Field 22 of stat(5) is starttime; the fields after ')' start at field 3.
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22)
            return std::stoull(field);
    }
    throw std::runtime_error("no starttime in /proc/" + std::to_string(pid) + "/stat");
}

} // namespace

// ---- The run's environment --------------------------------------------------------------------------------------

std::string hermeticProblem()
{
    const char* root = std::getenv("HANGAR_HERMETIC_ROOT");
    if (!root || !*root)
        return "not started through tests/integration/polkit/run-hermetic.sh (HANGAR_HERMETIC_ROOT is not set)";
    if (access(kHermeticMarker, F_OK) != 0)
        return std::string(kHermeticMarker) + " is missing: /etc is not run-hermetic.sh's private copy";
    if (!etcIsAMountPoint())
        return "/etc is not a mount point: it is not run-hermetic.sh's private copy";
    return {};
}

const TestUsers& testUsers()
{
    static std::optional<TestUsers> users;
    if (users)
        return *users;
    if (const std::string problem = hermeticProblem(); !problem.empty())
        throw std::runtime_error("refusing to add users: " + problem);

    // As systemd/hangar.sysusers.conf: the service user hangar with its own group, a member of libvirt.
    for (const char* group : {"hangar-admin", "libvirt"}) {
        if (!groupExists(group))
            mustRun({"groupadd", "--system", group});
    }
    if (!userExists("hangar")) {
        std::vector<std::string> argv{"useradd",         "--system", "--no-create-home", "--home-dir",
                                      "/var/lib/hangar", "--shell",  "/usr/sbin/nologin"};
        if (groupExists("hangar"))
            argv.insert(argv.end(), {"--gid", "hangar"});
        else
            argv.push_back("--user-group");
        argv.push_back("hangar");
        mustRun(argv);
    }
    mustRun({"usermod", "--append", "--groups", "libvirt", "hangar"});

    auto person = [](const std::string& name, const std::string& groups) {
        if (!userExists(name)) {
            std::vector<std::string> argv{"useradd", "--no-create-home", "--no-user-group", "--shell",
                                          "/usr/sbin/nologin"};
            if (!groups.empty())
                argv.insert(argv.end(), {"--groups", groups});
            argv.push_back(name);
            mustRun(argv);
        }
        return lookUp(name);
    };
    TestUsers u;
    u.root = TestUser{"root", 0, 0};
    u.admin = person("hgt-admin", "hangar-admin");
    u.guest1 = person("hgt-guest1", "hangar");
    u.guest2 = person("hgt-guest2", "hangar");
    u.outsider = person("hgt-outsider", "");
    u.service = lookUp("hangar");
    users = u;
    return *users;
}

std::vector<std::string> asUser(const TestUser& user, std::vector<std::string> argv)
{
    if (user.uid == 0)
        return argv;
    std::vector<std::string> out{"/usr/bin/setpriv",
                                 "--reuid=" + std::to_string(user.uid),
                                 "--regid=" + std::to_string(user.gid),
                                 "--init-groups",
                                 "--reset-env",
                                 "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

// ---- Processes ---------------------------------------------------------------------------------------------------

Process::Process(const std::vector<std::string>& argvIn, const std::string& outputPrefix, bool gated)
    : m_outPath(outputPrefix + ".out"), m_errPath(outputPrefix + ".err")
{
    std::vector<std::string> argv = argvIn;
    argv[0] = resolveExecutable(argv[0]);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);

    int gate[2] = {-1, -1};
    if (gated && pipe2(gate, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    const int out = open(m_outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = open(m_errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0)
        throw std::runtime_error("cannot create " + outputPrefix + ".{out,err}");
    m_pid = fork();
    if (m_pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (m_pid == 0) {
        setpgid(0, 0);
        const int in = gated ? gate[0] : open("/dev/null", O_RDONLY);
        dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execv(args[0], args.data());
        _exit(127);
    }
    close(out);
    close(err);
    if (gated) {
        close(gate[0]);
        m_gate = gate[1];
    }
}

Process::~Process()
{
    if (m_gate >= 0)
        close(m_gate);
    if (!m_status) {
        kill(-m_pid, SIGKILL);
        kill(m_pid, SIGKILL);
        waitpid(m_pid, nullptr, 0);
    }
}

bool Process::running()
{
    if (m_status)
        return false;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds deadline)
{
    if (!waitFor([this] { return !running(); }, deadline))
        return std::nullopt;
    return m_status;
}

void Process::release()
{
    if (m_gate < 0)
        throw std::logic_error("release() on a process that is not gated");
    const char go[] = "go\n";
    if (write(m_gate, go, sizeof go - 1) != static_cast<ssize_t>(sizeof go - 1))
        throw std::runtime_error("cannot release the gated process");
    close(m_gate);
    m_gate = -1;
}

std::string Process::out() const
{
    return readFile(m_outPath);
}
std::string Process::err() const
{
    return readFile(m_errPath);
}

std::vector<std::string> behindGate(const std::vector<std::string>& argv)
{
    std::vector<std::string> out{"/bin/sh", "-c", "read -r go && exec \"$0\" \"$@\""};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

// ---- The bus, polkitd, hangard ----------------------------------------------------------------------------------

SystemBus::SystemBus(const std::string& dir) : m_dir(dir)
{
    const std::string socket = dir + "/system_bus_socket";
    const std::string policyDir = dir + "/system.d";
    fs::create_directories(policyDir);
    fs::copy_file(std::string(HANGAR_SOURCE_DIR) + "/dbus/org.hangar.Hangar1.conf",
                  policyDir + "/org.hangar.Hangar1.conf", fs::copy_options::overwrite_existing);

    // Mirrors /usr/share/dbus-1/system.conf, minus what does not fit a bus started by a test: <user> (it stays
    // root), <fork>, <pidfile>, <syslog>, activation (<standard_system_servicedirs/>, <servicehelper>).
    std::ofstream(dir + "/system.conf")
        << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=)"
        << socket << R"(</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
  <includedir>)"
        << policyDir << R"(</includedir>
</busconfig>
)";
    m_process = std::make_unique<Child>(std::vector<std::string>{"/usr/bin/dbus-daemon",
                                                                 "--config-file=" + dir + "/system.conf", "--nofork",
                                                                 "--nopidfile"},
                                        std::map<std::string, std::string>{}, dir + "/dbus-daemon.log");
    if (!waitFor([&] { return acceptsConnections(socket) || !m_process->running(); }) || !acceptsConnections(socket))
        throw std::runtime_error("dbus-daemon does not accept connections on " + socket + ": " + log());
    chmod(socket.c_str(), 0777);
    m_address = "unix:path=" + socket;
}

std::string SystemBus::log() const
{
    return readFile(m_dir + "/dbus-daemon.log");
}

Polkitd::Polkitd(const std::string& busAddress, const std::string& dir)
    : m_busAddress(busAddress), m_logPath(dir + "/polkitd.log")
{}

void Polkitd::start()
{
    m_process = std::make_unique<Child>(std::vector<std::string>{kPolkitd, "--no-debug"},
                                        std::map<std::string, std::string>{{"DBUS_SYSTEM_BUS_ADDRESS", m_busAddress}},
                                        m_logPath);
    RootView bus(m_busAddress);
    if (!waitFor([&] { return bus.nameHasOwner(kPolkitName) || !m_process->running(); }) ||
        !bus.nameHasOwner(kPolkitName))
        throw std::runtime_error("polkitd did not take its name on the bus: " + log());
}

void Polkitd::stop()
{
    if (!m_process)
        return;
    m_process->stop(SIGTERM);
    m_process.reset();
    RootView bus(m_busAddress);
    if (!waitFor([&] { return !bus.nameHasOwner(kPolkitName); }))
        throw std::runtime_error("org.freedesktop.PolicyKit1 still has an owner after polkitd stopped");
}

std::string Polkitd::log() const
{
    return readFile(m_logPath);
}

RulesFile::RulesFile(const std::string& name, const std::string& text) : m_path("/etc/polkit-1/rules.d/" + name)
{
    if (const std::string problem = hermeticProblem(); !problem.empty())
        throw std::runtime_error("refusing to write " + m_path + ": " + problem);
    std::ofstream(m_path) << text;
    chmod(m_path.c_str(), 0644);
}

RulesFile::~RulesFile()
{
    unlink(m_path.c_str());
}

std::string hangardBinary()
{
    if (const char* path = std::getenv("HANGAR_TEST_HANGARD"); path && *path)
        return path;
    return hangardPath();
}

std::string hangarctlBinary()
{
    if (const char* path = std::getenv("HANGAR_TEST_HANGARCTL"); path && *path)
        return path;
    return hangarctlPath();
}

HangardProcess::HangardProcess(const std::string& busAddress, const std::string& dir, const HangardOptions& options)
    : m_logPath(dir + "/hangard.log")
{
    const TestUsers& users = testUsers();
    const std::string stateDir = dir + "/state";
    const std::string configPath = dir + "/hangard.conf";
    const std::string notifyPath = dir + "/notify";
    fs::create_directories(stateDir);
    std::ofstream(configPath) << options.config;
    chmod(configPath.c_str(), 0644);
    if (options.asServiceUser) {
        if (chown(stateDir.c_str(), users.service.uid, users.service.gid) != 0)
            throw std::runtime_error("cannot chown " + stateDir);
        chmod(stateDir.c_str(), 0750);
    }

    // hangard says READY=1 over $NOTIFY_SOCKET once it serves: the harness waits for exactly that.
    unlink(notifyPath.c_str());
    const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notifyPath.c_str(), sizeof addr.sun_path - 1);
    if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind " + notifyPath);
    chmod(notifyPath.c_str(), 0777);

    // --authorizer=polkit is the default for a bus address; said anyway, so the tests never run on allow-all.
    std::vector<std::string> argv{hangardBinary(),           "--bus=" + busAddress,    "--hypervisor=test:///default",
                                  "--state-dir=" + stateDir, "--config=" + configPath, "--authorizer=polkit"};
    std::map<std::string, std::string> env{{"NOTIFY_SOCKET", notifyPath}};
    if (options.asServiceUser) {
        // Not asUser(): the daemon keeps its environment (NOTIFY_SOCKET); HOME as systemd would set it.
        argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=" + std::to_string(users.service.uid),
                                   "--regid=" + std::to_string(users.service.gid), "--init-groups", "--"});
        env["HOME"] = "/var/lib/hangar";
        env["USER"] = "hangar";
    }
    m_process = std::make_unique<Child>(argv, env, m_logPath);

    bool ready = false;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!ready && Clock::now() < deadline && m_process->running()) {
        pollfd p{sock, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = recv(sock, buf.data(), buf.size() - 1, 0);
        if (n > 0 && std::string(buf.data(), static_cast<std::size_t>(n)).find("READY=1") != std::string::npos)
            ready = true;
    }
    close(sock);
    unlink(notifyPath.c_str());
    if (!ready)
        throw std::runtime_error("hangard did not report READY=1: " + log());
}

HangardProcess::~HangardProcess() = default;

int HangardProcess::stop()
{
    return m_process->stop(SIGTERM);
}

std::string HangardProcess::log() const
{
    return readFile(m_logPath);
}

// ---- Clients -------------------------------------------------------------------------------------------------------

std::string CallResult::describe() const
{
    std::string text = "exit " + std::to_string(exitCode);
    if (!errorName.empty())
        text += ", " + errorName + ": " + errorMessage;
    if (!out.empty())
        text += "\nstdout: " + out;
    if (!err.empty())
        text += "\nstderr: " + err;
    return text;
}

CallResult toCallResult(const RunResult& r)
{
    CallResult c{r.exitCode, r.out, r.err, {}, {}};
    static const std::regex error(R"(GDBus\.Error:([A-Za-z_][A-Za-z0-9_.]*): ([^\n]*))");
    std::smatch m;
    if (std::regex_search(c.err, m, error)) {
        c.errorName = m[1];
        c.errorMessage = m[2];
    }
    return c;
}

std::vector<std::string> gdbusCall(const std::string& busAddress, const std::string& path, const std::string& method,
                                   const std::vector<std::string>& args, const std::string& destination)
{
    std::vector<std::string> argv{"/usr/bin/gdbus", "call",          "--address", busAddress, "--dest",
                                  destination,      "--object-path", path,        "--method", method};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

CallResult callAs(const std::string& busAddress, const TestUser& user, const std::string& path,
                  const std::string& method, const std::vector<std::string>& args, std::chrono::seconds timeout)
{
    return toCallResult(run(asUser(user, gdbusCall(busAddress, path, method, args)), {}, timeout));
}

// ---- What gdbus prints ---------------------------------------------------------------------------------------------

std::string vmPathIn(const std::string& gdbusOutput)
{
    static const std::regex path("'(/org/hangar/Hangar1/vm/[A-Za-z0-9_]+)'");
    std::smatch m;
    return std::regex_search(gdbusOutput, m, path) ? std::string(m[1]) : std::string();
}

std::vector<EventRow> parseEvents(const std::string& gdbusOutput)
{
    // (id, time_usec, uid, vm_uuid, vm_name, action, outcome, message); GVariant text names the type of the first
    // row's numbers only, and quotes a string with "..." when it contains a '.
    static const std::string str = R"(('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))";
    static const std::regex row(R"(\((?:uint64 )?\d+, (?:uint64 )?\d+, (?:uint32 )?(\d+), )" + str + ", " + str + ", " +
                                str + ", " + str + ", " + str + R"(\))");
    auto unquote = [](const std::string& s) { return s.substr(1, s.size() - 2); };
    std::vector<EventRow> rows;
    for (auto it = std::sregex_iterator(gdbusOutput.begin(), gdbusOutput.end(), row); it != std::sregex_iterator();
         ++it) {
        const auto& m = *it;
        rows.push_back(EventRow{static_cast<std::uint32_t>(std::stoul(m[1])), unquote(m[3]), unquote(m[4]),
                                unquote(m[5]), unquote(m[6])});
    }
    return rows;
}

std::optional<std::uint64_t> quotaNumber(const std::string& gdbusOutput, const std::string& section,
                                         const std::string& key)
{
    const std::string open = "'" + section + "': <{";
    const auto begin = gdbusOutput.find(open);
    if (begin == std::string::npos)
        return std::nullopt;
    const auto end = gdbusOutput.find("}>", begin);
    const std::string body = gdbusOutput.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    const std::regex number("'" + key + R"(': <(?:uint32 |uint64 |int32 |int64 )?(\d+)>)");
    std::smatch m;
    if (!std::regex_search(body, m, number))
        return std::nullopt;
    return std::stoull(m[1]);
}

// ---- Root's view -----------------------------------------------------------------------------------------------

RootView::RootView(const std::string& busAddress)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(busAddress))
{}

sdbus::Variant RootView::property(const std::string& path, const std::string& interface, const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, path);
    sdbus::Variant value;
    proxy->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(interface, name)
        .storeResultsTo(value);
    return value;
}

std::uint32_t RootView::vmCount()
{
    return property(kManagerPath, kManager, "VMCount").get<std::uint32_t>();
}

std::uint32_t RootView::runningVmCount()
{
    return property(kManagerPath, kManager, "RunningVMCount").get<std::uint32_t>();
}

std::vector<VmRow> RootView::allVms()
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::uint32_t, sdbus::ObjectPath>> rows;
    proxy->callMethod("ListVMs")
        .onInterface(kManager)
        .withArguments(std::map<std::string, sdbus::Variant>{{"all", sdbus::Variant(true)}})
        .storeResultsTo(rows);
    std::vector<VmRow> out;
    for (const auto& r : rows)
        out.push_back(VmRow{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>()});
    return out;
}

std::optional<std::string> RootView::findVm(const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    sdbus::ObjectPath path;
    try {
        proxy->callMethod("GetVM").onInterface(kManager).withArguments(name).storeResultsTo(path);
    } catch (const sdbus::Error& e) {
        if (e.getName() == kNotFound)
            return std::nullopt;
        throw;
    }
    return std::string(path);
}

bool RootView::objectExists(const std::string& path)
{
    for (const auto& vm : allVms()) {
        if (vm.path == path)
            return true;
    }
    return false;
}

std::string RootView::state(const std::string& path)
{
    return property(path, kVm, "State").get<std::string>();
}
std::string RootView::name(const std::string& path)
{
    return property(path, kVm, "Name").get<std::string>();
}
std::string RootView::uuid(const std::string& path)
{
    return property(path, kVm, "UUID").get<std::string>();
}
std::uint32_t RootView::owner(const std::string& path)
{
    return property(path, kVm, "Owner").get<std::uint32_t>();
}

std::vector<EventRow> RootView::eventsAbout(const std::string& uuid)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    std::vector<sdbus::Struct<std::uint64_t, std::uint64_t, std::uint32_t, std::string, std::string, std::string,
                              std::string, std::string>>
        rows;
    proxy->callMethod("GetEvents")
        .onInterface(kManager)
        .withArguments(std::map<std::string, sdbus::Variant>{{"vm", sdbus::Variant(uuid)},
                                                             {"limit", sdbus::Variant(std::uint32_t{10000})}})
        .storeResultsTo(rows);
    std::vector<EventRow> out;
    for (const auto& r : rows)
        out.push_back(EventRow{r.get<2>(), r.get<4>(), r.get<5>(), r.get<6>(), r.get<7>()});
    return out;
}

std::string RootView::waitForState(const std::string& path, const std::string& want, std::chrono::milliseconds deadline)
{
    std::string seen;
    waitFor(
        [&] {
            seen = state(path);
            return seen == want;
        },
        deadline);
    return seen;
}

bool RootView::nameHasOwner(const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool has = false;
    proxy->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(name).storeResultsTo(has);
    return has;
}

// ---- A polkit authentication agent -------------------------------------------------------------------------------

AuthAgent::AuthAgent(const std::string& busAddress)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(busAddress))
{
    m_object = sdbus::createObject(*m_connection, kAgentPath);
    m_object->registerMethod("BeginAuthentication")
        .onInterface(kAgentInterface)
        .withInputParamNames("action_id", "message", "icon_name", "details", "cookie", "identities")
        .implementedAs([this](sdbus::Result<>&& result, const std::string& actionId, const std::string&,
                              const std::string&, const std::map<std::string, std::string>& details,
                              const std::string& cookie, const std::vector<Subject>&) {
            m_pending.push_back(Pending{std::move(result), cookie, actionId, details});
        });
    m_object->registerMethod("CancelAuthentication")
        .onInterface(kAgentInterface)
        .withInputParamNames("cookie")
        .implementedAs([this](const std::string& cookie) {
            for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
                if (it->cookie == cookie) {
                    it->result.returnError(sdbus::Error("org.freedesktop.PolicyKit1.Error.Cancelled", "cancelled"));
                    m_pending.erase(it);
                    return;
                }
            }
        });
    m_object->finishRegistration();
    m_authority = sdbus::createProxy(*m_connection, kPolkitName, "/org/freedesktop/PolicyKit1/Authority");
}

AuthAgent::~AuthAgent()
{
    for (auto& p : m_pending) {
        try {
            p.result.returnError(sdbus::Error("org.freedesktop.PolicyKit1.Error.Cancelled", "test ended"));
        } catch (const sdbus::Error&) {
            // The bus may be gone already.
        }
    }
}

void AuthAgent::registerForProcess(pid_t pid)
{
    const Subject subject{"unix-process",
                          {{"pid", sdbus::Variant(static_cast<std::uint32_t>(pid))},
                           {"start-time", sdbus::Variant(processStartTime(pid))}}};
    m_authority->callMethod("RegisterAuthenticationAgent")
        .onInterface(kAuthorityInterface)
        .withArguments(subject, std::string("C"), std::string(kAgentPath)); // polkit takes the path as s
}

bool AuthAgent::serveUntil(const std::function<bool()>& cond, std::chrono::milliseconds deadline)
{
    const auto end = Clock::now() + deadline;
    while (true) {
        while (m_connection->processPendingRequest()) {
        }
        if (cond())
            return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            return false;
        const auto data = m_connection->getEventLoopPollData();
        pollfd p{data.fd, data.events, 0};
        // Short polls: cond may also depend on things other than this connection (processes ending).
        int timeout = data.getPollTimeout();
        if (timeout < 0 || timeout > 10)
            timeout = 10;
        poll(&p, 1, timeout);
    }
}

const std::string& AuthAgent::requestedAction() const
{
    if (m_pending.empty())
        throw std::logic_error("no pending authentication");
    return m_pending.front().action;
}

const std::map<std::string, std::string>& AuthAgent::requestDetails() const
{
    if (m_pending.empty())
        throw std::logic_error("no pending authentication");
    return m_pending.front().details;
}

void AuthAgent::approveAll(uid_t uid)
{
    // The uid argument is the agent's (root registered it); the identity is who authenticated.
    const Subject identity{"unix-user", {{"uid", sdbus::Variant(static_cast<std::uint32_t>(uid))}}};
    for (auto& p : m_pending) {
        m_authority->callMethod("AuthenticationAgentResponse2")
            .onInterface(kAuthorityInterface)
            .withArguments(std::uint32_t{0}, p.cookie, identity);
        p.result.returnResults();
    }
    m_pending.clear();
    while (m_connection->processPendingRequest()) {
    }
}

} // namespace hangar::it::polkit
