// Resource alerts on the real libvirtd (issue 14 item 9: "the alert hook run with the right environment when the
// pool's threshold is crossed"). A second hangard, on a bus and state directory of its own and with a storage pool
// of its own (a real dir pool whose figures are the file system's), gets a pool_free_bytes threshold just above
// what that file system has free, so the first check crosses it: the Alert signal's row is in GetAlerts (through
// hangarctl alerts), the audit log has it as a warning, and alert_command (a script writing its arguments and
// environment to a file) runs with the alert in HANGAR_ALERT_* and its exit status logged.
#include "E2eWorld.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace hangar::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAlertPool = "hangar-alerts";

class AlertE2e : public E2eFixture
{
protected:
    it::TempDir m_dir;

    std::string hangarctl(const std::string& bus, const std::vector<std::string>& args)
    {
        std::vector<std::string> argv{it::hangarctlPath(), "--bus=" + bus, "--no-ask-password"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = it::run(argv, {}, 60s);
        if (r.exitCode != 0)
            throw std::runtime_error("hangarctl failed: " + r.out + r.err);
        return r.out;
    }
};

TEST_F(AlertE2e, PoolBelowItsFreeSpaceThreshold_RunsTheHookWithTheAlertInItsEnvironment)
{
    const std::string stateDir = m_dir.path() + "/state";
    const std::string hook = m_dir.path() + "/hook.sh";
    const std::string out = m_dir.path() + "/hook-raised.txt";
    std::ofstream(hook) << "#!/bin/sh\n{ printf 'ARG=%s\\n' \"$@\"; env; } > " << out << ".tmp && mv " << out << ".tmp "
                        << out << "\n";
    ASSERT_EQ(chmod(hook.c_str(), 0755), 0);
    // The pool will be a directory under the state directory: its free space is this file system's. 10 GiB more
    // than that is a threshold the first check finds crossed, whatever the machine.
    std::filesystem::create_directories(stateDir);
    struct statvfs fs
    {
    };
    ASSERT_EQ(statvfs(stateDir.c_str(), &fs), 0);
    const std::uint64_t freeBytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    const std::uint64_t threshold = freeBytes + (10ULL << 30U);

    std::filesystem::create_directories(m_dir.path() + "/bus");
    it::PrivateBus bus(m_dir.path() + "/bus");
    HangardProcess hangard(bus.address(), libvirtd().uri(), stateDir,
                           "[Storage]\npool = " + std::string(kAlertPool) +
                               "\n[Guest]\nboot_dir = " + m_world->bootDir +
                               "\n[Alerts]\ninterval_sec = 1\npool_free_bytes = " + std::to_string(threshold) +
                               "\nalert_command = " + hook + " --to 'ops room'\nalert_command_timeout_sec = 20\n",
                           m_dir.path() + "/hangard.log");

    ASSERT_TRUE(it::waitFor([&] { return access(out.c_str(), F_OK) == 0; }, 30s)) << "the hook did not run:\n"
                                                                                  << tail(hangard.log());
    const std::string env = it::readFile(out);
    const std::string id = std::string("pool-free:local/") + kAlertPool;
    for (const std::string& line : std::vector<std::string>{
             "ARG=--to", "ARG=ops room", "HANGAR_ALERT_ID=" + id, "HANGAR_ALERT_STATE=raised",
             "HANGAR_ALERT_SEVERITY=warning", "HANGAR_ALERT_KIND=pool-free", "HANGAR_ALERT_HOST=local",
             "HANGAR_ALERT_SUBJECT=local/pool/" + std::string(kAlertPool)})
        EXPECT_NE(env.find(line + "\n"), std::string::npos) << line << " in:\n" << env;
    EXPECT_NE(env.find("HANGAR_ALERT_MESSAGE=pool " + std::string(kAlertPool) + " on local has "), std::string::npos)
        << env;
    EXPECT_TRUE(it::waitFor([&] { return hangard.log().find("exited with status 0") != std::string::npos; }, 20s))
        << tail(hangard.log());

    const auto alerts = nlohmann::json::parse(hangarctl(bus.address(), {"alerts", "--json"}));
    ASSERT_EQ(alerts.size(), 1U) << alerts.dump();
    EXPECT_EQ(alerts[0].at("id"), id);
    EXPECT_EQ(alerts[0].at("severity"), "warning");
    EXPECT_GT(alerts[0].at("raised_at_usec").get<std::uint64_t>(), 0U);

    bool audited = false;
    for (const auto& event :
         nlohmann::json::parse(hangarctl(bus.address(), {"events", "--severity", "warning", "--json"})))
        audited = audited || (event.at("action") == "alert" && event.at("outcome") == "raised");
    EXPECT_TRUE(audited) << "no warning event for the alert";
    EXPECT_EQ(hangard.stop(), 0);
    libvirtd().virsh({"pool-destroy", kAlertPool});
    libvirtd().virsh({"pool-undefine", kAlertPool});
}

} // namespace
} // namespace hangar::e2e
