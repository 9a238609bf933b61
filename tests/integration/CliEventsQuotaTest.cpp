// hangarctl's events (the audit log, and --follow printing what happens after it started) and quota commands (show,
// set, refusals of contradictory options, a create beyond the quota), against the real hangard on a private bus. The
// fixture: CliFixture.h.
#include "CliFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

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

} // namespace
} // namespace hangar::it
