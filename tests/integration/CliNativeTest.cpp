// hangarctl talks like the tools its admins know (issue 15, item 5): "did you mean" for a mistyped command, a short
// usage for a bare hangarctl, `help [COMMAND]`, examples in each command's help and the exit codes only in the main
// one, start/restart --wait, info, list -o/-q, and the option the user typed named in the daemon's range errors.
#include "CliFixture.h"

using namespace hangar::it;

namespace {

// The subcommands `hangarctl WORDS --help` lists under "Subcommands:".
std::vector<std::string> subcommandsIn(const std::string& help)
{
    std::vector<std::string> names;
    bool on = false;
    for (const auto& line : lines(help)) {
        if (line == "Subcommands:") {
            on = true;
        } else if (on && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ') {
            names.push_back(line.substr(2, line.find(' ', 2) - 2));
        } else if (on) {
            on = false;
        }
    }
    return names;
}

} // namespace

TEST_F(CliTest, Hangarctl_UnknownCommandNamesTheNearestAndExitsTwo)
{
    RunResult r = ctl({"lsit"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(r.err, "hangarctl: unknown command 'lsit'; did you mean 'list'?\n");
    r = ctl({"image", "lsit"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(r.err, "hangarctl: unknown command 'image lsit'; did you mean 'image list'?\n");
    r = ctl({"--json", "snapshto", "list", "web"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_TRUE(contains(r.err, "did you mean 'snapshot'?")) << r.err;
    r = ctl({"frobnicate"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_TRUE(contains(r.err, "unknown command 'frobnicate'; 'hangarctl help' lists the commands")) << r.err;
    EXPECT_EQ(ctlJson({"events"}), Json::array()) << "nothing reached the daemon";
}

TEST_F(CliTest, Hangarctl_BareCommandPrintsShortUsageAndExitsTwo)
{
    const RunResult r = run({hangarctlPath()});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, "Usage: hangarctl ")) << r.err;
    EXPECT_TRUE(contains(r.err, " list ")) << r.err;
    EXPECT_TRUE(contains(r.err, "'hangarctl help COMMAND'")) << r.err;
    EXPECT_LT(lines(r.err).size(), 6u) << "short: " << r.err;
}

TEST_F(CliTest, Hangarctl_HelpShowsTheExitCodesOnceAndExamplesForEachCommand)
{
    const RunResult main = run({hangarctlPath(), "help"});
    ASSERT_EQ(main.exitCode, 0) << main.err;
    EXPECT_EQ(main.out, run({hangarctlPath(), "--help"}).out);
    EXPECT_TRUE(contains(main.out, "Usage: hangarctl [OPTIONS]")) << "the program's name, not its path";
    EXPECT_TRUE(contains(main.out, "Exit codes:"));

    std::vector<std::vector<std::string>> commands;
    for (const auto& name : subcommandsIn(main.out)) {
        commands.push_back({name});
        for (const auto& sub : subcommandsIn(run({hangarctlPath(), name, "--help"}).out))
            commands.push_back({name, sub});
    }
    ASSERT_GT(commands.size(), 20u);
    for (const auto& words : commands) {
        std::vector<std::string> argv{hangarctlPath(), "help"};
        argv.insert(argv.end(), words.begin(), words.end());
        const RunResult r = run(argv);
        const std::string path = words.size() == 1 ? words[0] : words[0] + " " + words[1];
        EXPECT_EQ(r.exitCode, 0) << path << ": " << r.err;
        EXPECT_TRUE(contains(r.out, "Usage: hangarctl " + path)) << r.out;
        EXPECT_FALSE(contains(r.out, "Exit codes:")) << path << " repeats the exit code table";
        EXPECT_TRUE(contains(r.out, "Examples:\n  hangarctl " + words[0])) << path << " has no examples:\n" << r.out;
    }
}

TEST_F(CliTest, Hangarctl_StartAndRestartWaitReturnOnceTheVmRuns)
{
    create("web");
    RunResult r = ctl({"start", "--wait", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "Started VM 'web'.\n");
    EXPECT_EQ(stateOf("web"), "running");

    r = ctl({"restart", "--wait", "--wait-timeout", "30", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "Stopped VM 'web'.\nStarted VM 'web'.\n");
    EXPECT_EQ(stateOf("web"), "running");
    const Json events = ctlJson({"events", "--vm", "web"});
    std::vector<std::string> actions;
    for (const auto& event : events)
        actions.push_back(event.value("action", ""));
    EXPECT_EQ(std::count(actions.begin(), actions.end(), "start"), 2) << events;

    r = ctl({"--json", "restart", "--wait", "web", "nope"});
    EXPECT_EQ(r.exitCode, 4) << r.err;
    const Json report = Json::parse(r.out);
    ASSERT_EQ(report.size(), 2u) << report;
    EXPECT_EQ(report[0].value("name", ""), "nope") << "the failed stop is reported first";
    EXPECT_EQ(report[1].value("state", ""), "running") << report;
    r = ctl({"start", "--wait", "web"});
    EXPECT_EQ(r.exitCode, 1) << "a running VM cannot be started: " << r.err;
    EXPECT_TRUE(contains(r.err, "cannot start VM 'web'")) << r.err;
}

TEST_F(CliTest, Hangarctl_ListColumnsAndNoLegend)
{
    create("web", {"--cpus", "2", "--memory", "256M", "--disk", "3G"});
    create("db");
    RunResult r = ctl({"list", "-q", "-o", "name,cpus,memory,disk,ip,state"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "db   1  512.0 MiB  10.0 GiB  -  stopped\nweb  2  256.0 MiB  3.0 GiB   -  stopped\n");
    r = ctl({"list", "--columns", "owner,name"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(lines(r.out).front().substr(0, 5), "OWNER") << r.out;
    EXPECT_EQ(lines(r.out).size(), 3u) << r.out;
    EXPECT_FALSE(contains(r.out, "\033")) << "no colour without a terminal";

    r = ctl({"list", "-o", "name,bogus"});
    EXPECT_EQ(r.exitCode, 2) << r.err;
    ASSERT_EQ(ctl({"delete", "web", "db"}).exitCode, 0);
    r = ctl({"list", "-q"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, "") << "-q prints nothing for no VMs";
}

TEST_F(CliTest, Hangarctl_InfoShowsEverythingAboutOneVm)
{
    create("web", {"--cpus", "2", "--memory", "1G", "--description", "front end"});
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);
    const RunResult r = ctl({"info", "web"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    for (const auto& words : std::vector<std::vector<std::string>>{{"Name:", "web"},
                                                                   {"State:", "running"},
                                                                   {"CPU(s):", "2"},
                                                                   {"Memory:", "1.0", "GiB"},
                                                                   {"Disk:", "10.0", "GiB"},
                                                                   {"Addresses:"},
                                                                   {"Description:", "front", "end"}})
        EXPECT_FALSE(lineWithWords(r.out, words).empty()) << words.front() << " missing in:\n" << r.out;

    const Json info = ctlJson({"info", "web"});
    EXPECT_EQ(info.value("Name", ""), "web");
    EXPECT_TRUE(info.contains("Stats") && info["Stats"].is_object()) << info;
    const RunResult missing = ctl({"info", "nope"});
    EXPECT_EQ(missing.exitCode, 4);
}

TEST_F(CliTest, Hangarctl_RangeErrorsNameTheOptionNotTheApiKey)
{
    RunResult r = ctl({"create", "big", "--disk", "70000G"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_TRUE(contains(r.err, "--disk (GiB) must be 1..65536, got 70000")) << r.err;
    EXPECT_FALSE(contains(r.err, "disk_gib")) << r.err;
    r = ctl({"create", "small", "--memory", "16M"});
    EXPECT_TRUE(contains(r.err, "--memory (MiB) must be 64..")) << r.err;
    EXPECT_FALSE(contains(r.err, "memory_mib")) << r.err;
}

TEST_F(CliTest, Hangarctl_OnATerminalWithoutPolkitStartsNoAgentAndPrintsNoNoise)
{
    // A terminal and a state change, as in Hangarctl_OnATerminalStartsATextAuthAgentForItself..., but nothing owns
    // org.freedesktop.PolicyKit1 on the system bus pkttyagent would use: an agent would only print "Authorization
    // not available".
    create("web");
    const std::string bin = writeFakeAgent();
    StreamingChild start(ctlArgv({"start", "web"}), agentEnv(bin), true);
    ASSERT_EQ(start.waitExit(), 0) << start.err();
    EXPECT_EQ(start.out(), "Started VM 'web'.\n");
    EXPECT_EQ(start.err(), "");
    EXPECT_FALSE(std::filesystem::exists(agentLog())) << readFile(agentLog());

    const auto polkit = ownPolkitName();
    StreamingChild stop(ctlArgv({"stop", "web"}), agentEnv(bin), true);
    ASSERT_EQ(stop.waitExit(), 0) << stop.err();
    EXPECT_TRUE(std::filesystem::exists(agentLog())) << "with polkit on the system bus, the agent is started";
}
