// Latency samples and their summary. Percentiles are nearest-rank on the sorted samples (p99 of fewer than 100
// samples is therefore the maximum); the summary keeps the sample count so a reader can judge it.
#pragma once

#include "Process.h"

#include <cstddef>
#include <string>
#include <vector>

namespace hangar::bench {

struct Summary
{
    std::size_t count = 0;
    double p50 = 0; // microseconds
    double p99 = 0;
    double mean = 0;
    double max = 0;
};

class Samples
{
public:
    void add(Clock::duration d) { m_us.push_back(std::chrono::duration<double, std::micro>(d).count()); }
    void addMicros(double us) { m_us.push_back(us); }
    void append(const Samples& other) { m_us.insert(m_us.end(), other.m_us.begin(), other.m_us.end()); }
    std::size_t size() const { return m_us.size(); }
    Summary summary() const;

private:
    std::vector<double> m_us;
};

// "812 us", "1.53 ms", "2.10 s": three significant digits, as measured (no rounding beyond that).
std::string formatMicros(double us);

} // namespace hangar::bench
