#include "service/AlertCommandRunner.h"

#include "core/AlertHook.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hangar::service {
namespace {

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// Starts argv with env; -1 (and the reason logged) when it cannot.
pid_t spawn(std::vector<std::string> argv, std::vector<std::string> env)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The loop blocks SIGTERM/SIGHUP/SIGINT and libvirt ignores SIGPIPE: the command gets neither habit. Its own
    // session keeps it out of hangard's process group.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int signo : {SIGPIPE, SIGTERM, SIGHUP, SIGINT, SIGCHLD})
        sigaddset(&defaults, signo);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    auto args = pointers(argv);
    auto envp = pointers(env);
    pid_t pid = -1;
    const int r = posix_spawn(&pid, argv.front().c_str(), &actions, &attr, args.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (r != 0) {
        spdlog::error("alert_command: cannot run {}: {}", argv.front(), std::strerror(r));
        return -1;
    }
    return pid;
}

std::string describeStatus(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "ended";
}

} // namespace

AlertCommandRunner::~AlertCommandRunner()
{
    for (auto& run : m_runs) {
        if (!run->done)
            syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, nullptr, 0);
        run->waiter.join();
        close(run->pidfd);
    }
}

void AlertCommandRunner::setSettings(const AlertSettings& settings)
{
    m_argv = settings.command;
    m_timeoutSec = settings.commandTimeoutSec;
}

void AlertCommandRunner::reapFinished()
{
    std::erase_if(m_runs, [](const std::unique_ptr<Run>& run) {
        if (!run->done)
            return false;
        run->waiter.join();
        close(run->pidfd);
        return true;
    });
}

void AlertCommandRunner::alertChanged(const AlertChange& change)
{
    reapFinished();
    if (m_argv.empty())
        return;
    const pid_t pid = spawn(m_argv, alertEnvironment(change));
    if (pid < 0)
        return;
    auto run = std::make_unique<Run>();
    run->pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    const std::string what = fmt::format("alert_command {} for {} ({})", m_argv.front(), change.alert.id,
                                         change.raised ? "raised" : "cleared");
    if (run->pidfd < 0) { // no pidfd (a kernel before 5.3): wait without a bound rather than leave a zombie
        spdlog::warn("{}: cannot watch process {} ({}); it runs without a time limit", what, pid, std::strerror(errno));
    }
    run->waiter = std::thread([pid, pidfd = run->pidfd, timeoutSec = m_timeoutSec, what, done = &run->done] {
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            int r = 0;
            do
                r = poll(&p, 1, static_cast<int>(timeoutSec) * 1000);
            while (r < 0 && errno == EINTR);
            if (r == 0) {
                spdlog::warn("{} still runs after {} s: killing it", what, timeoutSec);
                syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
            }
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            spdlog::info("{} {}", what, describeStatus(status));
        else
            spdlog::warn("{} {}", what, describeStatus(status));
        *done = true;
    });
    m_runs.push_back(std::move(run));
}

} // namespace hangar::service
