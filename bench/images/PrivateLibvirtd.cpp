#include "PrivateLibvirtd.h"

#include "LibvirtPool.h"

#include <csignal>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace hangar::bench::images {
namespace {

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream out(path);
    out << text;
    if (!out.flush())
        throw std::runtime_error("cannot write " + path);
}

void runTool(const std::vector<std::string>& argv)
{
    Child tool(argv, {}, "");
    const std::string out = tool.readAll(std::chrono::seconds(30));
    if (tool.exitStatus().value_or(-1) != 0)
        throw std::runtime_error(argv[0] + " failed: " + out);
}

// The QEMU driver looks its user up before it reads qemu.conf (which then says root). Only in the hermetic /etc.
void ensureLibvirtQemuUser()
{
    if (!getgrnam("libvirt-qemu"))
        runTool({"/usr/sbin/groupadd", "--system", "libvirt-qemu"});
    if (!getpwnam("libvirt-qemu"))
        runTool({"/usr/sbin/useradd", "--system", "--gid", "libvirt-qemu", "--no-create-home", "--home-dir",
                 "/var/lib/libvirt", "--shell", "/usr/sbin/nologin", "libvirt-qemu"});
}

} // namespace

bool hermetic()
{
    return access("/etc/hangar-e2e-hermetic", F_OK) == 0;
}

PrivateLibvirtd::PrivateLibvirtd(const std::string& dir)
    : m_dir(dir), m_uri("qemu:///system?socket=" + dir + "/libvirt-sock")
{
    if (geteuid() != 0)
        throw std::runtime_error("libvirtd's QEMU driver as qemu:///system needs root");
    if (!hermetic())
        throw std::runtime_error(
            "refusing to start a libvirtd outside tests/e2e/run-hermetic.sh: it would use the "
            "host's /etc/libvirt, /run/libvirt and /var/lib/libvirt (run scripts/bench-images.sh)");
    ensureLibvirtQemuUser();
    // As the end-to-end suite's: no guest is started here, but CreateVM defines QEMU domains.
    writeText("/etc/libvirt/qemu.conf", "# Written by hangar-bench-images (bench/images/PrivateLibvirtd.cpp)\n"
                                        "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\n"
                                        "remember_owner = 0\nsecurity_driver = \"none\"\nstdio_handler = \"file\"\n"
                                        "cgroup_controllers = [ ]\nnamespaces = [ ]\n");
    const std::string conf = dir + "/libvirtd.conf";
    writeText(conf, "unix_sock_dir = \"" + dir +
                        "\"\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n"
                        "log_outputs = \"3:file:" +
                        dir + "/libvirtd.log\"\n");
    const auto started = Clock::now();
    m_process =
        std::make_unique<Child>(std::vector<std::string>{"/usr/sbin/libvirtd", "-f", conf, "-p", dir + "/libvirtd.pid"},
                                std::map<std::string, std::string>{}, dir + "/libvirtd.out");
    const auto answers = [this] {
        const ConnectionPtr conn(virConnectOpen(m_uri.c_str()));
        return conn != nullptr;
    };
    bool up = false;
    const auto deadline = started + std::chrono::seconds(90);
    while (!up && Clock::now() < deadline && m_process->running()) {
        up = answers();
        if (!up)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    m_startup = Clock::now() - started;
    if (!up) {
        const std::string why = m_process->running() ? "did not answer within 90 s" : "exited";
        m_process->stop(SIGTERM, std::chrono::seconds(10));
        throw std::runtime_error("libvirtd " + why + ": " + tail(readFile(dir + "/libvirtd.out"), 20) +
                                 tail(log(), 20));
    }
}

PrivateLibvirtd::~PrivateLibvirtd()
{
    m_process->stop(SIGTERM, std::chrono::seconds(10));
}

std::string PrivateLibvirtd::log() const
{
    return readFile(m_dir + "/libvirtd.log");
}

} // namespace hangar::bench::images
