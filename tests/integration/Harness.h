// The integration harness: a private dbus-daemon and the real hangard (libvirt's test driver, a temp state
// directory) started as child processes, tracked by PID and always stopped; helpers to run hangarctl, busctl and
// gdbus against that bus; and conditions waited on with deadlines, never sleeps. The process, bus and file helpers
// are tests/support's, shared with the polkit and end-to-end suites and the benchmarks.
#pragma once

#include "support/PrivateBus.h"
#include "support/Process.h"
#include "support/TempDir.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::it {

using support::Child;
using support::PrivateBus;
using support::readFile;
using support::run;
using support::RunResult;
using support::TempDir;
using support::waitFor;

class Hangard
{
public:
    // configText, when given, is written to a file next to the state directory and passed as --config.
    Hangard(const std::string& busAddress, const std::string& stateDir, const std::string& logPath,
            const std::vector<std::string>& extraArgs = {}, const std::string& configText = {});
    // Stops it if it still runs, and fails the running test when it did not exit 0 on that SIGTERM (or exited
    // non-zero before, SIGKILL aside), or when its log has a sanitizer report (ASan, LSan, UBSan: the ASan build of
    // the suites runs hangard with halt_on_error).
    ~Hangard();
    // SIGTERM and wait; returns the exit status (the caller checks it; the log is still checked at the end).
    int stop();
    Child& process() { return *m_process; }

private:
    std::unique_ptr<Child> m_process;
    std::string m_logPath;
    bool m_stoppedByTest = false;
};

std::string hangardPath();
std::string hangarctlPath();

} // namespace hangar::it
