// hangarctl as a user sees it: the real hangard on a private bus, driven through the hangarctl binary. The tests
// assert what a person or a script sees: the lines printed, the JSON (parsed, not grepped), and the exit codes of
// docs/hangarctl.md. CliPolkitTest runs hangard with --authorizer=polkit against a fake polkit authority on the same
// bus, to see denials and whether hangarctl lets polkit ask for a password.
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
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

bool endsWith(const std::string& text, const std::string& end)
{
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The line of a table (or of any output) whose whitespace-separated words include all of words, or "".
std::string lineWithWords(const std::string& text, const std::vector<std::string>& words)
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

std::string ownUid()
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
        return {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}, {"FAKE_AGENT_LOG", agentLog()}};
    }
    std::string agentLog() const { return dir.path() + "/agent.log"; }
};

TEST_F(CliTest, Hangarctl_LifecycleRoundTripPrintsEachStep)
{
    auto r = ctl({"create", "web", "--cpus", "2", "--memory", "2G", "--disk", "20G", "--description", "Web server"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Created VM 'web' (")) << r.out;

    r = ctl({"list"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(lines(r.out).at(0).substr(0, 4), "NAME") << r.out;
    EXPECT_FALSE(lineWithWords(r.out, {"web", "stopped"}).empty()) << r.out;

    r = ctl({"status", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    for (const auto& words : std::vector<std::vector<std::string>>{{"Name:", "web"},
                                                                   {"State:", "stopped"},
                                                                   {"VCPUs:", "2"},
                                                                   {"Memory:", "2.0", "GiB"},
                                                                   {"Disk:", "20.0", "GiB"},
                                                                   {"Description:", "Web", "server"}})
        EXPECT_FALSE(lineWithWords(r.out, words).empty()) << words.front() << " missing in\n" << r.out;

    const std::vector<std::pair<std::vector<std::string>, std::string>> steps{
        {{"start", "web"}, "Started VM 'web'."},          {{"pause", "web"}, "Paused VM 'web'."},
        {{"resume", "web"}, "Resumed VM 'web'."},         {{"restart", "web"}, "Rebooting VM 'web'."},
        {{"stop", "--wait", "web"}, "Stopped VM 'web'."}, {{"rename", "web", "www"}, "Renamed VM 'web' to 'www'."},
        {{"delete", "www"}, "Deleted VM 'www'."}};
    const std::vector<std::string> statesAfter{"running", "paused", "running", "running", "stopped", "stopped", ""};
    for (std::size_t i = 0; i < steps.size(); ++i) {
        r = ctl(steps[i].first);
        ASSERT_EQ(r.exitCode, 0) << steps[i].first.front() << ": " << r.err;
        EXPECT_EQ(r.out, steps[i].second + "\n");
        EXPECT_EQ(r.err, "");
        const std::string name = i < 5 ? "web" : "www";
        if (!statesAfter[i].empty()) {
            EXPECT_EQ(stateOf(name), statesAfter[i]) << "after " << steps[i].first.front();
        }
    }

    r = ctl({"list"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "No VMs of yours (--all shows everyone's).\n");
    EXPECT_EQ(ctl({"status", "www"}).exitCode, 4);
}

TEST_F(CliTest, Hangarctl_JsonOfListStatusAndEventsParsesWithTheApiNames)
{
    const Json created = ctlJson({"create", "db", "--cpus", "2", "--memory", "1.5G", "--disk", "1T"});
    EXPECT_EQ(created.value("Name", ""), "db");
    EXPECT_EQ(created.value("State", ""), "stopped");
    create("web");

    const Json list = ctlJson({"list"});
    ASSERT_TRUE(list.is_array()) << list;
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]["Name"], "db"); // sorted by name
    EXPECT_EQ(list[1]["Name"], "web");
    EXPECT_EQ(list[0]["UUID"], created["UUID"]);
    EXPECT_EQ(list[0]["Owner"], geteuid());
    EXPECT_EQ(list[0]["State"], "stopped");
    EXPECT_TRUE(list[0]["ObjectPath"].get<std::string>().rfind("/org/hangar/Hangar1/vm/", 0) == 0) << list[0];

    const Json status = ctlJson({"status", "db"});
    EXPECT_EQ(status["VCPUs"], 2);
    EXPECT_EQ(status["MemoryMiB"], 1536);
    EXPECT_EQ(status["DiskGiB"], 1024);
    EXPECT_EQ(status["Owner"], geteuid());
    EXPECT_TRUE(status["CreatedAt"].is_number_unsigned()) << status;
    EXPECT_EQ(status["ObjectPath"], list[0]["ObjectPath"]);

    ASSERT_EQ(ctl({"start", "db"}).exitCode, 0);
    const Json events = ctlJson({"events", "--vm", "db"});
    ASSERT_TRUE(events.is_array()) << events;
    ASSERT_EQ(events.size(), 2u) << events.dump(2);
    EXPECT_EQ(events[0]["action"], "create");
    EXPECT_EQ(events[1]["action"], "start");
    for (const auto& event : events) {
        EXPECT_EQ(event["outcome"], "ok");
        EXPECT_EQ(event["vm_name"], "db");
        EXPECT_EQ(event["vm_uuid"], created["UUID"]);
        EXPECT_EQ(event["uid"], geteuid());
        EXPECT_TRUE(event["id"].is_number_unsigned() && event["time_usec"].is_number_unsigned()) << event;
        EXPECT_TRUE(event["time"].is_string()) << event;
    }
    EXPECT_LT(events[0]["id"].get<std::uint64_t>(), events[1]["id"].get<std::uint64_t>());

    // The per-name commands report one object per name, failures included.
    RunResult r = ctl({"--json", "start", "db", "nope"});
    EXPECT_EQ(r.exitCode, 1) << "Busy and NotFound differ, so the generic code";
    const Json report = Json::parse(r.out);
    ASSERT_EQ(report.size(), 2u) << report;
    EXPECT_EQ(report[0]["ok"], false);
    EXPECT_EQ(report[0]["error"], "org.hangar.Hangar1.Error.Busy");
    EXPECT_EQ(report[1]["error"], "org.hangar.Hangar1.Error.NotFound");
}

TEST_F(CliTest, Hangarctl_StartOfRunningVmExitsOneAndNamesTheVm)
{
    create("web");
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);

    const RunResult r = ctl({"start", "web"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("hangarctl: cannot start VM 'web': ", 0), 0u) << r.err;
    EXPECT_TRUE(contains(r.err, "running")) << r.err;
    EXPECT_TRUE(contains(r.err, "(Busy)\n")) << r.err;
    EXPECT_EQ(stateOf("web"), "running");
}

TEST_F(CliTest, Hangarctl_UnknownVmExitsFourAndNamesIt)
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status", "nope"}, {"start", "nope"}, {"stop", "--wait", "nope"}, {"rename", "nope", "other"}}) {
        const RunResult r = ctl(args);
        EXPECT_EQ(r.exitCode, 4) << args.front() << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "VM 'nope'")) << r.err;
        EXPECT_TRUE(contains(r.err, "(NotFound)")) << r.err;
    }
}

TEST_F(CliTest, Hangarctl_BadSizeExitsTwoAndCreatesNothing)
{
    for (const auto& args : std::vector<std::vector<std::string>>{{"create", "web", "--memory", "12X"},
                                                                  {"create", "web", "--disk", "0"},
                                                                  {"create", "web", "--memory", "1.3M"},
                                                                  {"create", "web", "--cpus", "two"}}) {
        const RunResult r = ctl(args);
        EXPECT_EQ(r.exitCode, 2) << args[3] << ": " << r.err;
        EXPECT_EQ(r.out, "");
    }
    const RunResult r = ctl({"create", "web", "--memory", "12X"});
    EXPECT_TRUE(contains(r.err, "invalid memory size '12X'")) << r.err;

    EXPECT_EQ(ctlJson({"list", "--all"}), Json::array());
    EXPECT_EQ(ctlJson({"events"}), Json::array()) << "nothing reached the daemon";
}

TEST_F(CliTest, Hangarctl_UnreachableBusExitsThreeAndNamesTheBus)
{
    const std::string missing = "unix:path=" + dir.path() + "/no-such-bus";
    RunResult r = run({hangarctlPath(), "--bus=" + missing, "list"});
    EXPECT_EQ(r.exitCode, 3) << r.err;
    EXPECT_TRUE(contains(r.err, "hangarctl: cannot connect to the bus at " + missing)) << r.err;

    // A bus that works, but nobody serves org.hangar.Hangar1 on it.
    TempDir otherDir;
    PrivateBus empty(otherDir.path());
    for (const auto& args : std::vector<std::vector<std::string>>{{"list"}, {"start", "web", "db"}, {"quota"}}) {
        std::vector<std::string> full{hangarctlPath(), "--bus=" + empty.address()};
        full.insert(full.end(), args.begin(), args.end());
        r = run(full);
        EXPECT_EQ(r.exitCode, 3) << args.front() << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "org.hangar.Hangar1")) << r.err;
        EXPECT_EQ(lines(r.err).size(), 1u) << "stops at the first name: " << r.err;
    }
}

