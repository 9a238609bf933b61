// The processes a benchmark run starts: a private dbus-daemon per system, hangard, libvirt-dbus, polkitd and the
// unprivileged client of the polkit scenario. The child processes, waits and files are tests/support's (Process.h:
// every child tracked by PID and stopped by PID when its owner goes, when the driver is interrupted —
// installChildReaper() — and when the driver itself dies); here is what only the benchmarks need: a bus open to
// every user with the stock limits, and what a process costs (CPU time, resident memory).
#pragma once

#include "support/NotifySocket.h"
#include "support/PrivateBus.h"
#include "support/Process.h"
#include "support/TempDir.h"

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>

namespace hangar::bench {

using support::Child;
using support::Clock;
using support::installChildReaper;
using support::NotifySocket;
using support::readFile;
using support::run;
using support::RunResult;
using support::TempDir;
using support::waitFor;

// A private dbus-daemon (session type, listening on DIR/bus) open to every local user, with the stock session bus's
// limits.
class PrivateBus : public support::PrivateBus
{
public:
    explicit PrivateBus(const std::string& dir);
};

// CPU time (user + system) a process has used so far, or nullopt when it cannot be read.
std::optional<std::chrono::milliseconds> cpuTime(pid_t pid);
// Waits until the process uses less than 5% of a CPU over 250 ms (or the deadline passes); returns how long that
// took. Used after setup, so work a daemon queued during setup is not measured as the next scenario's.
Clock::duration waitIdle(pid_t pid, std::chrono::milliseconds deadline);

// Resident set size of a process in KiB (VmRSS), or nullopt when it cannot be read.
std::optional<long> rssKiB(pid_t pid);

// The last lines of text.
std::string tail(const std::string& text, std::size_t lines);

} // namespace hangar::bench
