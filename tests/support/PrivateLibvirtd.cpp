#include "PrivateLibvirtd.h"

#include "TempDir.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <iterator>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace hangar::support {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string tail(const std::string& text, std::size_t maxChars = 4000)
{
    return text.size() <= maxChars ? text : "..." + text.substr(text.size() - maxChars);
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (!line.empty())
            out.push_back(line);
    }
    return out;
}

// The QEMU driver looks the user up before it reads qemu.conf (which then says root): Debian's
// libvirt-daemon-system creates it; a machine with only the daemon and driver packages lacks it.
void ensureLibvirtQemuUser()
{
    if (getgrnam("libvirt-qemu") && getpwnam("libvirt-qemu"))
        return;
    if (!getgrnam("libvirt-qemu")) {
        auto r = run({"groupadd", "--system", "libvirt-qemu"});
        if (r.exitCode != 0)
            throw std::runtime_error("groupadd libvirt-qemu: " + r.err);
    }
    if (!getpwnam("libvirt-qemu")) {
        auto r = run({"useradd", "--system", "--gid", "libvirt-qemu", "--no-create-home", "--home-dir",
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

bool libvirtHermetic()
{
    return access("/etc/hangar-e2e-hermetic", F_OK) == 0;
}

PrivateLibvirtd::PrivateLibvirtd(const std::string& dir)
    : m_dir(dir), m_uri("qemu:///system?socket=" + dir + "/libvirt-sock")
{
    if (geteuid() != 0)
        throw std::runtime_error("libvirtd's QEMU driver as qemu:///system needs root");
    if (!libvirtHermetic())
        throw std::runtime_error("refusing to start a libvirtd outside tests/e2e/run-hermetic.sh: it would use the "
                                 "host's /etc/libvirt, /run/libvirt and /var/lib/libvirt");
    ensureLibvirtQemuUser();
    // QEMU runs as root with no confinement; its stdout/stderr go to /var/log/libvirt/qemu/NAME.log directly
    // (no virtlogd); no cgroups (none to be had without systemd, and none of the host's to touch); no private /dev
    // per domain (mount namespaces inside this sandbox gain nothing).
    writeText("/etc/libvirt/qemu.conf", R"(# Written by Hangar's test support (tests/support/PrivateLibvirtd.cpp)
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
    writeText(conf, "# Written by Hangar's test support (tests/support/PrivateLibvirtd.cpp)\n"
                    "unix_sock_dir = \"" +
                        dir +
                        "\"\n"
                        "unix_sock_rw_perms = \"0700\"\n"
                        "auth_unix_rw = \"none\"\n"
                        "auth_unix_ro = \"none\"\n"
                        "log_outputs = \"3:file:" +
                        dir + "/libvirtd.log\"\n");
    launch();
}

void PrivateLibvirtd::launch()
{
    const std::string conf = m_dir + "/libvirtd.conf";
    const auto start = Clock::now();
    m_process = std::make_unique<Child>(
        std::vector<std::string>{"/usr/sbin/libvirtd", "-f", conf, "-p", m_dir + "/libvirtd.pid"},
        std::map<std::string, std::string>{}, m_dir + "/libvirtd.out");
    // The first start probes QEMU's capabilities (~10 s; cached in /var/cache/libvirt afterwards).
    bool up = false;
    const auto deadline = start + 90s;
    while (!up && Clock::now() < deadline && m_process->running()) {
        up = virsh({"version"}, 10s).exitCode == 0;
        if (!up)
            std::this_thread::sleep_for(100ms);
    }
    m_startup = Clock::now() - start;
    if (!up) {
        const std::string why = m_process->running() ? "did not answer within 90 s" : "exited";
        stop();
        throw std::runtime_error("libvirtd " + why + ": " + tail(readFile(m_dir + "/libvirtd.out")) + tail(log()));
    }
}

void PrivateLibvirtd::killDaemon()
{
    if (!m_process)
        return;
    m_process->stop(SIGKILL, 10s);
    m_process.reset();
}

void PrivateLibvirtd::restart()
{
    if (m_process)
        throw std::logic_error("PrivateLibvirtd::restart: libvirtd is still running");
    launch();
}

PrivateLibvirtd::~PrivateLibvirtd()
{
    stop();
}

RunResult PrivateLibvirtd::virsh(const std::vector<std::string>& args, std::chrono::seconds timeout) const
{
    std::vector<std::string> argv{"/usr/bin/virsh", "-q", "-c", m_uri};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {}, timeout);
}

std::vector<std::string> PrivateLibvirtd::domains(bool all) const
{
    std::vector<std::string> args{"list", "--name"};
    if (all)
        args.push_back("--all");
    auto r = virsh(args);
    if (r.exitCode != 0)
        throw std::runtime_error("virsh list failed: " + r.err);
    return lines(r.out);
}

std::string PrivateLibvirtd::qemuLog(const std::string& domain) const
{
    return readFile("/var/log/libvirt/qemu/" + domain + ".log");
}

std::string PrivateLibvirtd::log() const
{
    return readFile(m_dir + "/libvirtd.log");
}

std::vector<pid_t> PrivateLibvirtd::qemuPids() const
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
    if (libvirtHermetic()) {
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

void PrivateLibvirtd::stop()
{
    if (m_process && m_process->running()) {
        // The polite way first (also lets libvirt clean its state), bounded.
        try {
            for (const auto& domain : domains(false))
                virsh({"destroy", domain}, 15s);
        } catch (const std::exception&) {
        }
    }
    // Then by PID, whatever libvirt managed; also the QEMUs that outlived a libvirtd killed by killDaemon().
    auto pids = qemuPids();
    for (pid_t pid : pids)
        kill(pid, SIGKILL);
    waitFor([&pids] { return std::all_of(pids.begin(), pids.end(), [](pid_t p) { return processGone(p); }); }, 10s);
    if (m_process) {
        m_process->stop(SIGTERM, std::chrono::seconds(10));
        m_process.reset();
    }
}

} // namespace hangar::support
