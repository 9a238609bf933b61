// Resource alerts on the real hangard (docs/alerts.md) with libvirt's test driver, whose storage pool reports 100 GiB
// of capacity, all of it free: a pool_free_bytes threshold above that is crossed at the first check. The Alert
// signal, GetAlerts, the audit event and its severity, and the alert_command hook (a script that writes its
// arguments and environment to a file) are checked; a SIGHUP that lowers the threshold clears the alert.
#include "BusError.h"
#include "DaemonFixture.h"
#include "support/NotifySocket.h"

#include <csignal>
#include <fstream>
#include <sys/stat.h>

namespace hangar::it {
namespace {

constexpr const char* kPoolAlert = "pool-free:local/hangar";

class AlertsTest : public ConnectedDaemonFixture
{
protected:
    void startDaemon() override
    {
        writeHook();
        daemon = std::make_unique<Hangard>(bus->address(), state(), log(), std::vector<std::string>{},
                                           alertsConfig(m_initialPoolFree));
        connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
        manager = std::make_unique<ManagerClient>(*connection);
        connection->enterEventLoopAsync();
    }

    unsigned m_timeoutSec = 10;
    std::string m_initialPoolFree = "200G"; // above the test pool's 100 GiB: raised at the first check

    std::string hookPath() const { return dir.path() + "/hook.sh"; }
    std::string hookOutput(const std::string& state) const { return dir.path() + "/hook-" + state + ".txt"; }

    // The argument with a space and a quote shows that alert_command is split by its own rules, not by a shell.
    std::string alertsConfig(const std::string& poolFree) const
    {
        return "[Alerts]\ninterval_sec = 1\npool_free_bytes = " + poolFree + "\nalert_command = " + hookPath() +
               " 'two words' \"it's\"\nalert_command_timeout_sec = " + std::to_string(m_timeoutSec) + "\n";
    }

    // What the hook does after "out=<dir>/hook-<state>.txt": by default, write its arguments and environment there.
    virtual std::string hookBody() const
    {
        // Written under a temporary name and renamed, so the file is complete once it exists.
        return "{ printf 'ARG=%s\\n' \"$@\"; env; } > \"$out.tmp\" && mv \"$out.tmp\" \"$out\"\n";
    }

    void writeHook() const
    {
        std::ofstream(hookPath()) << "#!/bin/sh\nout=" << dir.path() << "/hook-$HANGAR_ALERT_STATE.txt\n" << hookBody();
        chmod(hookPath().c_str(), 0755);
    }

    bool sawAlert(const std::string& severity)
    {
        return waitFor(
            [&] {
                for (const auto& a : manager->alerts())
                    if (a.id == kPoolAlert && a.severity == severity)
                        return true;
                return false;
            },
            std::chrono::seconds(15));
    }

