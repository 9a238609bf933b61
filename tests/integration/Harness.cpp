#include "Harness.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace hangar::it {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> mergedEnv(const std::map<std::string, std::string>& extra)
{
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos)
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : extra)
        env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> cstrings(std::vector<std::string>& v)
{
    std::vector<char*> out;
    for (auto& s : v)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// fork + exec with stdout/stderr redirected to the given fds (or -1 to keep).
pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env, int outFd, int errFd)
{
    auto envStrings = mergedEnv(env);
    auto argvC = cstrings(argv);
    auto envC = cstrings(envStrings);
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        setpgid(0, 0); // its own group, so a stray grandchild is killed with it
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, STDIN_FILENO);
        if (outFd >= 0)
            dup2(outFd, STDOUT_FILENO);
        if (errFd >= 0)
            dup2(errFd, STDERR_FILENO);
        execve(argvC[0], argvC.data(), envC.data());
        _exit(127);
    }
    return pid;
}

int decodeStatus(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

std::string resolve(const std::string& exe)
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

} // namespace

RunResult run(const std::vector<std::string>& argvIn, const std::map<std::string, std::string>& env,
              std::chrono::seconds timeout)
{
    std::vector<std::string> argv = argvIn;
    argv[0] = resolve(argv[0]);
    int outPipe[2];
    int errPipe[2];
    if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    const pid_t pid = spawn(argv, env, outPipe[1], errPipe[1]);
    close(outPipe[1]);
    close(errPipe[1]);
    RunResult r;
    const auto deadline = Clock::now() + timeout;
    std::array<pollfd, 2> fds{{{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}}};
    int open = 2;
    while (open > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(fds.data(), fds.size(), static_cast<int>(left)) <= 0)
            continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            std::array<char, 4096> buf{};
            const ssize_t n = read(fds[i].fd, buf.data(), buf.size());
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            } else {
                (i == 0 ? r.out : r.err).append(buf.data(), static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0)
            close(f.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exitCode = decodeStatus(status);
    return r;
}

bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline)
{
    const auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

TempDir::TempDir()
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "hangar-it-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
    chmod(m_path.c_str(), 0755);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

Child::Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& logPath)
{
    const int log = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    m_pid = spawn(argv, env, log, log);
    close(log);
}

Child::~Child()
{
    if (!m_status)
        stop(SIGTERM, std::chrono::seconds(5));
}

bool Child::running()
{
    if (m_status)
        return false;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_status = decodeStatus(status);
        return false;
    }
    return true;
}

int Child::stop(int sig, std::chrono::seconds grace)
{
    if (m_status)
        return *m_status;
    kill(m_pid, sig);
    if (!waitFor([this] { return !running(); }, grace)) {
        kill(-m_pid, SIGKILL);
        kill(m_pid, SIGKILL);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_status = decodeStatus(status);
    }
    kill(-m_pid, SIGKILL); // anything the child left in its group
    return *m_status;
}

PrivateBus::PrivateBus(const std::string& dir)
{
    const std::string socket = dir + "/bus";
    const std::string config = dir + "/bus.conf";
    std::ofstream(config) << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)" << socket
                          << R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
)";
    m_process = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile"},
        std::map<std::string, std::string>{}, dir + "/dbus-daemon.log");
    // The socket file appears at bind(), before dbus-daemon listens: ready means a connect() succeeds.
    auto accepting = [&socket] {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        return ok;
    };
    if (!waitFor(accepting))
        throw std::runtime_error("dbus-daemon did not create " + socket + ": " + readFile(dir + "/dbus-daemon.log"));
    chmod(socket.c_str(), 0777);
    m_address = "unix:path=" + socket;
}

Hangard::Hangard(const std::string& busAddress, const std::string& stateDir, const std::string& logPath,
                 const std::vector<std::string>& extraArgs, const std::string& configText)
{
    // hangard says READY=1 over $NOTIFY_SOCKET once it serves: the harness waits for exactly that.
    const std::string notifyPath = stateDir + ".notify";
    std::filesystem::create_directories(std::filesystem::path(stateDir).parent_path());
    unlink(notifyPath.c_str());
    const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notifyPath.c_str(), sizeof addr.sun_path - 1);
    if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind " + notifyPath);

    if (!configText.empty())
        std::ofstream(stateDir + ".conf") << configText;
    std::vector<std::string> argv{hangardPath(),
                                  "--bus=" + busAddress,
                                  "--hypervisor=test:///default",
                                  "--state-dir=" + stateDir,
                                  "--config=" + stateDir + (configText.empty() ? ".no-such-config" : ".conf"),
                                  "--authorizer=allow-all"};
    argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
    m_process =
        std::make_unique<Child>(argv, std::map<std::string, std::string>{{"NOTIFY_SOCKET", notifyPath}}, logPath);
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
        throw std::runtime_error("hangard did not report READY=1: " + readFile(logPath));
}

Hangard::~Hangard() = default;

int Hangard::stop()
{
    return m_process->stop(SIGTERM);
}

std::string hangardPath()
{
    return HANGARD_PATH;
}
std::string hangarctlPath()
{
    return HANGARCTL_PATH;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace hangar::it
