#include "Harness.h"

#include "support/NotifySocket.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <stdexcept>

namespace hangar::it {

Hangard::Hangard(const std::string& busAddress, const std::string& stateDir, const std::string& logPath,
                 const std::vector<std::string>& extraArgs, const std::string& configText)
    : m_logPath(logPath)
{
    // hangard says READY=1 over $NOTIFY_SOCKET once it serves: the harness waits for exactly that.
    std::filesystem::create_directories(std::filesystem::path(stateDir).parent_path());
    support::NotifySocket notify(stateDir + ".notify");
    if (!configText.empty())
        std::ofstream(stateDir + ".conf") << configText;
    std::vector<std::string> argv{hangardPath(),
                                  "--bus=" + busAddress,
                                  "--hypervisor=test:///default",
                                  "--state-dir=" + stateDir,
                                  "--config=" + stateDir + (configText.empty() ? ".no-such-config" : ".conf"),
                                  "--authorizer=allow-all"};
    argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
    m_process =
        std::make_unique<Child>(argv, std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify.path()}}, logPath);
    if (!notify.waitReady(std::chrono::seconds(20), [this] { return m_process->running(); }))
        throw std::runtime_error("hangard did not report READY=1: " + readFile(logPath));
}

Hangard::~Hangard()
{
    if (!m_stoppedByTest) {
        const bool wasRunning = m_process->running();
        const int status = wasRunning ? m_process->stop(SIGTERM) : m_process->exitStatus().value_or(-1);
        // 128 + SIGKILL after the test ended it: a kill-point test's own doing, not hangard's failure.
        if (wasRunning || status != 128 + SIGKILL) {
            EXPECT_EQ(status, 0) << "hangard " << (wasRunning ? "did not exit 0 on SIGTERM" : "exited during the test")
                                 << "; its log: " << m_logPath;
        }
    }
    // Sanitizer reports start with "==PID==ERROR: AddressSanitizer" (or LeakSanitizer); UBSan's with "runtime error:".
    const std::string log = readFile(m_logPath);
    for (const char* report : {"==ERROR: ", "runtime error: ", "SUMMARY: UndefinedBehaviorSanitizer"})
        if (const auto at = log.find(report); at != std::string::npos) {
            ADD_FAILURE() << "hangard's log has a sanitizer report:\n" << log.substr(log.rfind('\n', at) + 1);
            break;
        }
}

int Hangard::stop()
{
    m_stoppedByTest = true;
    return m_process->stop(SIGTERM);
}

std::string hangardPath()
{
    return HANGARD_PATH;
}
std::string hangarctlPath()
{
    return HANGARCTL_PATH;
}

} // namespace hangar::it
