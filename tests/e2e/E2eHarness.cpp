#include "E2eHarness.h"

#include "support/NotifySocket.h"
#include "support/TempDir.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <poll.h>
#include <stdexcept>
#include <termios.h>
#include <unistd.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

// Reads fd while want(what was read so far) asks for more bytes (at most that many at a time), until EOF or the
// deadline; returns everything read.
std::string readWhile(int fd, std::chrono::milliseconds deadline,
                      const std::function<std::size_t(const std::string&)>& want)
{
    std::string got;
    const auto end = Clock::now() + deadline;
    for (std::size_t n = want(got); n > 0; n = want(got)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0)
            continue;
        std::string buf(n, '\0');
        const ssize_t r = read(fd, buf.data(), n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            break;
        got.append(buf.data(), static_cast<std::size_t>(r));
    }
    return got;
}

} // namespace

void buildGuest(const std::string& dir)
{
    auto r = it::run({HANGAR_E2E_DIR "/make-guest.sh", dir}, {}, 60s);
    if (r.exitCode != 0)
        throw std::runtime_error("make-guest.sh failed (exit " + std::to_string(r.exitCode) + "): " + r.out + r.err);
}

// ---- hangard -----------------------------------------------------------------------------------------------------

HangardProcess::HangardProcess(const std::string& bus, const std::string& uri, const std::string& stateDir,
                               const std::string& configText, const std::string& logPath,
                               const std::map<std::string, std::string>& env)
    : m_logPath(logPath)
{
    const std::string configPath = stateDir + ".conf";
    std::filesystem::create_directories(std::filesystem::path(stateDir).parent_path());
    support::writeText(configPath, configText);
    support::NotifySocket notify(stateDir + ".notify");
    std::map<std::string, std::string> environment = env;
    environment["NOTIFY_SOCKET"] = notify.path();
    m_process = std::make_unique<it::Child>(
        std::vector<std::string>{it::hangardPath(), "--bus=" + bus, "--hypervisor=" + uri, "--state-dir=" + stateDir,
                                 "--config=" + configPath, "--authorizer=allow-all", "--log-level=debug"},
        environment, logPath);
    const bool ready = notify.waitReady(60s, [this] { return m_process->running(); });
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

int HangardProcess::kill()
{
    return m_process->stop(SIGKILL, 10s);
}

// ---- fds ---------------------------------------------------------------------------------------------------------

std::string readUntil(int fd, const std::string& needle, std::chrono::milliseconds deadline)
{
    return readWhile(fd, deadline,
                     [&needle](const std::string& got) { return got.find(needle) == std::string::npos ? 4096 : 0; });
}

std::string readN(int fd, std::size_t count, std::chrono::milliseconds deadline)
{
    return readWhile(fd, deadline, [count](const std::string& got) {
        return got.size() < count ? std::min<std::size_t>(256, count - got.size()) : 0;
    });
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

std::string tail(const std::string& text, std::size_t maxChars)
{
    return text.size() <= maxChars ? text : "..." + text.substr(text.size() - maxChars);
}

} // namespace hangar::e2e
