#include "core/FaultPoints.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace hangar {
namespace {

std::optional<FaultPoint> readArmed()
{
    const char* value = std::getenv(kFaultPointVariable);
    if (!value || !*value || !kFaultPointsBuilt)
        return std::nullopt;
    for (std::size_t i = 0; i < kFaultPointNames.size(); ++i)
        if (kFaultPointNames[i] == value)
            return static_cast<FaultPoint>(i);
    throw std::invalid_argument(std::string(kFaultPointVariable) + "=" + value +
                                " names no fault point (see daemon/core/FaultPoints.h)");
}

} // namespace

std::optional<FaultPoint> armedFaultPoint()
{
    static const std::optional<FaultPoint> armed = readArmed();
    return armed;
}

void reachFaultPoint(FaultPoint point)
{
    if (!kFaultPointsBuilt || armedFaultPoint() != point)
        return;
    // Straight to the file descriptor: the logger may buffer, and nothing after this line runs.
    const std::string line = "hangard: fault point " + std::string(faultPointName(point)) + " reached; SIGKILL\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    ::kill(::getpid(), SIGKILL);
}

} // namespace hangar
