#include "Harness.h"

#include "support/NotifySocket.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace hangar::it {

Hangard::Hangard(const std::string& busAddress, const std::string& stateDir, const std::string& logPath,
                 const std::vector<std::string>& extraArgs, const std::string& configText)
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

Hangard::~Hangard() = default;

int Hangard::stop()
{
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
