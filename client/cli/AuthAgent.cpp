#include "AuthAgent.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace hangar::client {
namespace {

constexpr const char* kAgentName = "pkttyagent";
// What execvp would search without $PATH.
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// pkttyagent registers with polkitd over the system bus, which may have to start polkitd first. Should that hang,
// the call goes ahead without a registered agent (polkit then denies what needs a password) rather than hanging too.
constexpr std::chrono::seconds kRegisterTimeout{10};

// The first executable pkttyagent in an absolute $PATH entry. Relative entries (and the empty one, meaning the
// current directory) are skipped: the agent is handed the user's password.
std::string findAgent()
{
    const char* env = std::getenv("PATH");
    const std::string path = env && *env ? env : kDefaultPath;
    std::size_t begin = 0;
    while (begin <= path.size()) {
        std::size_t end = path.find(':', begin);
        if (end == std::string::npos)
            end = path.size();
        const std::string dir = path.substr(begin, end - begin);
        begin = end + 1;
        if (dir.empty() || dir.front() != '/')
            continue;
        std::string candidate = dir + "/" + kAgentName;
        if (access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

// Waits until the agent closes (or loses, by exiting) the write end of the pipe: then it is registered or gone.
void waitForRegistration(int readFd)
{
    const auto deadline = std::chrono::steady_clock::now() + kRegisterTimeout;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return;
        pollfd fd{readFd, POLLIN, 0};
        const int ready = poll(&fd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR)
            return;
        if (ready <= 0)
            continue;
        char byte = 0;
        // Nothing is ever written, so a read returns 0 (closed) at once; anything else, keep waiting for the close.
        if (read(readFd, &byte, 1) == 0 || (fd.revents & (POLLHUP | POLLERR)) != 0)
            return;
    }
}

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";

} // namespace

bool polkitOnSystemBus(sdbus::IConnection* systemBus)
{
    try {
        std::unique_ptr<sdbus::IConnection> own;
        if (systemBus == nullptr) {
            own = sdbus::createSystemBusConnection();
            systemBus = own.get();
        }
        auto bus = sdbus::createProxy(*systemBus, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        bool owned = false;
        bus->callMethod("NameHasOwner")
            .onInterface("org.freedesktop.DBus")
            .withArguments(kPolkitName)
            .storeResultsTo(owned);
        if (owned)
            return true;
        // Not running yet, but the bus starts it on the agent's first call.
        std::vector<std::string> activatable;
        bus->callMethod("ListActivatableNames").onInterface("org.freedesktop.DBus").storeResultsTo(activatable);
        return std::find(activatable.begin(), activatable.end(), kPolkitName) != activatable.end();
    } catch (const sdbus::Error&) {
        return false; // no system bus at all: no polkit either
    }
}

std::unique_ptr<AuthAgent> AuthAgent::start()
{
    const std::string path = findAgent();
    if (path.empty())
        return nullptr;
    int notify[2];
    if (pipe2(notify, O_CLOEXEC) != 0)
        return nullptr;

    // Everything the child needs is prepared before fork: between fork and exec it may only make async-signal-safe
    // calls (another thread may hold the allocator's lock).
    std::vector<std::string> args{path,         "--notify-fd", std::to_string(notify[1]),
                                  "--fallback", "--process",   std::to_string(getpid())};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();

    const pid_t pid = fork();
    if (pid < 0) {
        close(notify[0]);
        close(notify[1]);
        return nullptr;
    }
    if (pid == 0) {
        // If hangarctl dies without stopping the agent, the kernel does; and if it already died, give up.
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(EXIT_FAILURE);
        // The blocked SIGINT/SIGTERM of a command that waits (Waiter) would otherwise survive exec, and the agent
        // could not be stopped.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        // No descriptor of ours but stdio and the notify pipe reaches the agent.
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        fcntl(notify[1], F_SETFD, 0);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(notify[1]);
    waitForRegistration(notify[0]);
    close(notify[0]);
    return std::unique_ptr<AuthAgent>(new AuthAgent(pid));
}

AuthAgent::~AuthAgent()
{
    kill(m_pid, SIGTERM);
    kill(m_pid, SIGCONT);
    int status = 0;
    while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
}

} // namespace hangar::client
