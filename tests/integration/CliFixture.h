// The fixture the hangarctl suites share (CliTest.cpp, CliEventsQuotaTest.cpp, CliAuthTest.cpp): CliTest, the real
// hangard on a private bus driven through the hangarctl binary, with a fake pkttyagent for the tests of the
// authentication agent; StreamingChild, a hangarctl read while it runs (optionally on a terminal of its own); and
// helpers that read its output as a person would (lines, the line with given words).
#pragma once

#include "DaemonFixture.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <regex>
#include <sdbus-c++/sdbus-c++.h>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace hangar::it {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

inline bool endsWith(const std::string& text, const std::string& end)
{
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The line of a table (or of any output) whose whitespace-separated words include all of words, or "".
inline std::string lineWithWords(const std::string& text, const std::vector<std::string>& words)
{
    for (const auto& line : lines(text)) {
        std::istringstream in(line);
        std::set<std::string> have;
        for (std::string word; in >> word;)
            have.insert(word);
        bool all = true;
        for (const auto& word : words)
            all = all && have.count(word) != 0;
        if (all)
            return line;
    }
    return {};
}

inline std::string ownUid()
{
    return std::to_string(geteuid());
}

// A child process whose stdout and stderr are read while it runs, e.g. `events --follow`, with stdin either
// /dev/null or a fresh terminal (a pty whose slave becomes its controlling terminal, as in an ssh session), which
// is what makes hangarctl start an authentication agent. Waiting is always on the pipes with a deadline; the child
// is killed by its PID when the object goes.
class StreamingChild
{
public:
    StreamingChild(std::vector<std::string> argv, const std::map<std::string, std::string>& env, bool terminal)
    {
        std::string terminalPath = "/dev/null";
        if (terminal) {
            m_terminal = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (m_terminal < 0 || grantpt(m_terminal) != 0 || unlockpt(m_terminal) != 0)
                throw std::runtime_error("cannot open a pseudo-terminal");
            std::array<char, 128> name{};
            if (ptsname_r(m_terminal, name.data(), name.size()) != 0)
                throw std::runtime_error("ptsname_r failed");
            terminalPath = name.data();
        }
        // Its own session and group: the terminal it opens as stdin becomes its controlling terminal.
        m_pid = support::spawn(
            {std::move(argv), env, -1, m_pipes.outWriteEnd(), m_pipes.errWriteEnd(), terminalPath, true});
        m_pipes.closeWriteEnds();
    }

    ~StreamingChild()
    {
        if (!m_status) {
            kill(-m_pid, SIGKILL);
            kill(m_pid, SIGKILL);
            support::reap(m_pid, true);
        }
        if (m_terminal >= 0)
            close(m_terminal);
    }
    StreamingChild(const StreamingChild&) = delete;
    StreamingChild& operator=(const StreamingChild&) = delete;

    pid_t pid() const { return m_pid; }
    const std::string& out() const { return m_pipes.out(); }
    const std::string& err() const { return m_pipes.err(); }

    // Reads until done(stdout so far) holds, or the deadline passes, or stdout ends.
    bool waitForOutput(const std::function<bool(const std::string&)>& done,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10))
    {
        const auto end = Clock::now() + deadline;
        while (!done(out())) {
            if (!m_pipes.outOpen() || !m_pipes.pump(end))
                return done(out());
        }
        return true;
    }

    // Reads both pipes to their end (the child exited), then reaps it. SIGKILL after the deadline.
    int waitExit(std::chrono::milliseconds deadline = std::chrono::seconds(30))
    {
        const auto end = Clock::now() + deadline;
        while (m_pipes.anyOpen() && m_pipes.pump(end)) {
        }
        if (m_pipes.anyOpen())
            kill(m_pid, SIGKILL);
        m_status = support::reap(m_pid, true);
        return *m_status;
    }

    // Sends sig by PID and waits for the exit; returns the exit status.
    int stop(int sig)
    {
        kill(m_pid, sig);
        return waitExit(std::chrono::seconds(10));
    }

private:
    support::OutputPipes m_pipes;
    pid_t m_pid = -1;
    int m_terminal = -1;
    std::optional<int> m_status;
};

class CliTest : public DaemonFixture
{
protected:
    void create(const std::string& name, std::vector<std::string> options = {})
    {
        options.insert(options.begin(), {"create", name});
        const RunResult r = ctl(options);
        ASSERT_EQ(r.exitCode, 0) << r.err;
    }

    std::string stateOf(const std::string& name) { return ctlJson({"status", name}).value("State", ""); }

    // A fake pkttyagent, first on the PATH given to hangarctl: it logs its arguments, takes a moment to "register",
    // closes --notify-fd, and when terminated logs that after another moment, so a hangarctl that did not wait for
    // it would exit before the line is written.
    std::string writeFakeAgent()
    {
        const std::string bin = dir.path() + "/bin";
        std::filesystem::create_directories(bin);
        std::ofstream(bin + "/pkttyagent") << R"(#!/bin/bash
exec >>"$FAKE_AGENT_LOG" 2>&1
echo "pid $$"
echo "args $*"
fd=
while [ $# -gt 0 ]; do
    if [ "$1" = --notify-fd ]; then fd=$2; shift; fi
    shift
done
trap 'sleep 0.2; echo terminated; kill $sleeper 2>/dev/null; exit 0' TERM
sleep 0.2
now=$(date +%s%6N)
eval "exec $fd>&-"
echo "registered $now"
sleep 1000 &
sleeper=$!
wait $sleeper
)";
        chmod((bin + "/pkttyagent").c_str(), 0755);
        return bin;
    }

    std::map<std::string, std::string> agentEnv(const std::string& bin) const
    {
        const char* path = std::getenv("PATH");
        // The private bus is the system bus pkttyagent would register on: hangarctl starts an agent only when
        // polkit is there (ownPolkitName).
        return {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")},
                {"FAKE_AGENT_LOG", agentLog()},
                {"DBUS_SYSTEM_BUS_ADDRESS", bus->address()}};
    }
    // A stand-in for polkitd on the private bus: something owns org.freedesktop.PolicyKit1 while the result lives.
    std::unique_ptr<sdbus::IConnection> ownPolkitName() const
    {
        auto connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
        connection->requestName("org.freedesktop.PolicyKit1");
        return connection;
    }
    std::string agentLog() const { return dir.path() + "/agent.log"; }
};

} // namespace hangar::it
