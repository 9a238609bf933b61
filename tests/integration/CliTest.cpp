// hangarctl as a user sees it: the real hangard on a private bus, driven through the hangarctl binary. The tests
// assert what a person or a script sees: the lines printed, the JSON (parsed, not grepped), and the exit codes of
// docs/hangarctl.md. Here: the lifecycle, JSON output, exit codes, stop --wait, stats and top. The fixture:
// CliFixture.h; events and quotas in CliEventsQuotaTest.cpp, authorization in CliAuthTest.cpp.
#include "CliFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

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
