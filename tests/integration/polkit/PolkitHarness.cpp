#include "PolkitHarness.h"

#include "support/NotifySocket.h"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::it::polkit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHermeticMarker = "/etc/hangar-hermetic-etc";
constexpr const char* kPolkitd = "/usr/lib/polkit-1/polkitd";

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

Process::Process(const std::vector<std::string>& argv, const std::string& outputPrefix, bool gated)
    : m_outPath(outputPrefix + ".out"), m_errPath(outputPrefix + ".err")
{
    int gate[2] = {-1, -1};
    if (gated && pipe2(gate, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    const int out = open(m_outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = open(m_errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0)
        throw std::runtime_error("cannot create " + outputPrefix + ".{out,err}");
    // The environment is this process's as it is; asUser() resets it for the clients that run as other users.
    m_pid = support::spawn({argv, {}, gated ? gate[0] : -1, out, err, {}, false});
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
        support::reap(m_pid, true);
    }
}

bool Process::running()
{
    if (m_status)
        return false;
    m_status = support::reap(m_pid, false);
    return !m_status;
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

namespace {

// The system bus's configuration, with a directory for Hangar's bus policy made next to it.
std::string systemBusConfig(const std::string& dir, const std::string& socket)
{
    const std::string policyDir = dir + "/system.d";
    fs::create_directories(policyDir);
    fs::copy_file(std::string(HANGAR_SOURCE_DIR) + "/dbus/org.hangar.Hangar1.conf",
                  policyDir + "/org.hangar.Hangar1.conf", fs::copy_options::overwrite_existing);

    // Mirrors /usr/share/dbus-1/system.conf, minus what does not fit a bus started by a test: <user> (it stays
    // root), <fork>, <pidfile>, <syslog>, activation (<standard_system_servicedirs/>, <servicehelper>).
    return R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=)" +
           socket + R"(</listen>
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
  <includedir>)" +
           policyDir + R"(</includedir>
</busconfig>
)";
}

} // namespace

SystemBus::SystemBus(const std::string& dir)
    : PrivateBus(dir, dir + "/system_bus_socket", systemBusConfig(dir, dir + "/system_bus_socket"))
{}

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

    // hangard says READY=1 over $NOTIFY_SOCKET once it serves: the harness waits for exactly that. The socket is
    // open to the service user.
    support::NotifySocket notify(notifyPath);
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
    if (!notify.waitReady(std::chrono::seconds(20), [this] { return m_process->running(); }))
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

} // namespace hangar::it::polkit
