// The load scenario (issue 17, item 5): many clients, each on its own bus connection, running a mixed workload
// against one hangard for a fixed time — the life of a VM from CreateVM to Delete, with reads between — while the
// daemon's open fds and resident memory are sampled. Measured after a warm-up; then the clients stop and, after an
// idle period, the memory is read again. Every error is counted: each client works only on VMs of its own, so no
// error is expected. Hangar only (a reliability figure, not a comparison); run by `hangar-bench --load`.
#pragma once

#include "HangarSystem.h"
#include "Stats.h"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace hangar::bench {

struct LoadOptions
{
    std::size_t clients = 64;
    std::chrono::seconds warmup{10};
    std::chrono::seconds duration{60};
    std::chrono::seconds idle{15};
};

struct LoadResult
{
    std::map<std::string, Samples> perMethod; // measured part only
    Samples all;
    double seconds = 0;
    std::size_t errors = 0;
    std::map<std::string, std::size_t> errorsByName;
    std::string firstError;
    long fdsAfterWarmup = 0, fdsMin = 0, fdsMax = 0, fdsAfterIdle = 0;
    long rssAfterWarmupKiB = 0, rssPeakKiB = 0, rssAfterIdleKiB = 0;
};

LoadResult load(HangarSystem& system, const LoadOptions& options);

// The result as Markdown: one table of latencies per method, then the resource figures.
std::string loadReport(const LoadResult& r, const LoadOptions& options, std::size_t inventory);

} // namespace hangar::bench
