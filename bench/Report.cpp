#include "Report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace hangar::bench {
namespace {

std::string number(const char* format, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string formatCell(const Cell& c)
{
    switch (c.kind) {
    case Cell::Kind::Empty:
        return "";
    case Cell::Kind::Latency: {
        if (c.latency.count == 0)
            return "no samples";
        std::string s = formatMicros(c.latency.p50) + " / " + formatMicros(c.latency.p99);
        if (c.latency.count < 100)
            s += " (n=" + std::to_string(c.latency.count) + ")";
        return s;
    }
    case Cell::Kind::Duration:
        return formatMicros(c.value);
    case Cell::Kind::Rate:
        return number("%.0f/s", c.value);
    case Cell::Kind::MemoryKiB:
        return number("%.1f MiB", c.value / 1024.0);
    case Cell::Kind::Count:
        return number("%.0f", c.value);
    case Cell::Kind::Text:
        return c.text;
    }
    return "";
}

std::string ratio(double hangar, double other)
{
    if (other <= 0 || hangar <= 0)
        return "-";
    const double r = hangar / other;
    return number(r >= 100 ? "%.0fx" : r >= 10 ? "%.1fx" : "%.2fx", r);
}

// Hangar over the other system: p50 ratio / p99 ratio for latencies, one ratio for single values.
std::string formatRatio(const Cell& hangar, const Cell& other)
{
    if (hangar.kind != other.kind)
        return "";
    switch (hangar.kind) {
    case Cell::Kind::Latency:
        if (hangar.latency.count == 0 || other.latency.count == 0)
            return "";
        return ratio(hangar.latency.p50, other.latency.p50) + " / " + ratio(hangar.latency.p99, other.latency.p99);
    case Cell::Kind::Duration:
    case Cell::Kind::Rate:
    case Cell::Kind::MemoryKiB:
        return ratio(hangar.value, other.value);
    default:
        return "";
    }
}

} // namespace

void Report::declare(const std::string& scenario)
{
    if (std::find(m_order.begin(), m_order.end(), scenario) == m_order.end())
        m_order.push_back(scenario);
}

void Report::set(const std::string& scenario, std::size_t n, std::size_t system, Cell cell)
{
    declare(scenario);
    m_rows[{scenario, n}][system] = std::move(cell);
}

std::string Report::markdown() const
{
    std::vector<std::array<std::string, 7>> lines;
    lines.push_back(
        {"scenario", "N", "Hangar", "libvirt-dbus", "raw libvirt", "Hangar / libvirt-dbus", "Hangar / raw"});
    for (const auto& scenario : m_order) {
        for (const auto& [key, cells] : m_rows) {
            if (key.first != scenario)
                continue;
            lines.push_back({scenario, std::to_string(key.second), formatCell(cells[kHangar]),
                             formatCell(cells[kLibvirtDbus]), formatCell(cells[kRaw]),
                             formatRatio(cells[kHangar], cells[kLibvirtDbus]),
                             formatRatio(cells[kHangar], cells[kRaw])});
        }
    }
    std::array<std::size_t, 7> width{};
    for (const auto& l : lines)
        for (std::size_t i = 0; i < l.size(); ++i)
            width[i] = std::max(width[i], l[i].size());
    std::ostringstream out;
    const auto emit = [&](const std::array<std::string, 7>& l) {
        out << '|';
        for (std::size_t i = 0; i < l.size(); ++i) {
            const bool right = i == 1;
            const std::string pad(width[i] - l[i].size(), ' ');
            out << ' ' << (right ? pad + l[i] : l[i] + pad) << " |";
        }
        out << '\n';
    };
    emit(lines.front());
    out << '|';
    for (std::size_t i = 0; i < width.size(); ++i)
        out << (i == 1 ? std::string(width[i] + 1, '-') + ":|" : std::string(width[i] + 2, '-') + "|");
    out << '\n';
    for (std::size_t i = 1; i < lines.size(); ++i)
        emit(lines[i]);
    return out.str();
}

} // namespace hangar::bench
