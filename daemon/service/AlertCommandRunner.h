// The alert_command hook ([Alerts] in hangard.conf): for every alert raised or cleared, runs the administrator's
// command with the alert in its environment (core/AlertHook.h), without a shell and without waiting for it: a
// thread per run waits for the process, kills it (SIGKILL) once it has run longer than alert_command_timeout_sec,
// and logs how it ended. stdin is /dev/null; stdout and stderr are hangard's (the journal under systemd).
#pragma once

#include "core/AlertMonitor.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hangar::service {

class AlertCommandRunner final : public AlertSink
{
public:
    explicit AlertCommandRunner(const AlertSettings& settings) { setSettings(settings); }
    // Kills the commands still running and waits for their threads.
    ~AlertCommandRunner() override;
    AlertCommandRunner(const AlertCommandRunner&) = delete;
    AlertCommandRunner& operator=(const AlertCommandRunner&) = delete;

    // A reload: the next alert runs the new command.
    void setSettings(const AlertSettings& settings);
    void alertChanged(const AlertChange& change) override;

private:
    struct Run
    {
        int pidfd = -1;
        std::atomic<bool> done{false};
        std::thread waiter;
    };
    void reapFinished();

    std::vector<std::string> m_argv;
    unsigned m_timeoutSec = 30;
    std::vector<std::unique_ptr<Run>> m_runs;
};

} // namespace hangar::service