TEST_F(CliTest, Hangarctl_StopWaitReturnsOnlyOnceTheVmIsStopped)
{
    create("web");
    create("db");
    ASSERT_EQ(ctl({"start", "web", "db"}).exitCode, 0);

    RunResult r = ctl({"stop", "--wait", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "Stopped VM 'web'.\n");
    EXPECT_EQ(stateOf("web"), "stopped") << "the very next read already sees it";

    const Json report = ctlJson({"stop", "--wait", "--wait-timeout", "30", "db"});
    ASSERT_EQ(report.size(), 1u) << report;
    EXPECT_EQ(report[0]["ok"], true);
    EXPECT_EQ(report[0]["state"], "stopped");
    EXPECT_EQ(stateOf("db"), "stopped");

    r = ctl({"stop", "--wait", "db"});
    EXPECT_EQ(r.exitCode, 1) << "stopping a stopped VM is Busy";
    EXPECT_TRUE(contains(r.err, "cannot stop VM 'db'")) << r.err;
}

TEST_F(CliTest, Hangarctl_EventsShowCreateAndStartWithOutcomeOk)
{
    create("web");
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 1);

    const RunResult r = ctl({"events"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const std::vector<std::string> all = lines(r.out);
    ASSERT_EQ(all.size(), 4u) << r.out;
    for (const char* header : {"TIME", "UID", "ACTION", "VM", "OUTCOME", "MESSAGE"})
        EXPECT_TRUE(contains(all[0], header)) << all[0];
    EXPECT_FALSE(lineWithWords(all[1], {ownUid(), "create", "web", "ok"}).empty()) << r.out;
    EXPECT_FALSE(lineWithWords(all[2], {ownUid(), "start", "web", "ok"}).empty()) << r.out;
    EXPECT_FALSE(lineWithWords(all[3], {ownUid(), "start", "web", "Busy"}).empty()) << r.out;

    const RunResult limited = ctl({"events", "--limit", "1", "--vm", "web"});
    ASSERT_EQ(limited.exitCode, 0) << limited.err;
    EXPECT_EQ(lines(limited.out).size(), 2u) << limited.out;
    EXPECT_FALSE(lineWithWords(limited.out, {"start", "Busy"}).empty()) << "the newest: " << limited.out;
}

TEST_F(CliTest, Hangarctl_EventsFollowPrintsAnEventThatHappensAfterItStarted)
{
    create("first");
    StreamingChild follow(ctlArgv({"--json", "events", "--follow"}), {}, false);
    auto eventLines = [](const std::string& out) {
        std::vector<Json> events;
        for (const auto& line : lines(out))
            events.push_back(Json::parse(line));
        return events;
    };
    auto hasEvent = [&](const std::string& vm, const std::string& action) {
        return [&eventLines, vm, action](const std::string& out) {
            // Only complete lines: the last one may still be on its way.
            const std::string complete = out.substr(0, out.rfind('\n') + 1);
            for (const auto& event : eventLines(complete))
                if (event["vm_name"] == vm && event["action"] == action)
                    return true;
            return false;
        };
    };
    // The history comes after the subscription, so once it is printed a new event cannot be missed.
    ASSERT_TRUE(follow.waitForOutput(hasEvent("first", "create"))) << follow.out() << follow.err();

    create("second");
    ASSERT_TRUE(follow.waitForOutput(hasEvent("second", "create"))) << follow.out() << follow.err();
    ASSERT_EQ(ctl({"start", "second"}).exitCode, 0);
    ASSERT_TRUE(follow.waitForOutput(hasEvent("second", "start"))) << follow.out() << follow.err();

    EXPECT_EQ(follow.stop(SIGTERM), 0) << "SIGTERM ends --follow normally: " << follow.err();
    const std::vector<Json> events = eventLines(follow.out());
    ASSERT_EQ(events.size(), 3u) << follow.out();
    EXPECT_EQ(events[2]["outcome"], "ok");
    EXPECT_EQ(events[2]["message"], "state is now running");
    EXPECT_LT(events[1]["id"].get<std::uint64_t>(), events[2]["id"].get<std::uint64_t>());
}

TEST_F(CliTest, Hangarctl_QuotaShowsUsageAgainstUnlimitedLimitsUnderAllowAll)
{
    create("web", {"--cpus", "2", "--memory", "2G", "--disk", "20G"});
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"quota"}, {"quota", "show"}, {"quota", "show", ownUid()}}) {
        const RunResult r = ctl(args);
        ASSERT_EQ(r.exitCode, 0) << r.err;
        EXPECT_FALSE(lineWithWords(r.out, {"Source:", "unlimited"}).empty()) << r.out;
        EXPECT_FALSE(lineWithWords(r.out, {"LIMIT", "USED", "MAX"}).empty()) << r.out;
        EXPECT_FALSE(lineWithWords(r.out, {"vms", "1", "unlimited"}).empty()) << r.out;
        EXPECT_FALSE(lineWithWords(r.out, {"cpus", "2", "unlimited"}).empty()) << r.out;
        EXPECT_FALSE(lineWithWords(r.out, {"memory", "2.0", "GiB", "unlimited"}).empty()) << r.out;
        EXPECT_FALSE(lineWithWords(r.out, {"disk", "20.0", "GiB", "unlimited"}).empty()) << r.out;
    }

    const Json quota = ctlJson({"quota", "show"});
    EXPECT_EQ(quota["source"], "unlimited");
    EXPECT_EQ(quota["limits"], Json::object());
    EXPECT_EQ(quota["usage"]["vms"], 1);
    EXPECT_EQ(quota["usage"]["vcpus"], 2);
    EXPECT_EQ(quota["usage"]["memory_mib"], 2048);
    EXPECT_EQ(quota["usage"]["disk_gib"], 20);
    EXPECT_EQ(quota["usage"]["running"], 0);

    const RunResult unknown = ctl({"quota", "show", "no-such-user-here"});
    EXPECT_EQ(unknown.exitCode, 2);
    EXPECT_TRUE(contains(unknown.err, "unknown user 'no-such-user-here'")) << unknown.err;
}

