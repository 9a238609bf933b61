// Child processes for the test and benchmark harnesses: fork and exec with the streams and environment asked for,
// every child tracked by PID in a process-wide registry and stopped by PID (SIGTERM, then SIGKILL of the child and
// its process group) when its owner goes, when the program is interrupted (installChildReaper()) and, through
// PR_SET_PDEATHSIG, when the program itself dies. Commands run to completion with their output captured, and
// conditions are waited on with deadlines, never sleeps.
#pragma once

#include <array>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hangar::support {

using Clock = std::chrono::steady_clock;

// What to start. argv[0] without a '/' is looked up in /usr/bin, /bin, /usr/sbin and /sbin.
struct Spawn
{
    std::vector<std::string> argv;
    std::map<std::string, std::string> env; // added to (or replacing in) this process's environment
    int in = -1;                            // dup2'd to stdin; -1: /dev/null
    int out = -1;                           // dup2'd to stdout; -1: this process's
    int err = -1;                           // dup2'd to stderr; -1: this process's
    std::string inPath;                     // when set, opened read-write as stdin instead of `in`
    bool session = false;                   // setsid() (inPath, a terminal, becomes its controlling one)
                                            // instead of a process group of its own
};

// Starts the child and registers its PID. Throws when fork fails.
pid_t spawn(const Spawn& what);

// waitpid() for a spawned child: its exit status (128 + signal when a signal ended it), unregistering its PID; nullopt
// when wait is false and it still runs.
std::optional<int> reap(pid_t pid, bool wait);

// Installs SIGINT/SIGTERM/SIGHUP handlers that kill every registered child (and its group) by PID and exit with
// 128 + the signal. For programs (the benchmarks); a test binary leaves its signals to the test framework.
void installChildReaper();

// A child process whose stdout and stderr go to logPath (appended), stdin /dev/null; stopped when the object goes.
class Child
{
public:
    Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& logPath);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return m_pid; }
    // False once it exited (then anything it left in its process group is killed).
    bool running();
    // Sends sig and waits up to grace, then SIGKILLs the child and its process group; returns the exit status
    // (128 + signal when a signal ended it).
    int stop(int sig = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(10));
    std::optional<int> exitStatus() const { return m_status; }

private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

// Pipes for a child's stdout and stderr: hand the write ends to spawn(), close them, then pump() the read ends.
class OutputPipes
{
public:
    OutputPipes();
    ~OutputPipes();
    OutputPipes(const OutputPipes&) = delete;
    OutputPipes& operator=(const OutputPipes&) = delete;

    int outWriteEnd() const { return m_write[0]; }
    int errWriteEnd() const { return m_write[1]; }
    // This process's copies of the write ends, closed once the child has its own (else the pipes never end).
    void closeWriteEnds();

    // One poll over the open read ends, reading what came; false once end has passed.
    bool pump(Clock::time_point end);
    bool outOpen() const { return m_read[0] >= 0; }
    bool anyOpen() const { return m_read[0] >= 0 || m_read[1] >= 0; }
    const std::string& out() const { return m_out; }
    const std::string& err() const { return m_err; }

private:
    std::array<int, 2> m_read{-1, -1};
    std::array<int, 2> m_write{-1, -1};
    std::string m_out;
    std::string m_err;
};

struct RunResult
{
    int exitCode = -1;
    std::string out;
    std::string err;
};

// Runs argv to completion (it and its process group SIGKILLed after timeout), capturing stdout and stderr.
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::seconds timeout = std::chrono::seconds(30));

// Polls cond every 10 ms until it holds or the deadline passes; returns cond() as last seen.
bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline = std::chrono::seconds(10));

} // namespace hangar::support
