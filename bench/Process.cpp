#include "Process.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace hangar::bench {
namespace {

// Children by PID, readable from a signal handler: a fixed array of atomics, no allocation.
constexpr std::size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

void registerChild(pid_t pid)
{
    for (auto& slot : g_children) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid))
            return;
    }
    throw std::runtime_error("too many child processes");
}

void unregisterChild(pid_t pid)
{
    for (auto& slot : g_children) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0))
            return;
    }
}

extern "C" void killChildrenAndExit(int sig)
{
    for (auto& slot : g_children) {
        const pid_t pid = slot.load();
        if (pid > 0) {
            kill(pid, SIGKILL);
            kill(-pid, SIGKILL);
        }
    }
    _exit(128 + sig);
}

std::vector<std::string> mergedEnv(const std::map<std::string, std::string>& extra)
{
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string kv(*e);
        const auto eq = kv.find('=');
        if (eq != std::string::npos)
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : extra)
        env[k] = v;
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> cstrings(std::vector<std::string>& v)
{
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (auto& s : v)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int decodeStatus(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

void installChildReaper()
{
    struct sigaction sa
    {
    };
    sa.sa_handler = killChildrenAndExit;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

TempDir::TempDir(const std::string& prefix)
{
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (!mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    m_path = tmpl;
    chmod(m_path.c_str(), 0755);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

Child::Child(const std::vector<std::string>& argvIn, const std::map<std::string, std::string>& env,
             const std::string& logPath)
{
    std::vector<std::string> argv = argvIn;
    auto envStrings = mergedEnv(env);
    auto argvC = cstrings(argv);
    auto envC = cstrings(envStrings);
    int outFd = -1;
    int pipeFds[2] = {-1, -1};
    if (logPath.empty()) {
        if (pipe2(pipeFds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2 failed");
        outFd = pipeFds[1];
    } else {
        outFd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (outFd < 0)
            throw std::runtime_error("cannot open " + logPath);
    }
    const pid_t parent = getpid();
    m_pid = fork();
    if (m_pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (m_pid == 0) {
        setpgid(0, 0); // its own group, so a stray grandchild goes with it
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        const int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, STDIN_FILENO);
        dup2(outFd, STDOUT_FILENO);
        dup2(outFd, STDERR_FILENO);
        execve(argvC[0], argvC.data(), envC.data());
        _exit(127);
    }
    registerChild(m_pid);
    close(outFd);
    if (logPath.empty())
        m_out = pipeFds[0];
}

Child::~Child()
{
    stop(SIGTERM, std::chrono::seconds(5));
    if (m_out >= 0)
        close(m_out);
}

bool Child::running()
{
    if (m_status)
        return false;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_status = decodeStatus(status);
        unregisterChild(m_pid);
        kill(-m_pid, SIGKILL); // anything it left in its group
        return false;
    }
    return true;
}

int Child::stop(int sig, std::chrono::milliseconds grace)
{
    if (!running())
        return *m_status;
    kill(m_pid, sig);
    if (!waitFor([this] { return !running(); }, grace)) {
        kill(-m_pid, SIGKILL);
        kill(m_pid, SIGKILL);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_status = decodeStatus(status);
        unregisterChild(m_pid);
    }
    kill(-m_pid, SIGKILL);
    return *m_status;
}

std::string Child::readAll(std::chrono::milliseconds deadline)
{
    std::string out;
    const auto end = Clock::now() + deadline;
    while (m_out >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd p{m_out, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0)
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = read(m_out, buf.data(), buf.size());
        if (n <= 0) {
            close(m_out);
            m_out = -1;
        } else {
            out.append(buf.data(), static_cast<std::size_t>(n));
        }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (!waitFor([this] { return !running(); }, std::max(left, std::chrono::milliseconds(100))))
        stop(SIGKILL, std::chrono::seconds(1));
    return out;
}

NotifySocket::NotifySocket(const std::string& path) : m_path(path)
{
    unlink(m_path.c_str());
    m_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, m_path.c_str(), sizeof addr.sun_path - 1);
    if (m_fd < 0 || bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind " + m_path);
}

NotifySocket::~NotifySocket()
{
    close(m_fd);
    unlink(m_path.c_str());
}

bool NotifySocket::waitReady(std::chrono::milliseconds deadline, const std::function<bool()>& alive)
{
    const auto end = Clock::now() + deadline;
    while (Clock::now() < end && alive()) {
        pollfd p{m_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = recv(m_fd, buf.data(), buf.size() - 1, 0);
        if (n > 0 && std::string(buf.data(), static_cast<std::size_t>(n)).find("READY=1") != std::string::npos)
            return true;
    }
    return false;
}

PrivateBus::PrivateBus(const std::string& dir)
{
    const std::string socket = dir + "/bus";
    const std::string config = dir + "/bus.conf";
    // Open to every local user (the polkit scenario's client is not root). The limits are the stock session bus's,
    // so a pipelining client is not cut off at dbus-daemon's built-in default of 128 pending replies.
    std::ofstream(config) << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)" << socket
                          << R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_incoming_unix_fds">250000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_outgoing_unix_fds">250000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_message_unix_fds">4096</limit>
  <limit name="service_start_timeout">120000</limit>
  <limit name="auth_timeout">240000</limit>
  <limit name="pending_fd_timeout">150000</limit>
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_incomplete_connections">10000</limit>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="max_pending_service_starts">10000</limit>
  <limit name="max_names_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
)";
    m_process = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile"},
        std::map<std::string, std::string>{}, dir + "/dbus-daemon.log");
    // The socket file appears at bind(), before dbus-daemon listens: ready is when a connect() succeeds.
    const auto accepts = [&] {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        return ok;
    };
    if (!waitFor(accepts, std::chrono::seconds(10)))
        throw std::runtime_error("dbus-daemon did not listen on " + socket + ": " + readFile(dir + "/dbus-daemon.log"));
    chmod(socket.c_str(), 0777);
    m_address = "unix:path=" + socket;
}

std::optional<std::chrono::milliseconds> cpuTime(pid_t pid)
{
    // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses (which may hold spaces).
    const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    long utime = 0;
    long stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14)
            utime = std::stol(field);
        else if (i == 15)
            stime = std::stol(field);
    }
    const long hz = sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds((utime + stime) * 1000 / hz);
}

Clock::duration waitIdle(pid_t pid, std::chrono::milliseconds deadline)
{
    constexpr auto kWindow = std::chrono::milliseconds(250);
    const auto started = Clock::now();
    auto before = cpuTime(pid);
    while (before && Clock::now() - started < deadline) {
        std::this_thread::sleep_for(kWindow);
        const auto after = cpuTime(pid);
        if (!after || (*after - *before) * 20 < kWindow)
            break;
        before = after;
    }
    return Clock::now() - started;
}

std::optional<long> rssKiB(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return std::nullopt;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string tail(const std::string& text, std::size_t lines)
{
    std::size_t pos = text.size();
    std::size_t seen = 0;
    while (pos > 0) {
        --pos;
        if (text[pos] == '\n' && pos + 1 < text.size() && ++seen > lines)
            return text.substr(pos + 1);
    }
    return text;
}

bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline)
{
    const auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return cond();
}

} // namespace hangar::bench