TEST_F(CliTest, Hangarctl_QuotaSetIsReflectedInQuotaShowJson)
{
    RunResult r = ctl(
        {"quota", "set", ownUid(), "--vms", "3", "--running", "2", "--cpus", "8", "--memory", "16G", "--disk", "1T"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Changed the quota of")) << r.out;

    Json quota = ctlJson({"quota", "show"});
    EXPECT_EQ(quota["source"], "user");
    EXPECT_EQ(
        quota["limits"],
        (Json{
            {"max_vms", 3}, {"max_running", 2}, {"max_vcpus", 8}, {"max_memory_mib", 16384}, {"max_disk_gib", 1024}}));
    r = ctl({"quota"});
    EXPECT_FALSE(lineWithWords(r.out, {"memory", "0", "16.0", "GiB"}).empty()) << r.out;
    EXPECT_FALSE(lineWithWords(r.out, {"disk", "0", "1.0", "TiB"}).empty()) << r.out;

    // A limit not mentioned keeps its value; --unset takes the names of the options.
    ASSERT_EQ(ctl({"quota", "set", ownUid(), "--vms", "5", "--unset", "memory,disk"}).exitCode, 0);
    quota = ctlJson({"quota", "show", ownUid()});
    EXPECT_EQ(quota["limits"], (Json{{"max_vms", 5}, {"max_running", 2}, {"max_vcpus", 8}}));

    r = ctl({"quota", "set", ownUid(), "--reset"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "the defaults apply again")) << r.out;
    quota = ctlJson({"quota", "show"});
    EXPECT_EQ(quota["source"], "unlimited");
    EXPECT_EQ(quota["limits"], Json::object());
}

TEST_F(CliTest, Hangarctl_QuotaSetRefusesContradictionsWithExitTwoAndChangesNothing)
{
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"quota", "set", ownUid(), "--reset", "--vms", "3"},
                                               {"quota", "set", ownUid(), "--reset", "--unset", "cpus"},
                                               {"quota", "set", ownUid()},
                                               {"quota", "set", ownUid(), "--vms", "3", "--unset", "vms"},
                                               {"quota", "set", ownUid(), "--unset", "max_vms"},
                                               {"quota", "set", ownUid(), "--memory", "16X"},
                                               {"quota", "set", ownUid(), "--vms", "-1"},
                                               {"quota", "set", "no-such-user-here", "--vms", "3"},
                                               {"quota", "set", "--vms", "3"}}) {
        const RunResult r = ctl(args);
        EXPECT_EQ(r.exitCode, 2) << args.back() << ": " << r.err;
        EXPECT_EQ(r.out, "");
    }
    EXPECT_EQ(ctlJson({"quota"})["source"], "unlimited");
    EXPECT_EQ(ctlJson({"events"}), Json::array()) << "nothing reached the daemon";
}

