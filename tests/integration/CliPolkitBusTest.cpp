// hangarctl against a hangard that runs with --authorizer=polkit on a private bus.
// CliDaemonGoneTest: hangarctl waiting on a call when hangard goes away must say that hangard left the bus (and that
// the outcome is unknown), not that it timed out, and exit 3. To have a call reliably in flight when hangard is
// killed, a polkit authority on the same bus answers at first and then stops answering: the call waits in hangard's
// authorization step until hangard is SIGKILLed.
// CliNoPolkitTest: no polkit on the bus at all (docs/hangarctl.md's private bus without --authorizer): the refusal's
// advice must say that, not name a group.
#include "DaemonFixture.h"
#include "support/NotifySocket.h"

#include <csignal>
#include <future>
#include <mutex>
#include <sstream>
#include <vector>

using namespace hangar::it;

namespace {

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

std::vector<std::string> splitLines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// org.freedesktop.PolicyKit1 on the private bus: allows every check until stall(), then keeps the checks unanswered.
class StallingPolkit
{
public:
    using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
    using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

    explicit StallingPolkit(const std::string& address)
        : m_connection(sdbus::createSessionBusConnectionWithAddress(address)),
          m_object(sdbus::createObject(*m_connection, "/org/freedesktop/PolicyKit1/Authority"))
    {
        m_object->registerMethod("CheckAuthorization")
            .onInterface("org.freedesktop.PolicyKit1.Authority")
            .implementedAs([this](sdbus::Result<AuthResult>&& result, const Subject&, const std::string&,
                                  const std::map<std::string, std::string>& details, const std::uint32_t&,
                                  const std::string&) {
                std::lock_guard lock(m_mutex);
                if (!m_stalled) {
                    result.returnResults(AuthResult{true, false, {}});
                    return;
                }
                m_held.push_back(std::move(result));
                m_heldVerbs.push_back(details.count("verb") != 0 ? details.at("verb") : "");
            });
        m_object->finishRegistration();
        m_connection->requestName("org.freedesktop.PolicyKit1");
        m_connection->enterEventLoopAsync();
    }
    ~StallingPolkit()
    {
        m_connection->leaveEventLoop();
        m_held.clear();
        m_object.reset();
    }
    StallingPolkit(const StallingPolkit&) = delete;
    StallingPolkit& operator=(const StallingPolkit&) = delete;

    void stall()
    {
        std::lock_guard lock(m_mutex);
        m_stalled = true;
    }
    // True once a check with details verb=<verb> is being held.
    bool holds(const std::string& verb)
    {
        std::lock_guard lock(m_mutex);
        for (const auto& held : m_heldVerbs) {
            if (held == verb)
                return true;
        }
        return false;
    }

private:
    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IObject> m_object;
    std::mutex m_mutex;
    bool m_stalled = false;
    std::vector<sdbus::Result<AuthResult>> m_held;
    std::vector<std::string> m_heldVerbs;
};

class PolkitBusFixture : public ::testing::Test
{
protected:
    virtual bool polkitOnBus() const { return true; }

    void SetUp() override
    {
        bus = std::make_unique<PrivateBus>(dir.path());
        if (polkitOnBus())
            polkit = std::make_unique<StallingPolkit>(bus->address());
        const std::string state = dir.path() + "/state";
        hangar::support::NotifySocket notify(state + ".notify");
        hangard = std::make_unique<Child>(
            std::vector<std::string>{hangardPath(), "--bus=" + bus->address(), "--hypervisor=test:///default",
                                     "--state-dir=" + state, "--config=" + dir.path() + "/no-such-config",
                                     "--authorizer=polkit"},
            std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify.path()}}, log());
        ASSERT_TRUE(notify.waitReady(std::chrono::seconds(20), [this] { return hangard->running(); }))
            << readFile(log());
    }
    void TearDown() override
    {
        if (::testing::Test::HasFailure())
            std::cerr << "---- hangard log ----\n" << readFile(log()) << "---------------------\n";
        hangard.reset();
        polkit.reset();
        bus.reset();
    }

    std::string log() const { return dir.path() + "/hangard.log"; }

    RunResult ctl(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv{hangarctlPath(), "--bus=" + bus->address()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    }

    // Runs hangarctl with args, SIGKILLs hangard once its call waits on polkit for verb, and returns what hangarctl
    // printed and its exit code.
    RunResult ctlWhileHangardDies(const std::vector<std::string>& args, const std::string& verb)
    {
        polkit->stall();
        auto pending = std::async(std::launch::async, [this, args] { return ctl(args); });
        const bool waiting = waitFor([&] { return polkit->holds(verb); });
        EXPECT_TRUE(waiting) << "hangarctl's call never reached hangard's authorization step";
        hangard->stop(SIGKILL);
        return pending.get();
    }

    TempDir dir;
    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<StallingPolkit> polkit;
    std::unique_ptr<Child> hangard;
};

using CliDaemonGoneTest = PolkitBusFixture;

class CliNoPolkitTest : public PolkitBusFixture
{
protected:
    bool polkitOnBus() const override { return false; }
};

} // namespace

TEST_F(CliDaemonGoneTest, Clone_WhenHangardDiesMidCallSaysItLeftNotThatItTimedOut)
{
    ASSERT_EQ(ctl({"create", "web"}).exitCode, 0);

    const RunResult r = ctlWhileHangardDies({"clone", "web", "copy"}, "clone");
    EXPECT_EQ(r.exitCode, 3) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, "hangarctl: cannot clone VM 'web': hangard left the bus at " + bus->address() +
                                    " before it answered"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "unknown")) << "the outcome is not known: " << r.err;
    EXPECT_FALSE(contains(r.err, "within")) << "not a timeout: " << r.err;
}

TEST_F(CliDaemonGoneTest, StopWait_WhenHangardDiesMidCallSaysItLeft)
{
    ASSERT_EQ(ctl({"create", "web"}).exitCode, 0);
    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);

    const RunResult r = ctlWhileHangardDies({"stop", "--wait", "web"}, "stop");
    EXPECT_EQ(r.exitCode, 3) << r.err;
    EXPECT_TRUE(contains(r.err, "hangarctl: cannot stop VM 'web': hangard left the bus at " + bus->address() +
                                    " before it answered"))
        << r.err;
}

TEST_F(CliNoPolkitTest, Create_RefusedBecausePolkitIsMissingSaysSoInsteadOfNamingAGroup)
{
    const RunResult r = ctl({"create", "web"});
    EXPECT_EQ(r.exitCode, 5) << r.err;
    const std::vector<std::string> err = splitLines(r.err);
    ASSERT_EQ(err.size(), 2u) << r.err;
    EXPECT_TRUE(contains(err[0], "cannot create VM 'web': not authorized: could not ask polkit")) << err[0];
    EXPECT_TRUE(contains(err[1], "hangard could not ask polkit")) << err[1];
    EXPECT_TRUE(contains(err[1], "--authorizer=allow-all")) << err[1];
    EXPECT_FALSE(contains(err[1], "group")) << err[1];
}
