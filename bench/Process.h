// The processes a benchmark run starts: a private dbus-daemon per system, hangard, libvirt-dbus, polkitd and the
// unprivileged client of the polkit scenario. Every child is tracked by PID in a process-wide registry and stopped
// by PID (SIGTERM, then SIGKILL after a grace period) when its owner goes, when the driver is interrupted, and —
// through PR_SET_PDEATHSIG — when the driver itself dies. Readiness is waited for with deadlines, never sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::bench {

using Clock = std::chrono::steady_clock;

// Installs SIGINT/SIGTERM/SIGHUP handlers that kill every registered child by PID and exit.
void installChildReaper();

// A temporary directory, removed with its contents when the object goes.
class TempDir
{
public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// A child process whose stdout and stderr go to logPath (or to a pipe read with readAll() when logPath is empty).
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
    // Sends sig, waits up to grace, then SIGKILLs the child and its process group; returns the exit status.
    int stop(int sig = 15, std::chrono::milliseconds grace = std::chrono::seconds(10));
    // Reads the output pipe to its end and waits for the exit (only for children started without a log path).
    std::string readAll(std::chrono::milliseconds deadline);
    std::optional<int> exitStatus() const { return m_status; }

private:
    pid_t m_pid = -1;
    int m_out = -1;
    std::optional<int> m_status;
};

// A socket that receives sd_notify datagrams; waitReady() returns once READY=1 arrived.
class NotifySocket
{
public:
    explicit NotifySocket(const std::string& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    const std::string& path() const { return m_path; }
    // False when the deadline passed or alive() turned false first.
    bool waitReady(std::chrono::milliseconds deadline, const std::function<bool()>& alive);

private:
    std::string m_path;
    int m_fd = -1;
};

// A private dbus-daemon (session type, listening on DIR/bus, open to every local user).
class PrivateBus
{
public:
    explicit PrivateBus(const std::string& dir);
    const std::string& address() const { return m_address; }
    pid_t pid() const { return m_process->pid(); }

private:
    std::string m_address;
    std::unique_ptr<Child> m_process;
};

// CPU time (user + system) a process has used so far, or nullopt when it cannot be read.
std::optional<std::chrono::milliseconds> cpuTime(pid_t pid);
// Waits until the process uses less than 5% of a CPU over 250 ms (or the deadline passes); returns how long that
// took. Used after setup, so work a daemon queued during setup is not measured as the next scenario's.
Clock::duration waitIdle(pid_t pid, std::chrono::milliseconds deadline);

// Resident set size of a process in KiB (VmRSS), or nullopt when it cannot be read.
std::optional<long> rssKiB(pid_t pid);

std::string readFile(const std::string& path);
std::string tail(const std::string& text, std::size_t lines);

// Polls cond every millisecond until it holds or the deadline passes.
bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline);

} // namespace hangar::bench
