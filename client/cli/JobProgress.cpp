#include "JobProgress.h"

#include "common/Format.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hangar::client {
namespace {

// Narrower than this, a bar says nothing a percentage does not; wider, it only makes the line long.
constexpr std::size_t kMinBarWidth = 10;
constexpr std::size_t kMaxBarWidth = 40;
constexpr std::size_t kBounceWidth = 3; // "<=>"
// Widths the figures are padded to on a terminal, so the bar keeps its size as they change: "999.9 MiB",
// "99.9 MiB/s", "1h 59m". Rarer, longer values only make the bar a little shorter.
constexpr std::size_t kBytesWidth = 9;
constexpr std::size_t kRateWidth = 10;
constexpr std::size_t kDurationWidth = 6;

std::string padLeft(const std::string& text, std::size_t width)
{
    return std::string(text.size() < width ? width - text.size() : 0, ' ') + text;
}

std::string padRight(const std::string& text, std::size_t width)
{
    return text + std::string(text.size() < width ? width - text.size() : 0, ' ');
}

std::string join(const std::vector<std::string>& parts, const std::string& separator)
{
    std::string text;
    for (const auto& part : parts)
        text += (text.empty() ? "" : separator) + part;
    return text;
}

// "  5%", " 45%", "100%": fixed width, so the line does not jump; 100% only once the job really is complete.
std::string percentText(double progress)
{
    const auto percent = static_cast<int>(std::floor(progress * 100.0));
    std::string text = std::to_string(percent) + "%";
    return std::string(text.size() < 4 ? 4 - text.size() : 0, ' ') + text;
}

std::string bar(const JobStatus& status, std::size_t inner, unsigned tick)
{
    std::string cells(inner, ' ');
    if (status.progressValid) {
        const auto filled = static_cast<std::size_t>(status.progress * static_cast<double>(inner));
        std::fill_n(cells.begin(), std::min(filled, inner), '=');
        if (filled < inner)
            cells[filled] = '>';
    } else {
        // A block that bounces from end to end: it moves, so the job is visibly alive, without claiming an amount.
        const std::size_t travel = inner - kBounceWidth;
        const std::size_t period = 2 * travel;
        const std::size_t step = period == 0 ? 0 : tick % period;
        const std::size_t at = step <= travel ? step : period - step;
        cells.replace(at, kBounceWidth, "<=>");
    }
    return "[" + cells + "]";
}

} // namespace

std::string progressBarLine(const std::string& label, const JobStatus& status, std::uint64_t nowUsec,
                            std::uint64_t sinceUsec, std::size_t width, unsigned tick)
{
    std::vector<std::string> fields;
    if (status.progressValid) {
        fields.push_back(percentText(status.progress));
        if (status.bytes != 0)
            fields.push_back(padLeft(formatBytes(bytesDone(status)), kBytesWidth) + "/" + formatBytes(status.bytes));
    }
    fields.push_back(padLeft(formatRate(status.rate), kRateWidth));
    if (status.progressValid) {
        const auto left = secondsLeft(status, nowUsec);
        fields.push_back("ETA " + padRight(left ? formatDuration(*left) : std::string("-"), kDurationWidth));
    } else {
        fields.push_back("elapsed " +
                         padRight(formatDuration(secondsElapsed(status, nowUsec, sinceUsec)), kDurationWidth));
    }
    const std::string suffix = join(fields, " ");

    // label, a space, the bar with its two brackets, two spaces, the figures.
    const std::size_t fixed = label.size() + 1 + 2 + 2 + suffix.size();
    std::string line;
    if (width > fixed && width - fixed >= kMinBarWidth)
        line = label + " " + bar(status, std::min(width - fixed, kMaxBarWidth), tick) + "  " + suffix;
    else
        line = label + "  " + suffix;
    if (line.size() > width)
        line.resize(width);
    return line;
}

std::string progressLogLine(const std::string& label, const JobStatus& status, std::uint64_t nowUsec,
                            std::uint64_t sinceUsec)
{
    std::vector<std::string> details;
    std::string head;
    if (status.progressValid) {
        head = std::to_string(static_cast<int>(std::floor(status.progress * 100.0))) + "%";
        if (status.bytes != 0)
            details.push_back(formatBytes(bytesDone(status)) + " of " + formatBytes(status.bytes));
        if (status.rate != 0)
            details.push_back(formatRate(status.rate));
        if (const auto left = secondsLeft(status, nowUsec))
            details.push_back("ETA " + formatDuration(*left));
    } else {
        head = formatDuration(secondsElapsed(status, nowUsec, sinceUsec)) + " elapsed";
        if (status.rate != 0)
            details.push_back(formatRate(status.rate));
    }
    std::string line = label + ": " + head;
    if (!details.empty())
        line += " (" + join(details, ", ") + ")";
    return line;
}

} // namespace hangar::client