TEST_F(CliTest, Hangarctl_CreateBeyondQuotaExitsOneAndNamesTheLimit)
{
    ASSERT_EQ(ctl({"quota", "set", ownUid(), "--vms", "1"}).exitCode, 0);
    create("web");

    const RunResult r = ctl({"create", "db"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("hangarctl: cannot create VM 'db': ", 0), 0u) << r.err;
    EXPECT_TRUE(contains(r.err, "max_vms is 1")) << r.err;
    EXPECT_TRUE(contains(r.err, "(QuotaExceeded)")) << r.err;

    const Json list = ctlJson({"list"});
    ASSERT_EQ(list.size(), 1u) << list;
    EXPECT_EQ(list[0]["Name"], "web");
}

TEST_F(CliTest, Hangarctl_OnATerminalStartsATextAuthAgentForItselfAndStopsItBeforeExiting)
{
    create("web");
    const std::string bin = writeFakeAgent();
    StreamingChild start(ctlArgv({"start", "web"}), agentEnv(bin), true);
    ASSERT_EQ(start.waitExit(), 0) << start.err();
    EXPECT_EQ(start.out(), "Started VM 'web'.\n");

    const std::string log = readFile(agentLog());
    const std::vector<std::string> logged = lines(log);
    ASSERT_EQ(logged.size(), 4u) << "one agent, registered and terminated:\n" << log;
    const std::string args = logged[1];
    std::smatch match;
    ASSERT_TRUE(std::regex_match(args, match, std::regex(R"(args --notify-fd ([0-9]+) --fallback --process ([0-9]+))")))
        << args;
    EXPECT_EQ(match[2].str(), std::to_string(start.pid())) << "registered for hangarctl itself";
    EXPECT_EQ(logged[2].rfind("registered ", 0), 0u) << log;
    EXPECT_EQ(logged[3], "terminated") << "hangarctl waited for the agent to exit:\n" << log;

    // The call was made after the agent had registered: its event is later than the agent's notification.
    const Json events = ctlJson({"events", "--vm", "web"});
    ASSERT_EQ(events.size(), 2u) << events;
    const std::uint64_t registeredUsec = std::stoull(logged[2].substr(std::string("registered ").size()));
    EXPECT_LT(registeredUsec, events[1]["time_usec"].get<std::uint64_t>());

    const pid_t agent = static_cast<pid_t>(std::stol(logged[0].substr(4)));
    EXPECT_TRUE(kill(agent, 0) != 0 && errno == ESRCH) << "the agent is gone";
}

TEST_F(CliTest, Hangarctl_StartsNoAgentWithoutATerminalForReadsOrWithNoAskPassword)
{
    create("web");
    const std::string bin = writeFakeAgent();
    // stdin is /dev/null: no one to type a password.
    RunResult r = ctl({"start", "web"}, agentEnv(bin));
    ASSERT_EQ(r.exitCode, 0) << r.err;

    // A terminal, but only reads, or --no-ask-password.
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"list"}, {"status", "web"}, {"events"}, {"quota"}, {"--no-ask-password", "stop", "--wait", "web"}}) {
        StreamingChild child(ctlArgv(args), agentEnv(bin), true);
        EXPECT_EQ(child.waitExit(), 0) << args.front() << ": " << child.err();
    }
    EXPECT_FALSE(std::filesystem::exists(agentLog())) << readFile(agentLog());
    EXPECT_EQ(stateOf("web"), "stopped");
}

