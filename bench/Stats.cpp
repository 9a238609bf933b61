#include "Stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace hangar::bench {
namespace {

double nearestRank(const std::vector<double>& sorted, double p)
{
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

Summary Samples::summary() const
{
    Summary s;
    s.count = m_us.size();
    if (m_us.empty())
        return s;
    std::vector<double> sorted = m_us;
    std::sort(sorted.begin(), sorted.end());
    s.p50 = nearestRank(sorted, 0.50);
    s.p99 = nearestRank(sorted, 0.99);
    s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
    s.max = sorted.back();
    return s;
}

std::string formatMicros(double us)
{
    char buf[32];
    const auto fmt3 = [&](double v, const char* unit) {
        if (v >= 100)
            std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
        else if (v >= 10)
            std::snprintf(buf, sizeof buf, "%.1f %s", v, unit);
        else
            std::snprintf(buf, sizeof buf, "%.2f %s", v, unit);
        return std::string(buf);
    };
    if (us < 1000)
        return fmt3(us, "us");
    if (us < 1e6)
        return fmt3(us / 1e3, "ms");
    return fmt3(us / 1e6, "s");
}

} // namespace hangar::bench
