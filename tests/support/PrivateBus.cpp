#include "PrivateBus.h"

#include "TempDir.h"

#include <cstring>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace hangar::support {
namespace {

std::string sessionConfig(const std::string& socketPath, const std::string& extraConfig)
{
    return R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)" +
           socketPath + R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
)" + extraConfig +
           "</busconfig>\n";
}

// The socket file appears at bind(), before dbus-daemon listens: ready means a connect() succeeds.
bool acceptsConnections(const std::string& socketPath)
{
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socketPath.c_str(), sizeof addr.sun_path - 1);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

} // namespace

PrivateBus::PrivateBus(const std::string& dir, const std::string& extraConfig)
    : PrivateBus(dir, dir + "/bus", sessionConfig(dir + "/bus", extraConfig))
{}

PrivateBus::PrivateBus(const std::string& dir, const std::string& socketPath, const std::string& configText)
    : m_dir(dir)
{
    const std::string config = dir + "/bus.conf";
    writeText(config, configText);
    m_process = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile"},
        std::map<std::string, std::string>{}, dir + "/dbus-daemon.log");
    if (!waitFor([&] { return acceptsConnections(socketPath) || !m_process->running(); }) ||
        !acceptsConnections(socketPath))
        throw std::runtime_error("dbus-daemon does not accept connections on " + socketPath + ": " + log());
    // Open to clients of other users (whether the bus lets them in is its configuration's business).
    chmod(socketPath.c_str(), 0777);
    m_address = "unix:path=" + socketPath;
}

std::string PrivateBus::log() const
{
    return readFile(m_dir + "/dbus-daemon.log");
}

} // namespace hangar::support