TEST_F(CliTest, Hangarctl_OnATerminalCarriesOnWhenPkttyagentIsMissing)
{
    create("web");
    const std::string emptyBin = dir.path() + "/empty-bin";
    std::filesystem::create_directories(emptyBin);
    StreamingChild start(ctlArgv({"start", "web"}), {{"PATH", emptyBin}}, true);
    EXPECT_EQ(start.waitExit(), 0) << start.err();
    EXPECT_EQ(start.out(), "Started VM 'web'.\n");
    EXPECT_EQ(start.err(), "");
    EXPECT_EQ(stateOf("web"), "running");
}

// --- with polkit: a fake org.freedesktop.PolicyKit1 on the private bus that records every CheckAuthorization --------

struct PolkitCheck
{
    std::string action;
    std::map<std::string, std::string> details;
    std::uint32_t flags = 0;
};

class FakePolkit
{
public:
    using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
    using Result = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

    explicit FakePolkit(const std::string& address)
        : m_connection(sdbus::createSessionBusConnectionWithAddress(address)),
          m_object(sdbus::createObject(*m_connection, "/org/freedesktop/PolicyKit1/Authority"))
    {
        m_object->registerMethod("CheckAuthorization")
            .onInterface("org.freedesktop.PolicyKit1.Authority")
            .implementedAs([this](const Subject&, const std::string& action,
                                  const std::map<std::string, std::string>& details, const std::uint32_t& flags,
                                  const std::string&) {
                std::lock_guard lock(m_mutex);
                m_checks.push_back({action, details, flags});
                return Result{m_denied.count(action) == 0, false, {}};
            });
        m_object->finishRegistration();
        m_connection->requestName("org.freedesktop.PolicyKit1");
        m_connection->enterEventLoopAsync();
    }
    ~FakePolkit()
    {
        m_connection->leaveEventLoop();
        m_object.reset();
    }
    FakePolkit(const FakePolkit&) = delete;
    FakePolkit& operator=(const FakePolkit&) = delete;

