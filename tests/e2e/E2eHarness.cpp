#include "E2eHarness.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <iostream>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <thread>
#include <unistd.h>

namespace hangar::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (!line.empty())
            out.push_back(line);
    }
    return out;
}

std::string tail(const std::string& text, std::size_t maxChars = 4000)
{
    return text.size() <= maxChars ? text : "..." + text.substr(text.size() - maxChars);
}

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream out(path);
    out << text;
    if (!out.flush())
        throw std::runtime_error("cannot write " + path);
}

// The QEMU driver looks the user up before it reads qemu.conf (which then says root): Debian's
// libvirt-daemon-system creates it; a machine with only the daemon and driver packages lacks it.
void ensureLibvirtQemuUser()
{
    if (getgrnam("libvirt-qemu") && getpwnam("libvirt-qemu"))
        return;
    if (!hermetic())
        throw std::runtime_error("user libvirt-qemu is missing, and /etc is the host's: run through run-hermetic.sh");
    if (!getgrnam("libvirt-qemu")) {
        auto r = it::run({"groupadd", "--system", "libvirt-qemu"});
        if (r.exitCode != 0)
            throw std::runtime_error("groupadd libvirt-qemu: " + r.err);
    }
    if (!getpwnam("libvirt-qemu")) {
        auto r = it::run({"useradd", "--system", "--gid", "libvirt-qemu", "--no-create-home", "--home-dir",
                          "/var/lib/libvirt", "--shell", "/usr/sbin/nologin", "libvirt-qemu"});
        if (r.exitCode != 0)
            throw std::runtime_error("useradd libvirt-qemu: " + r.err);
    }
}

bool processGone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    // A zombie still answers kill(0); it is dead all the same (PID 1 of the namespace reaps it).
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = content.rfind(')');
    return close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z';
}

} // namespace

bool hermetic()
{
    return access("/etc/hangar-e2e-hermetic", F_OK) == 0;
}

void buildGuest(const std::string& dir)
{
    auto r = it::run({HANGAR_E2E_DIR "/make-guest.sh", dir}, {}, 60s);
    if (r.exitCode != 0)
        throw std::runtime_error("make-guest.sh failed (exit " + std::to_string(r.exitCode) + "): " + r.out + r.err);
}

// ---- Libvirtd ----------------------------------------------------------------------------------------------------

Libvirtd::Libvirtd(const std::string& dir) : m_dir(dir), m_uri("qemu:///system?socket=" + dir + "/libvirt-sock")
{
    if (geteuid() != 0)
        throw std::runtime_error("libvirtd's QEMU driver as qemu:///system needs root");
    if (!hermetic())
        throw std::runtime_error("refusing to start a libvirtd outside run-hermetic.sh: it would use the host's "
                                 "/etc/libvirt, /run/libvirt and /var/lib/libvirt");
    ensureLibvirtQemuUser();
    // QEMU runs as root with no confinement; its stdout/stderr go to /var/log/libvirt/qemu/NAME.log directly
    // (no virtlogd); no cgroups (none to be had without systemd, and none of the host's to touch); no private /dev
    // per domain (mount namespaces inside this sandbox gain nothing).
    writeText("/etc/libvirt/qemu.conf", R"(# Written by Hangar's end-to-end harness (tests/e2e/E2eHarness.cpp)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
vnc_listen = "127.0.0.1"
)");
    const std::string conf = dir + "/libvirtd.conf";
    writeText(conf, "# Written by Hangar's end-to-end harness (tests/e2e/E2eHarness.cpp)\n"
                    "unix_sock_dir = \"" +
                        dir +
                        "\"\n"
                        "unix_sock_rw_perms = \"0700\"\n"
                        "auth_unix_rw = \"none\"\n"
                        "auth_unix_ro = \"none\"\n"
                        "log_outputs = \"3:file:" +
                        dir + "/libvirtd.log\"\n");
    const auto start = Clock::now();
    m_process = std::make_unique<it::Child>(
        std::vector<std::string>{"/usr/sbin/libvirtd", "-f", conf, "-p", dir + "/libvirtd.pid"},
        std::map<std::string, std::string>{}, dir + "/libvirtd.out");
    // The first start probes QEMU's capabilities (~10 s; cached in /var/cache/libvirt afterwards).
    bool up = false;
    const auto deadline = start + 90s;
    while (!up && Clock::now() < deadline && m_process->running()) {
        up = virsh({"version"}, 10s).exitCode == 0;
        if (!up)
            std::this_thread::sleep_for(100ms);
    }
    m_startSeconds = secondsSince(start);
    if (!up) {
        const std::string why = m_process->running() ? "did not answer within 90 s" : "exited";
        stop();
        throw std::runtime_error("libvirtd " + why + ": " + tail(it::readFile(dir + "/libvirtd.out")) + tail(log()));
    }
}

