// hangarctl and authorization against the real hangard on a private bus: on a terminal it starts a text
// authentication agent for itself (a fake pkttyagent) and stops it before exiting; and CliPolkitTest, hangard with
// --authorizer=polkit against a fake polkit authority on the same bus, to see denials and whether hangarctl lets
// polkit ask for a password. The fixture: CliFixture.h.
#include "CliFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

TEST_F(CliTest, Hangarctl_OnATerminalStartsATextAuthAgentForItselfAndStopsItBeforeExiting)
{
    create("web");
    const std::string bin = writeFakeAgent();
    const auto polkit = ownPolkitName();
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
    const auto polkit = ownPolkitName(); // an agent could register: these cases start none for another reason
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

} // namespace
} // namespace hangar::it
