#include "common/JobStatus.h"

#include <algorithm>
#include <cmath>

namespace hangar::client {
namespace {

constexpr std::uint64_t kUsecPerSec = 1000000;

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

} // namespace

std::uint64_t bytesDone(const JobStatus& status)
{
    return static_cast<std::uint64_t>(status.progress * static_cast<double>(status.bytes));
}

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

JobOutcome outcomeFromImage(const std::optional<std::string>& imageState, bool cancelRequested)
{
    if (imageState == "ready")
        return {JobEnd::Succeeded, {}};
    if (!imageState) {
        if (cancelRequested)
            return {JobEnd::Cancelled, "cancelled"};
        return {JobEnd::Failed, "the job ended and the image is gone: it failed or was cancelled (its Completed "
                                "signal, which gives the reason, was not received)"};
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