Libvirtd::~Libvirtd()
{
    stop();
}

RunResult Libvirtd::virsh(const std::vector<std::string>& args, std::chrono::seconds timeout) const
{
    std::vector<std::string> argv{"/usr/bin/virsh", "-q", "-c", m_uri};
    argv.insert(argv.end(), args.begin(), args.end());
    return it::run(argv, {}, timeout);
}

std::vector<std::string> Libvirtd::domains(bool all) const
{
    std::vector<std::string> args{"list", "--name"};
    if (all)
        args.push_back("--all");
    auto r = virsh(args);
    if (r.exitCode != 0)
        throw std::runtime_error("virsh list failed: " + r.err);
    return lines(r.out);
}

std::string Libvirtd::qemuLog(const std::string& domain) const
{
    return it::readFile("/var/log/libvirt/qemu/" + domain + ".log");
}

std::string Libvirtd::log() const
{
    return it::readFile(m_dir + "/libvirtd.log");
}

std::vector<pid_t> Libvirtd::qemuPids() const
{
    std::vector<pid_t> pids;
    auto add = [&pids](pid_t pid) {
        if (pid > 1 && pid != getpid() && std::find(pids.begin(), pids.end(), pid) == pids.end())
            pids.push_back(pid);
    };
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/run/libvirt/qemu", ec)) {
        if (entry.path().extension() != ".pid")
            continue;
        std::ifstream in(entry.path());
        pid_t pid = 0;
        if (in >> pid)
            add(pid);
    }
    // This PID namespace is the run's own: every QEMU in it was started by this libvirtd.
    if (hermetic()) {
        for (const auto& entry : fs::directory_iterator("/proc", ec)) {
            const std::string name = entry.path().filename();
            if (name.find_first_not_of("0123456789") != std::string::npos)
                continue;
            std::error_code linkEc;
            const auto exe = fs::read_symlink(entry.path() / "exe", linkEc).filename().string();
            if (!linkEc && exe.rfind("qemu-system-", 0) == 0)
                add(static_cast<pid_t>(std::stol(name)));
        }
    }
    return pids;
}

void Libvirtd::stop()
{
    if (!m_process)
        return;
    if (m_process->running()) {
        // The polite way first (also lets libvirt clean its state), bounded.
        try {
            for (const auto& domain : domains(false))
                virsh({"destroy", domain}, 15s);
        } catch (const std::exception&) {
        }
    }
    // Then by PID, whatever libvirt managed.
    auto pids = qemuPids();
    for (pid_t pid : pids)
        kill(pid, SIGKILL);
    it::waitFor([&pids] { return std::all_of(pids.begin(), pids.end(), [](pid_t p) { return processGone(p); }); }, 10s);
    m_process->stop(SIGTERM, std::chrono::seconds(10));
    m_process.reset();
}

// ---- hangard -----------------------------------------------------------------------------------------------------

