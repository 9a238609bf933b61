#include "Process.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace hangar::support {
namespace {

// Children by PID, readable from a signal handler: a fixed array of atomics, no allocation.
constexpr std::size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

bool registerChild(pid_t pid)
{
    for (auto& slot : g_children) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid))
            return true;
    }
    return false;
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

int decodeStatus(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

pid_t spawn(const Spawn& what)
{
    // Everything the child needs is made before fork(): between fork and exec it only calls async-signal-safe code.
    std::vector<std::string> argv = what.argv;
    if (argv.empty())
        throw std::invalid_argument("spawn: empty argv");
    argv[0] = resolve(argv[0]);
    auto envStrings = mergedEnv(what.env);
    auto argvC = cstrings(argv);
    auto envC = cstrings(envStrings);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        if (what.session)
            setsid(); // its own session and group
        else
            setpgid(0, 0); // its own group, so a stray grandchild goes with it
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        const int in = !what.inPath.empty() ? open(what.inPath.c_str(), O_RDWR)
                       : what.in >= 0       ? what.in
                                            : open("/dev/null", O_RDONLY);
        dup2(in, STDIN_FILENO);
        if (what.out >= 0)
            dup2(what.out, STDOUT_FILENO);
        if (what.err >= 0)
            dup2(what.err, STDERR_FILENO);
        execve(argvC[0], argvC.data(), envC.data());
        _exit(127);
    }
    if (!registerChild(pid)) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        throw std::runtime_error("too many child processes");
    }
    return pid;
}

std::optional<int> reap(pid_t pid, bool wait)
{
    int status = 0;
    pid_t r = 0;
    do {
        r = waitpid(pid, &status, wait ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return std::nullopt;
    unregisterChild(pid);
    return r == pid ? decodeStatus(status) : -1;
}

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

// ---- Child -------------------------------------------------------------------------------------------------------

Child::Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& logPath)
{
    const int log = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0)
        throw std::runtime_error("cannot open " + logPath + ": " + std::strerror(errno));
    try {
        m_pid = spawn({argv, env, -1, log, log, {}, false});
    } catch (...) {
        close(log);
        throw;
    }
    close(log);
}

Child::~Child()
{
    stop(SIGTERM, std::chrono::seconds(5));
}

bool Child::running()
{
    if (m_status)
        return false;
    m_status = reap(m_pid, false);
    if (!m_status)
        return true;
    kill(-m_pid, SIGKILL); // anything it left in its group
    return false;
}

int Child::stop(int sig, std::chrono::milliseconds grace)
{
    if (!running())
        return *m_status;
    kill(m_pid, sig);
    if (!waitFor([this] { return !running(); }, grace)) {
        kill(-m_pid, SIGKILL);
        kill(m_pid, SIGKILL);
        m_status = reap(m_pid, true);
    }
    kill(-m_pid, SIGKILL);
    return *m_status;
}

// ---- Output ------------------------------------------------------------------------------------------------------

OutputPipes::OutputPipes()
{
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    m_read = {out[0], err[0]};
    m_write = {out[1], err[1]};
}

OutputPipes::~OutputPipes()
{
    closeWriteEnds();
    for (int fd : m_read)
        if (fd >= 0)
            close(fd);
}

void OutputPipes::closeWriteEnds()
{
    for (int& fd : m_write) {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
}

bool OutputPipes::pump(Clock::time_point end)
{
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0)
        return false;
    std::array<pollfd, 2> fds{{{m_read[0], POLLIN, 0}, {m_read[1], POLLIN, 0}}};
    if (poll(fds.data(), fds.size(), static_cast<int>(left)) <= 0)
        return true;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        std::array<char, 4096> buf{};
        const ssize_t n = read(fds[i].fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(m_read[i]);
            m_read[i] = -1;
        } else {
            (i == 0 ? m_out : m_err).append(buf.data(), static_cast<std::size_t>(n));
        }
    }
    return true;
}

RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::seconds timeout)
{
    OutputPipes pipes;
    const pid_t pid = spawn({argv, env, -1, pipes.outWriteEnd(), pipes.errWriteEnd(), {}, false});
    pipes.closeWriteEnds();
    const auto deadline = Clock::now() + timeout;
    while (pipes.anyOpen() && pipes.pump(deadline)) {
    }
    if (pipes.anyOpen())
        kill(-pid, SIGKILL);
    const int status = reap(pid, true).value_or(-1);
    return RunResult{status, pipes.out(), pipes.err()};
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

} // namespace hangar::support
