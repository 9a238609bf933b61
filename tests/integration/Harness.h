// The integration harness: a private dbus-daemon and the real hangard (libvirt's test driver, a temp state
// directory) started as child processes, tracked by PID and always stopped; helpers to run hangarctl, busctl and
// gdbus against that bus; and conditions waited on with deadlines, never sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::it {

struct RunResult
{
    int exitCode = -1;
    std::string out;
    std::string err;
};

// Runs argv to completion (killed after timeout), capturing stdout and stderr.
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::seconds timeout = std::chrono::seconds(30));

// Polls cond every few milliseconds until it holds or the deadline passes.
bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline = std::chrono::seconds(10));

class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// A child process killed (SIGTERM, then SIGKILL after a grace period) when the object goes.
class Child
{
public:
    Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& logPath);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return m_pid; }
    bool running();
    // Sends sig and waits for the exit; returns the exit status (128+signal when killed by one).
    int stop(int sig, std::chrono::seconds grace = std::chrono::seconds(10));

private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

class PrivateBus
{
public:
    explicit PrivateBus(const std::string& dir);
    const std::string& address() const { return m_address; }

private:
    std::string m_address;
    std::unique_ptr<Child> m_process;
};

class Hangard
{
public:
    // configText, when given, is written to a file next to the state directory and passed as --config.
    Hangard(const std::string& busAddress, const std::string& stateDir, const std::string& logPath,
            const std::vector<std::string>& extraArgs = {}, const std::string& configText = {});
    ~Hangard();
    // SIGTERM and wait; returns the exit status.
    int stop();
    Child& process() { return *m_process; }

private:
    std::unique_ptr<Child> m_process;
};

std::string hangardPath();
std::string hangarctlPath();
std::string readFile(const std::string& path);

} // namespace hangar::it
