// The one table of a run: a row per scenario and N, a column per system, and the ratios Hangar/libvirt-dbus and
// Hangar/raw libvirt. Printed as a Markdown table, which reads as well in a terminal as in docs/performance.md.
#pragma once

#include "Stats.h"

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hangar::bench {

enum SystemIndex : std::size_t
{
    kHangar = 0,
    kLibvirtDbus = 1,
    kRaw = 2,
};

struct Cell
{
    enum class Kind
    {
        Empty,
        Latency,  // summary: p50 / p99
        Duration, // value in microseconds
        Rate,     // value per second
        MemoryKiB,
        Count,
        Text,
    };
    Kind kind = Kind::Empty;
    Summary latency;
    double value = 0;
    std::string text;

    static Cell ofLatency(const Summary& s) { return {Kind::Latency, s, 0, {}}; }
    static Cell ofDuration(double us) { return {Kind::Duration, {}, us, {}}; }
    static Cell ofRate(double perSecond) { return {Kind::Rate, {}, perSecond, {}}; }
    static Cell ofMemoryKiB(double kib) { return {Kind::MemoryKiB, {}, kib, {}}; }
    static Cell ofCount(double n) { return {Kind::Count, {}, n, {}}; }
    static Cell ofText(std::string t) { return {Kind::Text, {}, 0, std::move(t)}; }
};

class Report
{
public:
    // Scenarios appear in the order they were first declared; rows within one by N.
    void declare(const std::string& scenario);
    void set(const std::string& scenario, std::size_t n, std::size_t system, Cell cell);
    std::string markdown() const;

private:
    std::vector<std::string> m_order;
    std::map<std::pair<std::string, std::size_t>, std::array<Cell, 3>> m_rows;
};

} // namespace hangar::bench