HangardProcess::HangardProcess(const std::string& bus, const std::string& uri, const std::string& stateDir,
                               const std::string& configText, const std::string& logPath)
    : m_logPath(logPath)
{
    const std::string notifyPath = stateDir + ".notify";
    const std::string configPath = stateDir + ".conf";
    std::filesystem::create_directories(std::filesystem::path(stateDir).parent_path());
    writeText(configPath, configText);
    unlink(notifyPath.c_str());
    const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notifyPath.c_str(), sizeof addr.sun_path - 1);
    if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(sock);
        throw std::runtime_error("cannot bind " + notifyPath);
    }
    m_process = std::make_unique<it::Child>(
        std::vector<std::string>{it::hangardPath(), "--bus=" + bus, "--hypervisor=" + uri, "--state-dir=" + stateDir,
                                 "--config=" + configPath, "--authorizer=allow-all", "--log-level=debug"},
        std::map<std::string, std::string>{{"NOTIFY_SOCKET", notifyPath}}, logPath);
    bool ready = false;
    const auto deadline = Clock::now() + 60s;
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
    if (!ready) {
        const bool exited = !m_process->running();
        const int status = m_process->stop(SIGTERM, 5s);
        throw std::runtime_error("hangard " +
                                 (exited ? "exited with status " + std::to_string(status)
                                         : std::string("did not report READY=1 within 60 s")) +
                                 " (config:\n" + configText + "):\n" + tail(log()));
    }
}

HangardProcess::~HangardProcess() = default;

int HangardProcess::stop()
{
    return m_process->stop(SIGTERM, 10s);
}

// ---- D-Bus client ------------------------------------------------------------------------------------------------

std::string describe(const sdbus::Error& e)
{
    return e.getName() + ": " + e.getMessage();
}

BusClient::BusClient(const std::string& address)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(address)),
      m_manager(sdbus::createProxy(*m_connection, kBusName, kManagerPath))
{
    m_match =
        m_connection->addMatch("type='signal',sender='org.hangar.Hangar1',interface='org.freedesktop.DBus.Properties',"
                               "member='PropertiesChanged'",
                               [this](sdbus::Message& msg) {
                                   std::string iface;
                                   std::map<std::string, sdbus::Variant> changed;
                                   std::vector<std::string> invalidated;
                                   msg >> iface >> changed >> invalidated;
                                   if (iface != kVmIface)
                                       return;
                                   auto it = changed.find("State");
                                   if (it == changed.end())
                                       return;
                                   std::lock_guard lock(m_mutex);
                                   m_changes.push_back({msg.getPath(), it->second.get<std::string>(), Clock::now()});
                               });
    // Before any job exists: a job that ends at once cannot end unseen.
    m_completedMatch = m_connection->addMatch(
        "type='signal',sender='org.hangar.Hangar1',interface='org.hangar.Hangar1.Job',member='Completed'",
        [this](sdbus::Message& msg) {
            JobEnd end;
            msg >> end.success >> end.message;
            std::lock_guard lock(m_mutex);
            m_completed[msg.getPath()] = end;
        });
    m_connection->enterEventLoopAsync();
}

BusClient::~BusClient()
{
    m_connection->leaveEventLoop();
}

std::unique_ptr<sdbus::IProxy> BusClient::proxy(const std::string& path)
{
    return sdbus::createProxy(*m_connection, kBusName, path);
}

sdbus::ObjectPath BusClient::createVm(const std::string& name, const Dict& spec)
{
    sdbus::ObjectPath path;
    m_manager->callMethod("CreateVM")
        .onInterface(kManagerIface)
        .withTimeout(120s)
        .withArguments(name, spec)
        .storeResultsTo(path);
    return path;
}

void BusClient::vmCall(const std::string& path, const std::string& method, const Dict& options,
                       std::chrono::seconds timeout)
{
    proxy(path)->callMethod(method).onInterface(kVmIface).withTimeout(timeout).withArguments(options);
}

Dict BusClient::getStats(const std::string& path)
{
    Dict stats;
    proxy(path)->callMethod("GetStats").onInterface(kVmIface).withTimeout(30s).storeResultsTo(stats);
    return stats;
}

std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> BusClient::getAllStats()
{
    std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> all;
    m_manager->callMethod("GetAllStats").onInterface(kManagerIface).withTimeout(30s).storeResultsTo(all);
    return all;
}

int BusClient::openConsole(const std::string& path, const Dict& options)
{
    sdbus::UnixFd fd;
    proxy(path)
        ->callMethod("OpenConsole")
        .onInterface(kVmIface)
        .withTimeout(60s)
        .withArguments(options)
        .storeResultsTo(fd);
    return fd.release();
}

