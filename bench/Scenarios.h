// The scenarios, written once against System and run on each of the three. Each returns raw samples; percentiles
// are taken when the table is made. Sample counts are bounded by count and by time, whichever comes first.
#pragma once

#include "Stats.h"
#include "System.h"

#include <chrono>
#include <functional>
#include <string>

namespace hangar::bench {

// The time bound of each sequential scenario (per system and N).
inline constexpr auto kScenarioTime = std::chrono::seconds(3);

// org.freedesktop.DBus.Peer.Ping round trips to destination on the bus at address.
Samples pingRoundTrips(const std::string& address, const std::string& destination, std::size_t count);

// Timed reads of the whole inventory (after one untimed read, which is also checked: every system must return
// exactly its expected VMs with 1 vCPU, 512 MiB and State "stopped"). problem is set when that check fails.
Samples inventoryReads(const std::function<std::vector<VmInfo>()>& read, std::size_t expected, std::string& problem);

struct LifecycleResult
{
    Samples start, stop;
    std::size_t errors = 0;
    std::string firstError;
};
// Sequential start / force-stop pairs of one VM on one client.
LifecycleResult lifecycle(System& system, std::size_t vm, std::size_t pairs);

struct NotificationResult
{
    Samples started, stopped; // the change to running, and to stopped
    std::size_t signalBeforeReply = 0;
};
// Start / force-stop transitions of one VM, each timed from sending the call to seeing the notification.
NotificationResult notification(System& system, std::size_t vm, std::size_t transitions);

struct ConcurrencyResult
{
    Samples calls;
    std::size_t ok = 0, errors = 0;
    std::string firstError;
    double seconds = 0;
};
// clients threads, each with its own connection and its own VM (0..clients-1), alternating start and force-stop
// for duration.
ConcurrencyResult concurrency(System& system, std::size_t clients, std::chrono::seconds duration);

} // namespace hangar::bench
