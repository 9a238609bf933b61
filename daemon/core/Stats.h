// Live figures of running VMs. A sampler on the loop asks a StatsSource (libvirt's bulk domain stats, on a worker)
// every interval and keeps, per VM, the latest rates computed from the difference between two samples: CPU % (of
// one host CPU, so 0..100 x vCPUs), memory used and available, disk and network throughput. Readers (GetStats,
// GetAllStats) are answered from memory, never from libvirt. Addresses reported with the samples update the VM's
// Addresses. Loop thread only, except StatsSource::sample, which runs on a worker.
#pragma once

#include "core/Executor.h"
#include "core/Inventory.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

// Cumulative counters of one active domain, as the hypervisor reports them at one instant.
struct DomainSample
{
    std::string uuid;
    std::int64_t monotonicNs = 0; // when it was taken, CLOCK_MONOTONIC
    std::optional<std::uint64_t> cpuTimeNs;
    std::optional<std::uint64_t> memoryUsedKiB;      // what the guest uses (balloon: available - unused, or rss)
    std::optional<std::uint64_t> memoryAvailableKiB; // what the guest sees
    std::optional<std::uint64_t> diskReadBytes, diskWriteBytes, diskReadOps, diskWriteOps;
    std::optional<std::uint64_t> netRxBytes, netTxBytes;
    std::optional<std::vector<std::string>> addresses; // nullopt: the source could not tell
};

class StatsSource
{
public:
    virtual ~StatsSource() = default;
    // Samples every active domain of the host. Blocking; called on a worker thread.
    virtual std::vector<DomainSample> sample() = 0;
};

// Rates over the last interval; a field is empty until two samples with that counter exist.
struct VmStats
{
    std::int64_t sampledAtUsec = 0;
    std::optional<std::uint64_t> cpuTimeNs;
    std::optional<double> cpuPercent;
    std::optional<std::uint64_t> memoryUsedBytes, memoryAvailableBytes;
    std::optional<double> diskReadBytesPerSec, diskWriteBytesPerSec, diskReadOpsPerSec, diskWriteOpsPerSec;
    std::optional<double> netRxBytesPerSec, netTxBytesPerSec;
};

class StatsSampler
{
public:
    StatsSampler(Inventory& inventory, StatsSource& source, Executor& executor, std::chrono::milliseconds interval);

    // Takes the first sample now, then one every interval.
    void start();
    void stop();
    // The latest figures of a VM; nullopt when it is not running or not sampled yet.
    std::optional<VmStats> stats(const std::string& uuid) const;
    std::map<std::string, VmStats> all() const { return m_stats; }

    // Folds one round of samples in (public for unit tests; start() does it on the interval).
    void apply(const std::vector<DomainSample>& samples, std::int64_t wallUsec);

private:
    void tick();

    Inventory& m_inventory;
    StatsSource& m_source;
    Executor& m_executor;
    std::chrono::milliseconds m_interval;
    std::map<std::string, DomainSample> m_previous;
    std::map<std::string, VmStats> m_stats;
    std::optional<Executor::TimerId> m_timer;
    bool m_running = false;
    bool m_sampling = false;
};

} // namespace hangar