int BusClient::openGraphics(const std::string& path, const Dict& options)
{
    sdbus::UnixFd fd;
    proxy(path)
        ->callMethod("OpenGraphics")
        .onInterface(kVmIface)
        .withTimeout(60s)
        .withArguments(options)
        .storeResultsTo(fd);
    return fd.release();
}

sdbus::Variant BusClient::vmProperty(const std::string& path, const std::string& name)
{
    return proxy(path)->getProperty(name).onInterface(kVmIface);
}

std::string BusClient::state(const std::string& path)
{
    return vmProperty(path, "State").get<std::string>();
}

std::optional<std::string> BusClient::findVm(const std::string& name)
{
    try {
        sdbus::ObjectPath path;
        m_manager->callMethod("GetVM").onInterface(kManagerIface).withArguments(name).storeResultsTo(path);
        return std::string(path);
    } catch (const sdbus::Error& e) {
        if (e.getName() == "org.hangar.Hangar1.Error.NotFound")
            return std::nullopt;
        throw;
    }
}

sdbus::ObjectPath BusClient::importImage(const std::string& name, int fd, const Dict& options)
{
    sdbus::ObjectPath job;
    m_manager->callMethod("ImportImage")
        .onInterface(kManagerIface)
        .withTimeout(60s)
        .withArguments(name, sdbus::UnixFd(fd), options)
        .storeResultsTo(job);
    return job;
}

std::optional<std::string> BusClient::findImage(const std::string& name)
{
    try {
        sdbus::ObjectPath path;
        m_manager->callMethod("GetImage").onInterface(kManagerIface).withArguments(name).storeResultsTo(path);
        return std::string(path);
    } catch (const sdbus::Error& e) {
        if (e.getName() == "org.hangar.Hangar1.Error.NotFound")
            return std::nullopt;
        throw;
    }
}

sdbus::Variant BusClient::imageProperty(const std::string& path, const std::string& name)
{
    return proxy(path)->getProperty(name).onInterface(kImageIface);
}

void BusClient::cancelJob(const std::string& path)
{
    proxy(path)->callMethod("Cancel").onInterface(kJobIface).withTimeout(30s).withArguments(Dict{});
}

std::optional<JobEnd> BusClient::waitCompleted(const std::string& path, std::chrono::milliseconds deadline)
{
    std::optional<JobEnd> end;
    it::waitFor(
        [&] {
            std::lock_guard lock(m_mutex);
            if (auto it = m_completed.find(path); it != m_completed.end())
                end = it->second;
            return end.has_value();
        },
        deadline);
    return end;
}

std::size_t BusClient::mark() const
{
    std::lock_guard lock(m_mutex);
    return m_changes.size();
}

std::optional<Clock::time_point> BusClient::waitState(const std::string& path, const std::string& state,
                                                      std::size_t mark, std::chrono::milliseconds deadline)
{
    std::optional<Clock::time_point> at;
    it::waitFor(
        [&] {
            std::lock_guard lock(m_mutex);
            for (std::size_t i = mark; i < m_changes.size(); ++i)
                if (m_changes[i].path == path && m_changes[i].state == state) {
                    at = m_changes[i].at;
                    return true;
                }
            return false;
        },
        deadline);
    return at;
}

std::string BusClient::statesSince(const std::string& path, std::size_t mark) const
{
    std::lock_guard lock(m_mutex);
    std::string out;
    for (std::size_t i = mark; i < m_changes.size(); ++i)
        if (m_changes[i].path == path)
            out += (out.empty() ? "" : " -> ") + m_changes[i].state;
    return out.empty() ? "(none)" : out;
}

// ---- fds ---------------------------------------------------------------------------------------------------------

std::string readUntil(int fd, const std::string& needle, std::chrono::milliseconds deadline)
{
    std::string got;
    const auto end = Clock::now() + deadline;
    while (got.find(needle) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0)
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        got.append(buf.data(), static_cast<std::size_t>(n));
    }
    return got;
}

std::string readN(int fd, std::size_t count, std::chrono::milliseconds deadline)
{
    std::string got;
    const auto end = Clock::now() + deadline;
    while (got.size() < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0)
            continue;
        std::array<char, 256> buf{};
        const ssize_t n = read(fd, buf.data(), std::min(buf.size(), count - got.size()));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        got.append(buf.data(), static_cast<std::size_t>(n));
    }
    return got;
}

