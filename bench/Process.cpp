#include "Process.h"

#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace hangar::bench {

// Open to every local user (the polkit scenario's client is not root). The limits are the stock session bus's, so a
// pipelining client is not cut off at dbus-daemon's built-in default of 128 pending replies.
PrivateBus::PrivateBus(const std::string& dir)
    : support::PrivateBus(dir, R"(  <policy context="default">
    <allow user="*"/>
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
)")
{}

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

} // namespace hangar::bench
