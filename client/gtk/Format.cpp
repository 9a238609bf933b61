#include "Format.h"

#include <cstdio>
#include <pwd.h>

namespace hangar::gtk {

namespace {
std::string scaled(double value, const char* const* units, int count)
{
    int unit = 0;
    while (value >= 1024 && unit + 1 < count) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    if (value == static_cast<double>(static_cast<std::uint64_t>(value)))
        std::snprintf(text, sizeof text, "%llu %s", static_cast<unsigned long long>(value), units[unit]);
    else
        std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}
} // namespace

std::string formatMiB(std::uint64_t mib)
{
    static const char* const units[] = {"MiB", "GiB", "TiB"};
    return scaled(static_cast<double>(mib), units, 3);
}

std::string formatBytes(std::uint64_t bytes)
{
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    return scaled(static_cast<double>(bytes), units, 5);
}

std::string userName(std::uint32_t uid)
{
    // getpwuid_r: the GUI may look users up while another part of the process does too.
    char buffer[4096];
    passwd entry{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found)
        return found->pw_name;
    return std::to_string(uid);
}

std::string stateText(const std::string& state)
{
    if (state == "running")
        return "▶ running";
    if (state == "paused" || state == "suspended")
        return "❚❚ " + state;
    if (state == "stopped")
        return "■ stopped";
    if (state == "crashed" || state == "unavailable")
        return "✖ " + state;
    return "… " + state;
}

std::string stateColour(const std::string& state)
{
    if (state == "running")
        return "#26a269";
    if (state == "crashed" || state == "unavailable")
        return "#c01c28";
    if (state == "stopped")
        return "#5e5c64";
    return "#c64600";
}

} // namespace hangar::gtk