    void deny(const std::string& action)
    {
        std::lock_guard lock(m_mutex);
        m_denied.insert(action);
    }
    // The checks so far, forgotten once taken.
    std::vector<PolkitCheck> takeChecks()
    {
        std::lock_guard lock(m_mutex);
        return std::exchange(m_checks, {});
    }

private:
    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IObject> m_object;
    std::mutex m_mutex;
    std::set<std::string> m_denied;
    std::vector<PolkitCheck> m_checks;
};

class CliPolkitTest : public CliTest
{
protected:
    void SetUp() override
    {
        bus = std::make_unique<PrivateBus>(dir.path());
        polkit = std::make_unique<FakePolkit>(bus->address());
        const std::string log = dir.path() + "/hangard.log";
        hangard = std::make_unique<Child>(
            std::vector<std::string>{hangardPath(), "--bus=" + bus->address(), "--hypervisor=test:///default",
                                     "--state-dir=" + dir.path() + "/state",
                                     "--config=" + dir.path() + "/no-such-config", "--authorizer=polkit"},
            std::map<std::string, std::string>{}, log);
        auto connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
        auto dbus = sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        const bool serving = waitFor(
            [&] {
                bool owned = false;
                dbus->callMethod("NameHasOwner")
                    .onInterface("org.freedesktop.DBus")
                    .withArguments(std::string("org.hangar.Hangar1"))
                    .storeResultsTo(owned);
                return owned || !hangard->running();
            },
            std::chrono::seconds(20));
        ASSERT_TRUE(serving && hangard->running()) << readFile(log);
    }
    void TearDown() override
    {
        if (::testing::Test::HasFailure())
            std::cerr << "---- hangard log ----\n" << readFile(dir.path() + "/hangard.log") << '\n';
        hangard.reset();
        polkit.reset();
        bus.reset();
    }

