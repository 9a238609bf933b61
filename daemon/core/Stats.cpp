#include "core/Stats.h"

#include <memory>
#include <set>

namespace hangar {
namespace {

std::optional<double> rate(const std::optional<std::uint64_t>& now, const std::optional<std::uint64_t>& before,
                           double seconds)
{
    if (!now || !before || seconds <= 0 || *now < *before) // a counter that went back means a restarted guest
        return std::nullopt;
    return static_cast<double>(*now - *before) / seconds;
}

} // namespace

StatsSampler::StatsSampler(Inventory& inventory, StatsSource& source, Executor& executor,
                           std::chrono::milliseconds interval)
    : m_inventory(inventory), m_source(source), m_executor(executor), m_interval(interval)
{}

void StatsSampler::start()
{
    m_running = true;
    tick();
}

void StatsSampler::stop()
{
    m_running = false;
    if (m_timer) {
        m_executor.cancel(*m_timer);
        m_timer.reset();
    }
}

std::optional<VmStats> StatsSampler::stats(const std::string& uuid) const
{
    auto it = m_stats.find(uuid);
    if (it == m_stats.end())
        return std::nullopt;
    return it->second;
}

void StatsSampler::tick()
{
    m_timer.reset();
    if (!m_running || m_sampling)
        return;
    m_sampling = true;
    auto samples = std::make_shared<std::vector<DomainSample>>();
    m_executor.submit(
        [&source = m_source, samples] {
            try {
                *samples = source.sample();
            } catch (const std::exception&) { // no figures this round; the VMs' State says why
            }
        },
        [this, samples] {
            m_sampling = false;
            apply(*samples, m_executor.nowUsec());
            if (m_running)
                m_timer = m_executor.schedule(m_interval, [this] { tick(); });
        });
}

void StatsSampler::apply(const std::vector<DomainSample>& samples, std::int64_t wallUsec)
{
    std::set<std::string> seen;
    for (const auto& sample : samples) {
        Vm* vm = m_inventory.find(sample.uuid);
        if (!vm) // not one of Hangar's domains
            continue;
        seen.insert(sample.uuid);
        VmStats s;
        s.sampledAtUsec = wallUsec;
        s.cpuTimeNs = sample.cpuTimeNs;
        if (sample.memoryUsedKiB)
            s.memoryUsedBytes = *sample.memoryUsedKiB * 1024;
        if (sample.memoryAvailableKiB)
            s.memoryAvailableBytes = *sample.memoryAvailableKiB * 1024;
        if (auto prev = m_previous.find(sample.uuid); prev != m_previous.end()) {
            const double seconds = static_cast<double>(sample.monotonicNs - prev->second.monotonicNs) / 1e9;
            if (auto cpu = rate(sample.cpuTimeNs, prev->second.cpuTimeNs, seconds))
                s.cpuPercent = *cpu / 1e9 * 100.0;
            s.diskReadBytesPerSec = rate(sample.diskReadBytes, prev->second.diskReadBytes, seconds);
            s.diskWriteBytesPerSec = rate(sample.diskWriteBytes, prev->second.diskWriteBytes, seconds);
            s.diskReadOpsPerSec = rate(sample.diskReadOps, prev->second.diskReadOps, seconds);
            s.diskWriteOpsPerSec = rate(sample.diskWriteOps, prev->second.diskWriteOps, seconds);
            s.netRxBytesPerSec = rate(sample.netRxBytes, prev->second.netRxBytes, seconds);
            s.netTxBytesPerSec = rate(sample.netTxBytes, prev->second.netTxBytes, seconds);
        }
        m_stats[sample.uuid] = s;
        m_previous[sample.uuid] = sample;
        if (sample.addresses)
            m_inventory.setAddresses(*vm, *sample.addresses);
    }
    // A VM that is no longer active has no figures, and its addresses are gone with it.
    for (auto it = m_previous.begin(); it != m_previous.end();) {
        if (seen.count(it->first)) {
            ++it;
            continue;
        }
        m_stats.erase(it->first);
        if (Vm* vm = m_inventory.find(it->first))
            m_inventory.setAddresses(*vm, {});
        it = m_previous.erase(it);
    }
}

} // namespace hangar