    std::string waitForFile(const std::string& path)
    {
        waitFor([&] { return access(path.c_str(), F_OK) == 0; }, std::chrono::seconds(15));
        return readFile(path);
    }
};

// Started below the threshold, so the client is subscribed before the alert can be raised (a signal sent before a
// client connects is not seen by it); a SIGHUP raises the threshold above the pool's free space.
class AlertsSignalTest : public AlertsTest
{
protected:
    AlertsSignalTest() { m_initialPoolFree = "50G"; }
};

TEST_F(AlertsSignalTest, PoolBelowThreshold_SignalsListsAuditsRunsTheHookAndClearsWhenTheThresholdDrops)
{
    EXPECT_TRUE(manager->GetAlerts().empty()) << "100 GiB free is above a 50G threshold";
    std::ofstream(configPath(), std::ios::trunc) << alertsConfig("200G");
    reload();
    ASSERT_TRUE(sawAlert("warning")) << "no Alert signal for the pool";
    const auto signalled = manager->alerts();
    EXPECT_EQ(signalled.front().subject, "local/pool/hangar");
    EXPECT_NE(signalled.front().message.find("100.0% free"), std::string::npos) << signalled.front().message;

    const auto active = manager->GetAlerts();
    ASSERT_EQ(active.size(), 1U);
    EXPECT_EQ(active[0].get<0>(), kPoolAlert);
    EXPECT_EQ(active[0].get<1>(), "warning");
    EXPECT_EQ(active[0].get<2>(), "local/pool/hangar");
    EXPECT_GT(active[0].get<4>(), 0U) << "raised_at_usec";

    const std::string raised = waitForFile(hookOutput("raised"));
    for (const char* line :
         {"ARG=two words", "ARG=it's", "HANGAR_ALERT_ID=pool-free:local/hangar", "HANGAR_ALERT_STATE=raised",
          "HANGAR_ALERT_SEVERITY=warning", "HANGAR_ALERT_SUBJECT=local/pool/hangar", "HANGAR_ALERT_KIND=pool-free",
          "HANGAR_ALERT_HOST=local"})
        EXPECT_NE(raised.find(std::string(line) + "\n"), std::string::npos) << line << " in:\n" << raised;
    EXPECT_NE(raised.find("HANGAR_ALERT_MESSAGE=pool hangar on local has 100.0% free"), std::string::npos) << raised;
    EXPECT_EQ(raised.find("DBUS_"), std::string::npos) << "the daemon's own environment stays out:\n" << raised;
    EXPECT_TRUE(waitFor([&] { return readFile(log()).find("exited with status 0") != std::string::npos; }))
        << "the hook's exit status is logged";

    bool audited = false;
    for (const auto& e : manager->GetEvents({{"severity", sdbus::Variant(std::string("warning"))}}))
        audited = audited || (e.get<5>() == "alert" && e.get<6>() == "raised" && e.get<8>() == "warning");
    EXPECT_TRUE(audited) << "the alert is in the audit log as a warning";

    // Below the pool's free space, with the same hook: the next check clears the alert.
    std::ofstream(configPath(), std::ios::trunc) << alertsConfig("50G");
    reload();
    ASSERT_TRUE(sawAlert("info")) << "no Alert of severity info (cleared)";
    EXPECT_TRUE(waitFor([&] { return manager->GetAlerts().empty(); }));
    const std::string cleared = waitForFile(hookOutput("cleared"));
    EXPECT_NE(cleared.find("HANGAR_ALERT_STATE=cleared\n"), std::string::npos) << cleared;
    EXPECT_NE(cleared.find("HANGAR_ALERT_SEVERITY=info\n"), std::string::npos) << cleared;
    EXPECT_NE(cleared.find("HANGAR_ALERT_MESSAGE=cleared: "), std::string::npos) << cleared;
    EXPECT_EQ(manager->alerts().size(), 2U) << "raised once, cleared once: the value did not flap into more";
}

TEST_F(AlertsTest, GetEvents_SeverityFilterIsAMinimumAndAnUnknownLevelIsRefused)
{
    // Raised at the first check, maybe before this client subscribed to the signal: waited for in GetAlerts.
    ASSERT_TRUE(waitFor([&] { return !manager->GetAlerts().empty(); }, std::chrono::seconds(15)));
    create("fine");                                        // info
    errorOf([&] { manager->CreateVM("Not A Name", {}); }); // refused: a warning
    const auto all = manager->GetEvents({});
    const auto warnings = manager->GetEvents({{"severity", sdbus::Variant(std::string("warning"))}});
    const auto errors = manager->GetEvents({{"severity", sdbus::Variant(std::string("error"))}});
    EXPECT_GT(all.size(), warnings.size()) << "the info event (the create) is left out";
    EXPECT_GE(warnings.size(), 2U);
    for (const auto& e : warnings)
        EXPECT_TRUE(e.get<8>() == "warning" || e.get<8>() == "error") << e.get<8>();
    for (const auto& e : errors)
        EXPECT_EQ(e.get<8>(), "error");
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      manager->GetEvents({{"severity", sdbus::Variant(std::string("fatal"))}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.InvalidArgument");
    EXPECT_NE(message.find("info, warning or error"), std::string::npos) << message;
}

// A hook that outlives alert_command_timeout_sec is killed, and hangard serves on meanwhile: it never waits for it.
class AlertsHookTimeoutTest : public AlertsTest
{
protected:
    AlertsHookTimeoutTest() { m_timeoutSec = 1; }
    std::string hookBody() const override { return "touch \"$out\"\nexec /bin/sleep 600\n"; }
};

TEST_F(AlertsHookTimeoutTest, AlertCommand_StillRunningAfterItsTimeoutIsKilledAndLogged)
{
    waitForFile(hookOutput("raised"));
    EXPECT_EQ(manager->GetAlerts().size(), 1U) << "hangard answers while the hook runs";
    EXPECT_TRUE(waitFor([&] { return readFile(log()).find("still runs after 1 s: killing it") != std::string::npos; },
                        std::chrono::seconds(10)))
        << readFile(log());
    EXPECT_TRUE(waitFor([&] { return readFile(log()).find("was killed by signal") != std::string::npos; },
                        std::chrono::seconds(10)))
        << readFile(log());
}

} // namespace
} // namespace hangar::it