    // The checks hangard made for what the caller asked, leaving out those it makes quietly for itself (whether the
    // caller is an administrator, for quotas and the audit log).
    std::vector<PolkitCheck> requestedChecks()
    {
        std::vector<PolkitCheck> out;
        for (auto& check : polkit->takeChecks()) {
            const std::string verb = check.details.count("verb") ? check.details.at("verb") : "";
            if (verb != "quota" && verb != "events")
                out.push_back(std::move(check));
        }
        return out;
    }

    std::unique_ptr<FakePolkit> polkit;
    std::unique_ptr<Child> hangard;
};

constexpr std::uint32_t kAllowUserInteraction = 1;
const std::string kVmHint = "hangarctl: ask an administrator to add you to group hangar (your own VMs) or "
                            "hangar-admin (all VMs); see docs/authorization.md";

TEST_F(CliPolkitTest, Hangarctl_DeniedStartExitsFiveNamingTheActionWithAHint)
{
    create("web");
    create("db");
    polkit->deny("org.hangar.hangar1.manage-own-vms");

    RunResult r = ctl({"start", "web"});
    EXPECT_EQ(r.exitCode, 5);
    EXPECT_EQ(r.out, "");
    std::vector<std::string> err = lines(r.err);
    ASSERT_EQ(err.size(), 2u) << r.err;
    EXPECT_EQ(err[0].rfind("hangarctl: cannot start VM 'web': not authorized: ", 0), 0u) << err[0];
    EXPECT_TRUE(contains(err[0], "org.hangar.hangar1.manage-own-vms")) << err[0];
    EXPECT_TRUE(contains(err[0], "uid " + ownUid())) << err[0];
    EXPECT_TRUE(endsWith(err[0], " (PermissionDenied)")) << err[0];
    EXPECT_EQ(err[1], kVmHint);

    // Several names: each refusal on its own line, the advice once.
    r = ctl({"start", "web", "db"});
    EXPECT_EQ(r.exitCode, 5);
    err = lines(r.err);
    ASSERT_EQ(err.size(), 3u) << r.err;
    EXPECT_TRUE(contains(err[0], "cannot start VM 'web'")) << r.err;
    EXPECT_EQ(err[1], kVmHint);
    EXPECT_TRUE(contains(err[2], "cannot start VM 'db'")) << r.err;

    EXPECT_EQ(stateOf("web"), "stopped");
    EXPECT_EQ(stateOf("db"), "stopped");
}

