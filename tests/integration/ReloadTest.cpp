// SIGHUP reloads hangard's configuration file (docs/hangard.md, "Reloading the configuration"): the real hangard on a
// private bus, started with a config file, which the test rewrites before each SIGHUP. What applies is read back
// over D-Bus (GetQuota); what needs a restart and a file that does not load are seen in hangard's log; the sd_notify
// messages are read on a socket bound where the harness's NOTIFY_SOCKET points once start-up is over.
#include "DaemonFixture.h"
#include "support/NotifySocket.h"

#include <csignal>
#include <cstdlib>
#include <fstream>

namespace hangar::it {
namespace {

constexpr std::uint32_t kGuest = 4242; // a uid with no quota of its own: the [Quota] defaults apply to it

class ReloadTest : public ConnectedDaemonFixture
{
protected:
    void startDaemon() override
    {
        daemon = std::make_unique<Hangard>(bus->address(), state(), log(), std::vector<std::string>{},
                                           "[Quota]\nmax_vms = 3\nmax_memory_mib = 4096\n");
        connection = sdbus::createSessionBusConnectionWithAddress(bus->address());
        manager = std::make_unique<ManagerClient>(*connection);
        connection->enterEventLoopAsync();
    }

    // Where Harness's Hangard wrote the file passed as --config, and where NOTIFY_SOCKET points.

    void writeConfig(const std::string& text) { std::ofstream(configPath(), std::ios::trunc) << text; }

    std::map<std::string, sdbus::Variant> defaults()
    {
        const auto quota = manager->GetQuota(kGuest, {});
        EXPECT_EQ(quota.at("source").get<std::string>(), "default");
        return quota.at("limits").get<std::map<std::string, sdbus::Variant>>();
    }

    bool logHas(const std::string& text)
    {
        return waitFor([&] { return readFile(log()).find(text) != std::string::npos; }, std::chrono::seconds(5));
    }
};

TEST_F(ReloadTest, Sighup_AppliesNewQuotaDefaults)
{
    ASSERT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 3U);

    writeConfig("[Quota]\nmax_vms = 7\nmax_disk_gib = 50\n");
    reload();

    const auto limits = defaults();
    EXPECT_EQ(limits.at("max_vms").get<std::uint32_t>(), 7U);
    EXPECT_EQ(limits.at("max_disk_gib").get<std::uint64_t>(), 50U);
    EXPECT_EQ(limits.count("max_memory_mib"), 0U) << "a key removed from the file is unlimited again";
    EXPECT_TRUE(logHas("reload: [Quota] defaults now applies"));
    EXPECT_TRUE(daemon->process().running());
}

TEST_F(ReloadTest, Sighup_RefusesWhatNeedsARestartAndAppliesTheRest)
{
    writeConfig("[Storage]\npool = elsewhere\n[Quota]\nmax_vms = 9\n");
    reload();

    EXPECT_TRUE(logHas("reload: [Storage] pool changed 'hangar' -> 'elsewhere': that needs a restart "
                       "(systemctl restart hangard); keeping 'hangar'"));
    EXPECT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 9U) << "the live part of the same file applies";
    // The pool in use is still the old one: an image listing goes to it and works.
    EXPECT_EQ(ctl({"image", "list"}).exitCode, 0);
}

TEST_F(ReloadTest, Sighup_BrokenFileKeepsTheWholeRunningConfiguration)
{
    writeConfig("[Quota]\nmax_vms = 1\nmax_running = lots\n");
    reload();

    EXPECT_TRUE(logHas("reload: the configuration did not load, nothing changed"));
    EXPECT_TRUE(logHas("max_running must be a number"));
    const auto limits = defaults();
    EXPECT_EQ(limits.at("max_vms").get<std::uint32_t>(), 3U) << "a valid key of a broken file applied";
    EXPECT_EQ(limits.at("max_memory_mib").get<std::uint64_t>(), 4096U);

    // The daemon still serves and reloads a fixed file.
    writeConfig("[Quota]\nmax_vms = 4\n");
    reload();
    EXPECT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 4U);
}

TEST_F(ReloadTest, Sighup_LogLevelAppliesAndAnUnknownOneIsRefused)
{
    writeConfig("[Daemon]\nlog_level = error\n[Quota]\nmax_vms = 5\n");
    reload();
    EXPECT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 5U);

    // At level error, a reload that applies a quota change logs no info line about it.
    const std::string before = readFile(log());
    writeConfig("[Daemon]\nlog_level = error\n[Quota]\nmax_vms = 6\n");
    reload();
    EXPECT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 6U);
    const std::string quiet = readFile(log()).substr(before.size());
    EXPECT_EQ(quiet.find("reload: [Quota] defaults now applies"), std::string::npos)
        << "an info line was logged at level error:\n"
        << quiet;

    writeConfig("[Daemon]\nlog_level = loud\n");
    reload();
    EXPECT_TRUE(logHas("log_level must be one of trace, debug, info, warn, error; got 'loud'"));
    EXPECT_EQ(defaults().at("max_vms").get<std::uint32_t>(), 6U);
}

// sd-event sends WATCHDOG=1 from the loop itself when systemd asks for it (WATCHDOG_USEC), and keeps sending.
class WatchdogTest : public ReloadTest
{
protected:
    void startDaemon() override
    {
        ::setenv("WATCHDOG_USEC", "200000", 1); // inherited by hangard only: unset again once it started
        ReloadTest::startDaemon();
        ::unsetenv("WATCHDOG_USEC");
    }
};

TEST_F(WatchdogTest, Watchdog_KeepsFiringWhileTheLoopServes)
{
    support::NotifySocket notify(notifyPath());
    auto alive = [this] { return daemon->process().running(); };
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(notify.waitFor("WATCHDOG=1", std::chrono::seconds(5), alive)) << "WATCHDOG=1 number " << i + 1;
        EXPECT_NO_THROW(defaults()); // the loop answers between pings
    }
}

} // namespace
} // namespace hangar::it