void writeAll(int fd, const std::string& data)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            poll(&p, 1, 1000);
            continue;
        }
        if (n <= 0)
            throw std::runtime_error(std::string("write: ") + std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
}

int openDomainPty(const Libvirtd& libvirtd, const std::string& domain)
{
    auto r = libvirtd.virsh({"ttyconsole", domain});
    const std::string pty = trim(r.out);
    if (r.exitCode != 0 || pty.rfind("/dev/", 0) != 0)
        return -1;
    const int fd = open(pty.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    termios t{};
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- the world ---------------------------------------------------------------------------------------------------

World::World()
{
    auto t = Clock::now();
    buildGuest(bootDir);
    guestBuildSeconds = secondsSince(t);
    const std::string libvirtDir = root.path() + "/libvirt";
    fs::create_directories(libvirtDir);
    libvirtd = std::make_unique<Libvirtd>(libvirtDir);
    const std::string busDir = root.path() + "/bus";
    fs::create_directories(busDir);
    bus = std::make_unique<it::PrivateBus>(busDir);
    // No [Storage] section: the pool is the default one at the default place, as on a fresh install.
    const std::string config = "# hangard.conf of Hangar's end-to-end suite\n"
                               "[Daemon]\n"
                               "stats_interval_sec = 1\n"
                               "[Guest]\n"
                               "boot_dir = " +
                               bootDir + "\n";
    hangard = std::make_unique<HangardProcess>(bus->address(), libvirtd->uri(), stateDir, config,
                                               root.path() + "/hangard.log");
    client = std::make_unique<BusClient>(bus->address());
}

World::~World()
{
    client.reset();
    if (hangard)
        hangard->stop();
    hangard.reset();
    if (libvirtd)
        libvirtd->stop();
    libvirtd.reset();
    bus.reset();
}

std::vector<std::string> World::hangarctlArgv(const std::vector<std::string>& args) const
{
    // No password agent, whatever stdin is: the daemon's authorizer allows everything anyway.
    std::vector<std::string> argv{it::hangarctlPath(), "--bus=" + bus->address(), "--no-ask-password"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

RunResult World::hangarctl(const std::vector<std::string>& args, std::chrono::seconds timeout) const
{
    return it::run(hangarctlArgv(args), {}, timeout);
}

std::string World::poolDir()
{
    if (!m_poolDir.empty())
        return m_poolDir;
    const auto r = libvirtd->virsh({"pool-dumpxml", kPoolName});
    const auto begin = r.out.find("<path>");
    const auto end = r.out.find("</path>");
    if (r.exitCode != 0 || begin == std::string::npos || end == std::string::npos)
        throw std::runtime_error(std::string("libvirt has no pool '") + kPoolName +
                                 "' (hangard defines it at start): " + r.err + r.out);
    m_poolDir = r.out.substr(begin + 6, end - begin - 6);
    return m_poolDir;
}

std::vector<std::string> World::poolFiles()
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(poolDir()))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

namespace {

std::unique_ptr<World> g_world;
std::string g_worldError;
bool g_worldTried = false;

} // namespace

World* world()
{
    if (!g_worldTried) {
        g_worldTried = true;
        try {
            g_world = std::make_unique<World>();
        } catch (const std::exception& e) {
            g_worldError = e.what();
        }
    }
    return g_world.get();
}

const std::string& worldError()
{
    return g_worldError;
}

World* builtWorld()
{
    return g_world.get();
}

void endWorld()
{
    g_world.reset();
}

// ---- the fixture -------------------------------------------------------------------------------------------------

void E2eFixture::SetUp()
{
    m_world = world();
    if (!m_world)
        FAIL() << "the end-to-end world could not be set up: " << worldError();
}

void E2eFixture::TearDown()
{
    // A test that failed half-way must not leave a guest running (or a disk in use) into the next one.
    for (const auto& path : m_ownVms) {
        try {
            m_world->client->vmCall(path, "Delete", Dict{{"force", sdbus::Variant(true)}}, 60s);
        } catch (const std::exception&) {
        }
    }
}

Dict E2eFixture::guestSpec(const std::string& extraCmdline)
{
    std::string cmdline = "console=ttyS0 quiet";
    if (!extraCmdline.empty())
        cmdline += " " + extraCmdline;
    return Dict{{"vcpus", sdbus::Variant(std::uint32_t{1})},
                {"memory_mib", sdbus::Variant(kGuestMemoryMiB)},
                {"disk_gib", sdbus::Variant(std::uint64_t{1})},
                {"description", sdbus::Variant(std::string("Hangar end-to-end test guest"))},
                {"kernel", sdbus::Variant(std::string("vmlinuz"))},
                {"initrd", sdbus::Variant(std::string("initrd.gz"))},
                {"cmdline", sdbus::Variant(cmdline)}};
}

std::string E2eFixture::domainOf(const std::string& path)
{
    return "hangar-" + client().vmProperty(path, "UUID").get<std::string>();
}

std::string E2eFixture::diagnostics(const std::string& domain)
{
    std::string out = "\n--- hangard log (tail) ---\n" + tail(m_world->hangard ? m_world->hangard->log() : "", 3000);
    if (!domain.empty())
        out += "\n--- QEMU log of " + domain + " (tail) ---\n" + tail(m_world->libvirtd->qemuLog(domain), 3000);
    return out;
}

std::string E2eFixture::createVm(const std::string& name, const Dict& spec)
{
    std::string path;
    try {
        path = client().createVm(name, spec);
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("CreateVM " + name + " failed: " + describe(e) + diagnostics());
    }
    m_ownVms.push_back(path);
    return path;
}

std::string E2eFixture::bootVm(const std::string& name, const Dict& spec, bool own)
{
    std::string path;
    try {
        path = client().createVm(name, spec);
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("CreateVM " + name + " with kernel boot failed: " + describe(e) + diagnostics());
    }
    if (own)
        m_ownVms.push_back(path);
    const auto mark = client().mark();
    try {
        client().vmCall(path, "Start");
    } catch (const sdbus::Error& e) {
        throw std::runtime_error("Start " + name + " failed: " + describe(e) + diagnostics(domainOf(path)));
    }
    if (!client().waitState(path, "running", mark, kBootDeadline) && client().state(path) != "running")
        throw std::runtime_error(name + " did not reach running within " + std::to_string(kBootDeadline.count()) +
                                 " s; states seen: " + client().statesSince(path, mark) + diagnostics(domainOf(path)));
    return path;
}

std::string E2eFixture::sharedVm()
{
    if (m_world->sharedVm)
        return *m_world->sharedVm;
    if (!m_world->sharedVmError.empty())
        throw std::runtime_error("the shared VM could not be booted earlier: " + m_world->sharedVmError);
    try {
        m_world->sharedVm = bootVm("e2e-shared", guestSpec(), false);
    } catch (const std::exception& e) {
        m_world->sharedVmError = e.what();
        throw;
    }
    return *m_world->sharedVm;
}

// Read from the domain's pty directly (not through Hangar), so the tests of stopping do not depend on OpenConsole:
// a guest that has shown its marker obeys the ACPI power button.
void E2eFixture::waitGuestUp(const std::string& path)
{
    const std::string domain = domainOf(path);
    const auto start = Clock::now();
    int fd = -1;
    it::waitFor([&] { return (fd = openDomainPty(libvirtd(), domain)) >= 0; }, 10s);
    if (fd < 0)
        throw std::runtime_error("virsh ttyconsole " + domain +
                                 " gave no pty: does the domain have a pty serial console? " +
                                 libvirtd().virsh({"dumpxml", domain}).out);
    const std::string seen = readUntil(fd, kGuestMarker, kMarkerDeadline);
    close(fd);
    if (seen.find(kGuestMarker) == std::string::npos)
        throw std::runtime_error("no " + std::string(kGuestMarker) + " on " + domain + "'s serial console within " +
                                 std::to_string(kMarkerDeadline.count()) + " s; got: " + seen + diagnostics(domain));
    std::cout << "[          ] " << domain << ": guest up " << secondsSince(start) << " s after its pty opened\n";
}

} // namespace hangar::e2e
