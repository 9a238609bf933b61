#include "ImageReport.h"

#include "ImageFiles.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>

namespace hangar::bench::images {
namespace {

std::string formatLatency(const Samples& samples)
{
    const Summary s = samples.summary();
    if (s.count == 0)
        return "not measured";
    return formatMicros(s.p50) + " / " + formatMicros(s.p99) + " (n=" + std::to_string(s.count) + ")";
}

std::string formatRatio(double ratio)
{
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), ratio >= 100 ? "%.0fx" : "%.1fx", ratio);
    return buf.data();
}

} // namespace

double micros(Clock::duration d)
{
    return std::chrono::duration<double, std::micro>(d).count();
}

std::string formatBytes(std::uint64_t bytes)
{
    std::array<char, 32> buf{};
    const auto value = static_cast<double>(bytes);
    if (bytes >= kGiB)
        std::snprintf(buf.data(), buf.size(), "%.3g GiB", value / static_cast<double>(kGiB));
    else
        std::snprintf(buf.data(), buf.size(), "%.3g MiB", value / static_cast<double>(kMiB));
    return buf.data();
}

void printReport(const std::vector<CaseResult>& results, const std::vector<std::string>& notes, std::ostream& out)
{
    std::vector<std::vector<std::string>> rows;
    const auto row = [&](const std::string& what, const std::function<std::string(const CaseResult&)>& cell) {
        std::vector<std::string> cells{what};
        for (const auto& r : results)
            cells.push_back(cell(r));
        rows.push_back(std::move(cells));
    };
    row("image file: virtual size / allocated",
        [](const CaseResult& r) { return formatBytes(r.image.size) + " / " + formatBytes(r.fileAllocated); });
    row("ImportImage: call -> Job Completed (once)",
        [](const CaseResult& r) { return formatMicros(micros(r.imported)); });
    row("image volume: allocated after import", [](const CaseResult& r) { return formatBytes(r.volumeAllocated); });
    row("**CreateVM from the image** (D-Bus, end to end): p50 / p99",
        [](const CaseResult& r) { return formatLatency(r.create); });
    row("- libvirt's overlay create alone (virStorageVolCreateXML): p50 / p99",
        [](const CaseResult& r) { return formatLatency(r.overlayAlone); });
    row("- of that, qemu-img create run alone (the command libvirt runs for it): p50 / p99",
        [](const CaseResult& r) { return formatLatency(r.qemuImg); });
    row("- libvirt's domain define alone (virDomainDefineXML): p50 / p99",
        [](const CaseResult& r) { return formatLatency(r.defineAlone); });
    row("VM.Delete (domain and overlay removed): p50 / p99",
        [](const CaseResult& r) { return formatLatency(r.remove); });
    row("**full copy** (virStorageVolCreateXMLFrom, as virsh vol-clone): p50 / max", [](const CaseResult& r) {
        const Summary s = r.copy.summary();
        return formatMicros(s.p50) + " / " + formatMicros(s.max) + " (n=" + std::to_string(s.count) + ")";
    });
    row("full copy: allocated", [](const CaseResult& r) { return formatBytes(r.copyAllocated); });
    row("**copy / CreateVM** (p50)",
        [](const CaseResult& r) { return "**" + formatRatio(r.copy.summary().p50 / r.create.summary().p50) + "**"; });
    row("copy / overlay create alone (p50)",
        [](const CaseResult& r) { return formatRatio(r.copy.summary().p50 / r.overlayAlone.summary().p50); });

    std::vector<std::string> header{"measurement"};
    for (const auto& r : results)
        header.push_back(r.image.label);
    std::vector<std::size_t> widths(header.size());
    for (const auto& cells : rows)
        for (std::size_t i = 0; i < cells.size(); ++i)
            widths[i] = std::max({widths[i], cells[i].size(), header[i].size()});
    const auto line = [&](const std::vector<std::string>& cells) {
        out << '|';
        for (std::size_t i = 0; i < cells.size(); ++i)
            out << ' ' << cells[i] << std::string(widths[i] - cells[i].size(), ' ') << " |";
        out << '\n';
    };
    line(header);
    out << '|';
    for (std::size_t i = 0; i < widths.size(); ++i)
        out << (i == 0 ? std::string(widths[i] + 2, '-') : std::string(widths[i] + 1, '-') + ":") << '|';
    out << '\n';
    for (const auto& cells : rows)
        line(cells);
    out << '\n';
    for (const auto& note : notes)
        out << "- " << note << '\n';
}

} // namespace hangar::bench::images
