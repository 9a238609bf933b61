#include "common/Format.h"

#include <array>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <map>
#include <mutex>
#include <pwd.h>
#include <sstream>
#include <unistd.h>

namespace hangar::client {
namespace {

bool toLocalTm(std::uint64_t usecSinceEpoch, std::tm& tm)
{
    std::time_t seconds = static_cast<std::time_t>(usecSinceEpoch / 1000000);
    return localtime_r(&seconds, &tm) != nullptr;
}

template <typename T> nlohmann::json arrayToJson(const sdbus::Variant& value)
{
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : value.get<std::vector<T>>())
        array.push_back(item);
    return array;
}

} // namespace

std::string formatBytes(std::uint64_t bytes)
{
    static constexpr std::array<const char*, 7> units{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024)
        return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << value << ' ' << units[unit];
    return out.str();
}

std::string formatMiB(std::uint64_t mib)
{
    if (mib > (UINT64_MAX >> 20))
        return std::to_string(mib) + " MiB";
    return formatBytes(mib << 20);
}

std::string formatGiB(std::uint64_t gib)
{
    if (gib > (UINT64_MAX >> 30))
        return std::to_string(gib) + " GiB";
    return formatBytes(gib << 30);
}

std::string formatRate(std::uint64_t bytesPerSecond)
{
    return bytesPerSecond == 0 ? std::string("-") : formatBytes(bytesPerSecond) + "/s";
}

std::string formatLocalTime(std::uint64_t usecSinceEpoch)
{
    std::tm tm{};
    if (usecSinceEpoch == 0 || !toLocalTm(usecSinceEpoch, tm))
        return "-";
    std::array<char, 32> buffer{};
    std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M:%S", &tm);
    return buffer.data();
}

std::string formatIsoTime(std::uint64_t usecSinceEpoch)
{
    std::tm tm{};
    if (!toLocalTm(usecSinceEpoch, tm))
        return {};
    std::array<char, 32> date{};
    std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    std::array<char, 8> zone{};
    std::strftime(zone.data(), zone.size(), "%z", &tm); // "+0100"; ISO 8601 extended form wants "+01:00"
    std::string offset = zone.data();
    if (offset.size() == 5)
        offset.insert(3, ":");
    std::ostringstream out;
    out << date.data() << '.' << std::setw(6) << std::setfill('0') << usecSinceEpoch % 1000000 << offset;
    return out.str();
}

std::string formatDuration(std::uint64_t seconds)
{
    struct Unit
    {
        std::uint64_t seconds;
        const char* suffix;
    };
    static constexpr std::array<Unit, 4> units{{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}};
    if (seconds == 0)
        return "0s";
    std::string text;
    int shown = 0;
    for (const auto& unit : units) {
        if (shown == 2)
            break;
        std::uint64_t count = seconds / unit.seconds;
        if (count == 0 && shown == 0)
            continue;
        seconds %= unit.seconds;
        if (count != 0)
            text += (text.empty() ? "" : " ") + std::to_string(count) + unit.suffix;
        ++shown;
    }
    return text;
}

std::string formatTimeAgo(std::uint64_t usecSinceEpoch, std::uint64_t nowUsec)
{
    std::string text = formatLocalTime(usecSinceEpoch);
    if (usecSinceEpoch != 0 && nowUsec >= usecSinceEpoch)
        text += " (" + formatDuration((nowUsec - usecSinceEpoch) / 1000000) + " ago)";
    return text;
}

std::uint64_t currentTimeUsec()
{
    const auto usec =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
    return usec.count() < 0 ? 0 : static_cast<std::uint64_t>(usec.count());
}

std::string userName(std::uint32_t uid)
{
    // list shows the same few owners on many rows; the cache saves an NSS lookup (maybe a network one) per row.
    static std::mutex mutex;
    static std::map<std::uint32_t, std::string> cache;
    std::lock_guard lock(mutex);
    if (auto it = cache.find(uid); it != cache.end())
        return it->second;

    long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    std::string name = std::to_string(uid);
    if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_name)
        name = found->pw_name;
    cache.emplace(uid, name);
    return name;
}

std::string sanitize(const std::string& text)
{
    std::string clean = text;
    for (char& c : clean) {
        unsigned char byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F)
            c = '?';
    }
    return clean;
}

nlohmann::json variantToJson(const sdbus::Variant& value)
{
    const std::string type = value.peekValueType();
    if (type == "b")
        return value.get<bool>();
    if (type == "y")
        return value.get<std::uint8_t>();
    if (type == "n")
        return value.get<std::int16_t>();
    if (type == "q")
        return value.get<std::uint16_t>();
    if (type == "i")
        return value.get<std::int32_t>();
    if (type == "u")
        return value.get<std::uint32_t>();
    if (type == "x")
        return value.get<std::int64_t>();
    if (type == "t")
        return value.get<std::uint64_t>();
    if (type == "d")
        return value.get<double>();
    if (type == "s")
        return value.get<std::string>();
    if (type == "o")
        return std::string(value.get<sdbus::ObjectPath>());
    if (type == "g")
        return std::string(value.get<sdbus::Signature>());
    if (type == "as")
        return arrayToJson<std::string>(value);
    if (type == "ao") {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& path : value.get<std::vector<sdbus::ObjectPath>>())
            array.push_back(std::string(path));
        return array;
    }
    if (type == "au")
        return arrayToJson<std::uint32_t>(value);
    if (type == "at")
        return arrayToJson<std::uint64_t>(value);
    if (type == "a{sv}") {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& [key, item] : value.get<std::map<std::string, sdbus::Variant>>())
            object[key] = variantToJson(item);
        return object;
    }
    return "<value of D-Bus type " + type + ">";
}

std::string variantToText(const sdbus::Variant& value)
{
    nlohmann::json json = variantToJson(value);
    if (json.is_string())
        return json.get<std::string>();
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hangar::client
