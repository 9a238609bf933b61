#include "JobStatus.h"

#include "Format.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hangar::client {
namespace {

constexpr std::uint64_t kUsecPerSec = 1000000;
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

template <typename T>
void take(const std::map<std::string, sdbus::Variant>& changed, const char* name, const char* type, T& into)
{
    auto it = changed.find(name);
    if (it != changed.end() && it->second.peekValueType() == type)
        into = it->second.get<T>();
}

std::uint64_t ceilDiv(std::uint64_t a, std::uint64_t b)
{
    return a / b + (a % b != 0 ? 1 : 0);
}

std::uint64_t bytesDone(const JobStatus& status)
{
    return static_cast<std::uint64_t>(status.progress * static_cast<double>(status.bytes));
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

void applyJobProperties(JobStatus& status, const std::map<std::string, sdbus::Variant>& changed)
{
    double progress = status.progress;
    take(changed, "Progress", "d", progress);
    status.progress = std::isfinite(progress) ? std::clamp(progress, 0.0, 1.0) : 0.0;
    take(changed, "ProgressValid", "b", status.progressValid);
    take(changed, "Cancelable", "b", status.cancelable);
    take(changed, "Bytes", "t", status.bytes);
    take(changed, "Rate", "t", status.rate);
    take(changed, "StartTime", "t", status.startTimeUsec);
    take(changed, "ExpectedEndTime", "t", status.expectedEndUsec);
}

std::string formatRate(std::uint64_t bytesPerSecond)
{
    return bytesPerSecond == 0 ? std::string("-") : formatBytes(bytesPerSecond) + "/s";
}

std::optional<std::uint64_t> secondsLeft(const JobStatus& status, std::uint64_t nowUsec)
{
    if (status.expectedEndUsec != 0)
        return status.expectedEndUsec > nowUsec ? ceilDiv(status.expectedEndUsec - nowUsec, kUsecPerSec) : 0;
    if (!status.progressValid || status.rate == 0 || status.bytes == 0)
        return std::nullopt;
    const std::uint64_t done = std::min(bytesDone(status), status.bytes);
    return ceilDiv(status.bytes - done, status.rate);
}

std::uint64_t secondsElapsed(const JobStatus& status, std::uint64_t nowUsec, std::uint64_t sinceUsec)
{
    const std::uint64_t start = status.startTimeUsec != 0 ? status.startTimeUsec : sinceUsec;
    return nowUsec > start ? (nowUsec - start) / kUsecPerSec : 0;
}

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

JobOutcome outcomeFromImage(const std::optional<std::string>& imageState, bool cancelRequested)
{
    if (imageState == "ready")
        return {JobEnd::Succeeded, {}};
    if (!imageState) {
        if (cancelRequested)
            return {JobEnd::Cancelled, "cancelled"};
        return {JobEnd::Failed, "the job ended and the image is gone: it failed or was cancelled (hangarctl did not "
                                "receive the reason)"};
    }
    return {JobEnd::Failed, "the job ended, but the image is '" + *imageState + "', not 'ready'"};
}

JobOutcome outcomeFromCompleted(bool success, const std::string& message, bool cancelRequested)
{
    if (success)
        return {JobEnd::Succeeded, message};
    if (cancelRequested)
        return {JobEnd::Cancelled, message.empty() ? std::string("cancelled") : message};
    return {JobEnd::Failed, message.empty() ? std::string("the job failed without giving a reason") : message};
}

} // namespace hangar::client