TEST_F(CliPolkitTest, Hangarctl_DeniedQuotaSetExitsFiveWithTheAdministratorHint)
{
    polkit->deny("org.hangar.hangar1.manage-hosts");
    const RunResult r = ctl({"quota", "set", ownUid(), "--vms", "1"});
    EXPECT_EQ(r.exitCode, 5);
    const std::vector<std::string> err = lines(r.err);
    ASSERT_EQ(err.size(), 2u) << r.err;
    EXPECT_EQ(err[0].rfind("hangarctl: cannot set the quota of ", 0), 0u) << err[0];
    EXPECT_TRUE(contains(err[0], "org.hangar.hangar1.manage-hosts")) << err[0];
    EXPECT_EQ(err[1], "hangarctl: ask an administrator to add you to group hangar-admin (quotas of all users); see "
                      "docs/authorization.md");
    EXPECT_EQ(ctlJson({"quota"})["limits"], Json::object()) << "nothing changed";
}

TEST_F(CliPolkitTest, Hangarctl_StateChangesLetPolkitAskUnlessNoAskPassword)
{
    const std::vector<std::vector<std::string>> commands{
        {"create", "web"},        {"start", "web"},   {"pause", "web"},
        {"resume", "web"},        {"restart", "web"}, {"stop", "--wait", "web"},
        {"rename", "web", "www"}, {"delete", "www"},  {"quota", "set", ownUid(), "--vms", "10"},
        {"quota", "show", "4242"}};
    for (const bool noAskPassword : {false, true}) {
        for (auto args : commands) {
            if (noAskPassword)
                args.insert(args.begin(), "--no-ask-password");
            const RunResult r = ctl(args);
            ASSERT_EQ(r.exitCode, 0) << args.front() << ": " << r.err;
            const std::vector<PolkitCheck> checks = requestedChecks();
            ASSERT_FALSE(checks.empty()) << args.back() << " was not authorized at all";
            for (const auto& check : checks)
                EXPECT_EQ(check.flags, noAskPassword ? 0u : kAllowUserInteraction)
                    << (noAskPassword ? "--no-ask-password " : "") << args.back() << ": " << check.action;
        }
    }
}

TEST_F(CliTest, Hangarctl_StatsAndTopShowRunningVmsSampledByTheDaemon)
{
    // A daemon sampling every second, so the figures appear without waiting for the default interval.
    daemon.reset();
    daemon = std::make_unique<Hangard>(bus->address(), dir.path() + "/state-fast", dir.path() + "/hangard.log",
                                       std::vector<std::string>{}, "[Daemon]\nstats_interval_sec = 1\n");
    create("busy");
    create("quiet");
    ASSERT_EQ(ctl({"start", "busy"}).exitCode, 0);
    Json rows;
    ASSERT_TRUE(waitFor(
        [&] {
            rows = ctlJson({"stats"});
            return rows.is_array() && rows.size() == 1;
        },
        std::chrono::seconds(10)))
        << rows.dump();
    EXPECT_EQ(rows[0].value("Name", ""), "busy");
    EXPECT_TRUE(rows[0]["Stats"].contains("sampled_at_usec"));

    const Json quiet = ctlJson({"stats", "quiet"});
    ASSERT_EQ(quiet.size(), 1U);
    EXPECT_TRUE(quiet[0]["Stats"].empty()) << "a stopped VM has no figures";

    RunResult table = ctl({"stats"});
    ASSERT_EQ(table.exitCode, 0) << table.err;
    EXPECT_EQ(table.out.rfind("NAME", 0), 0U) << table.out;
    EXPECT_NE(table.out.find("busy"), std::string::npos);
    EXPECT_EQ(table.out.find("quiet"), std::string::npos) << "only running VMs without names given";

    RunResult top = ctl({"top", "-n", "2", "-d", "0.2"});
    ASSERT_EQ(top.exitCode, 0) << top.err;
    EXPECT_NE(top.out.find("2 VMs, 1 running"), std::string::npos) << top.out;
    EXPECT_EQ(ctl({"stats", "missing"}).exitCode, 4);
}

} // namespace
} // namespace hangar::it
