// The rules of resource alerts, as a pure class: given the thresholds of hangard.conf's [Alerts] section and
// readings with their time, it says which alerts are raised and which cleared. A value raises its alert when it
// crosses the threshold (for CPU and unreachability only once it has stayed there for the sustain time) and clears
// it only once it is back past the clear margin, so a value flapping around a threshold alerts once. No clock, no
// I/O: core/AlertMonitor feeds it the samples, the unit tests feed it made-up ones. See docs/alerts.md.
#pragma once

#include "core/Types.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

// Each threshold is off while empty.
struct AlertThresholds
{
    std::optional<unsigned> poolFreePercent;    // raise when the pool's free space is below this % of its capacity
    std::optional<std::uint64_t> poolFreeBytes; // ... or below this many bytes
    std::optional<std::uint64_t> hostMemoryFreeBytes; // raise when the host's free memory is below this
    std::optional<unsigned> vmCpuPercent;             // a VM's CPU % (of one host CPU, as VM.GetStats) at or above
    unsigned vmCpuSustainSec = 60;                    // ... for this long
    std::optional<unsigned> unreachableSec;           // the hypervisor connection failing for longer than this
    // How far back past a threshold a value must go to clear its alert: percentage points for the percent
    // thresholds (pool 10 % clears at 15 %, CPU 90 % at 85 %), this percent of the threshold for bytes (1 GiB clears
    // at 1.05 GiB).
    unsigned clearMarginPercent = 5;

    bool operator==(const AlertThresholds&) const = default;
};

// The whole [Alerts] section.
struct AlertSettings
{
    AlertThresholds thresholds;
    unsigned intervalSec = 10;        // how often the host is sampled and the thresholds checked
    std::vector<std::string> command; // alert_command split into argv (core/AlertHook.h); empty = none
    unsigned commandTimeoutSec = 30;  // the command is killed after this long

    bool operator==(const AlertSettings&) const = default;
};

struct Alert
{
    std::string id;   // "pool-free:local/hangar", "host-memory:local", "vm-cpu:local/<uuid>", "host-unreachable:local"
    std::string kind; // pool-free, host-memory, vm-cpu, host-unreachable
    std::string host; // "local" today
    std::string subject; // "local", "local/pool/hangar", "local/vm/<name>"
    std::string vmUuid;  // the VM a vm-cpu alert is about, else empty
    Severity severity = Severity::Warning;
    std::string message;
    std::int64_t raisedAtUsec = 0; // wall clock
};

struct AlertChange
{
    Alert alert;         // as it was raised (a cleared one keeps its raised severity and time)
    bool raised = true;  // false: cleared
    std::string message; // what happened now: the alert's message when raised, "cleared: ..." when cleared
};

// One look at a host: empty figures are unknown (the driver does not report them, or the host is unreachable) and
// leave their alert as it is.
struct HostReading
{
    std::string host = "local";
    bool reachable = true;
    std::string error; // why not, when unreachable
    std::string pool;
    std::optional<std::uint64_t> poolCapacityBytes, poolAvailableBytes;
    std::optional<std::uint64_t> memoryFreeBytes;
};

struct VmCpuReading
{
    std::string uuid;
    std::string name;
    double cpuPercent = 0;
};

struct AlertTime
{
    std::int64_t wallUsec = 0;      // for raisedAtUsec
    std::int64_t monotonicUsec = 0; // for the sustain times, immune to clock changes
};

class AlertPolicy
{
public:
    // Alerts whose threshold is now off clear at the next observation of their subject.
    void setThresholds(const AlertThresholds& thresholds) { m_thresholds = thresholds; }
    const AlertThresholds& thresholds() const { return m_thresholds; }

    std::vector<AlertChange> observeHost(const HostReading& reading, AlertTime now);
    // Every running VM of the host with a CPU figure; one missing here stopped: its streak ends, its alert clears.
    std::vector<AlertChange> observeVms(const std::string& host, const std::vector<VmCpuReading>& vms, AlertTime now);

    // The active alerts, oldest first.
    std::vector<Alert> active() const;

private:
    struct Condition
    {
        std::optional<std::int64_t> beyondSinceUsec; // monotonic; when the value first crossed, while not raised
        std::optional<Alert> raised;
    };
    struct Verdict
    {
        bool enabled = false;  // the threshold is set
        bool known = true;     // the value is known this time
        bool beyond = false;   // past the threshold
        bool backPast = false; // back past the clear margin
        std::int64_t sustainUsec = 0;
        Alert alert;         // id, kind, host, subject, vmUuid, severity, message (for raising)
        std::string current; // the value now, for the cleared message
    };
    void update(std::vector<AlertChange>& changes, Verdict verdict, AlertTime now);
    Verdict poolVerdict(const HostReading& reading) const;
    Verdict memoryVerdict(const HostReading& reading) const;
    Verdict unreachableVerdict(const HostReading& reading) const;
    Verdict cpuVerdict(const std::string& host, const VmCpuReading& vm) const;

    AlertThresholds m_thresholds;
    std::map<std::string, Condition> m_conditions; // by alert id
};

} // namespace hangar
