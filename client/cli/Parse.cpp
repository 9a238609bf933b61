#include "Parse.h"

#include "ExitCode.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <pwd.h>
#include <regex>
#include <unistd.h>
#include <vector>

namespace hangar::client {
namespace {

std::optional<std::uint64_t> checkedMul(std::uint64_t a, std::uint64_t b)
{
    std::uint64_t result = 0;
    if (__builtin_mul_overflow(a, b, &result))
        return std::nullopt;
    return result;
}

std::optional<std::uint64_t> checkedAdd(std::uint64_t a, std::uint64_t b)
{
    std::uint64_t result = 0;
    if (__builtin_add_overflow(a, b, &result))
        return std::nullopt;
    return result;
}

std::optional<std::uint64_t> pow1024(int exponent)
{
    std::uint64_t value = 1;
    for (int i = 0; i < exponent; ++i) {
        auto next = checkedMul(value, 1024);
        if (!next)
            return std::nullopt;
        value = *next;
    }
    return value;
}

int unitPower(char unit)
{
    switch (std::toupper(static_cast<unsigned char>(unit))) {
    case 'K':
        return 1;
    case 'M':
        return 2;
    case 'G':
        return 3;
    case 'T':
        return 4;
    case 'P':
        return 5;
    default:
        return 0;
    }
}

struct SizeKind
{
    const char* what;     // "memory", "disk"
    int defaultPower;     // unit of a plain number, as a power of 1024 bytes
    int targetPower;      // unit sent to the daemon
    const char* unitName; // name of the target unit, for messages
    const char* examples;
};

// Exact decimal arithmetic rather than floating point, so "1.5G" is exactly 1536 MiB and "1.3M" is refused instead
// of being silently rounded.
std::uint64_t parseSize(const std::string& text, const SizeKind& kind)
{
    static const std::regex pattern(R"(^\s*([0-9]+)(?:\.([0-9]{1,9}))?\s*(?:([kKmMgGtTpP])(?:i?[bB])?|([bB]))?\s*$)");
    const std::string usage =
        std::string("expected a number with an optional unit K, M, G, T (powers of 1024), e.g. ") + kind.examples +
        "; a plain number means " + kind.unitName;
    std::smatch match;
    if (!std::regex_match(text, match, pattern))
        throw UsageError("invalid " + std::string(kind.what) + " size '" + text + "': " + usage);

    const std::string whole = match[1].str();
    const std::string fraction = match[2].str();
    int power = kind.defaultPower;
    if (match[3].matched)
        power = unitPower(match[3].str()[0]);
    else if (match[4].matched)
        power = 0;

    const std::string tooLarge = std::string(kind.what) + " size '" + text + "' is too large";
    std::uint64_t numerator = 0;
    for (char digit : whole + fraction) {
        auto next = checkedMul(numerator, 10);
        next = next ? checkedAdd(*next, static_cast<std::uint64_t>(digit - '0')) : std::nullopt;
        if (!next)
            throw UsageError(tooLarge);
        numerator = *next;
    }
    std::uint64_t denominator = 1;
    for (std::size_t i = 0; i < fraction.size(); ++i)
        denominator *= 10;

    if (power >= kind.targetPower) {
        auto factor = pow1024(power - kind.targetPower);
        auto scaled = factor ? checkedMul(numerator, *factor) : std::nullopt;
        if (!scaled)
            throw UsageError(tooLarge);
        numerator = *scaled;
    } else {
        denominator *= *pow1024(kind.targetPower - power);
    }
    if (numerator % denominator != 0)
        throw UsageError(std::string(kind.what) + " size '" + text + "' is not a whole number of " + kind.unitName);
    std::uint64_t value = numerator / denominator;
    if (value == 0)
        throw UsageError(std::string(kind.what) + " size must be greater than zero, got '" + text + "'");
    return value;
}

std::uint64_t toUsec(std::chrono::system_clock::time_point point)
{
    auto usec = std::chrono::duration_cast<std::chrono::microseconds>(point.time_since_epoch()).count();
    return usec < 0 ? 0 : static_cast<std::uint64_t>(usec);
}

std::optional<std::uint64_t> parseEpoch(const std::string& text)
{
    static const std::regex pattern(R"(^@([0-9]{1,12})(?:\.([0-9]{1,6}))?$)");
    std::smatch match;
    if (!std::regex_match(text, match, pattern))
        return std::nullopt;
    std::uint64_t usec = std::stoull(match[1].str()) * 1000000;
    if (match[2].matched) {
        std::string fraction = match[2].str();
        fraction.resize(6, '0');
        usec += std::stoull(fraction);
    }
    return usec;
}

// "90s", "10m", "1h30m", "2d", "1w" in seconds; nullopt when text is not such a duration.
std::optional<std::uint64_t> durationSec(const std::string& text, const std::string& option)
{
    static const std::regex whole(R"(^([0-9]+[smhdw])+$)");
    static const std::regex part(R"(([0-9]+)([smhdw]))");
    if (!std::regex_match(text, whole))
        return std::nullopt;
    std::uint64_t seconds = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), part); it != std::sregex_iterator(); ++it) {
        const std::string digits = (*it)[1].str();
        if (digits.size() > 9)
            throw UsageError(std::string(option).append(" '").append(text).append("' is too long"));
        std::uint64_t count = std::stoull(digits);
        switch ((*it)[2].str()[0]) {
        case 's':
            seconds += count;
            break;
        case 'm':
            seconds += count * 60;
            break;
        case 'h':
            seconds += count * 3600;
            break;
        case 'd':
            seconds += count * 86400;
            break;
        default: // 'w'
            seconds += count * 7 * 86400;
            break;
        }
    }
    return seconds;
}

std::optional<std::uint64_t> parseAgo(const std::string& text, std::chrono::system_clock::time_point now)
{
    const auto seconds = durationSec(text, "--since");
    if (!seconds)
        return std::nullopt;
    std::uint64_t nowUsec = toUsec(now);
    std::uint64_t back = *seconds * 1000000;
    return back >= nowUsec ? 0 : nowUsec - back;
}

std::optional<std::uint64_t> parseIso(const std::string& text)
{
    static const std::regex pattern(R"(^([0-9]{4})-([0-9]{2})-([0-9]{2}))"
                                    R"((?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?)"
                                    R"((Z|[+-][0-9]{2}:?[0-9]{2})?$)");
    std::smatch match;
    if (!std::regex_match(text, match, pattern))
        return std::nullopt;
    auto field = [&match](int index) { return match[index].matched ? std::stoi(match[index].str()) : 0; };
    std::tm tm{};
    tm.tm_year = field(1) - 1900;
    tm.tm_mon = field(2) - 1;
    tm.tm_mday = field(3);
    tm.tm_hour = field(4);
    tm.tm_min = field(5);
    tm.tm_sec = field(6);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        throw UsageError("--since '" + text + "' is not a valid date and time");

    std::int64_t seconds = 0;
    if (match[8].matched) {
        seconds = timegm(&tm);
        const std::string zone = match[8].str();
        if (zone != "Z") {
            std::string digits = zone.substr(1);
            digits.erase(std::remove(digits.begin(), digits.end(), ':'), digits.end());
            std::int64_t offset = std::stoi(digits.substr(0, 2)) * 3600 + std::stoi(digits.substr(2, 2)) * 60;
            seconds -= zone[0] == '+' ? offset : -offset;
        }
    } else {
        tm.tm_isdst = -1; // let the C library decide whether daylight saving time applies at that date
        seconds = std::mktime(&tm);
    }
    if (seconds < 0)
        return 0;
    std::uint64_t usec = static_cast<std::uint64_t>(seconds) * 1000000;
    if (match[7].matched) {
        std::string fraction = match[7].str();
        fraction.resize(6, '0');
        usec += std::stoull(fraction.substr(0, 6));
    }
    return usec;
}

} // namespace

std::uint64_t parseMemoryMiB(const std::string& text)
{
    return parseSize(text, SizeKind{"memory", 2, 2, "MiB", "512M, 2G or 2GiB"});
}

std::uint64_t parseDiskGiB(const std::string& text)
{
    return parseSize(text, SizeKind{"disk", 3, 3, "GiB", "20G or 1T"});
}

std::uint32_t parseUser(const std::string& text)
{
    // All digits is a uid, as for chown and systemd; (uid_t)-1 is no one's.
    if (!text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos) {
        const std::uint64_t uid = std::stoull(text);
        if (uid < UINT32_MAX)
            return static_cast<std::uint32_t>(uid);
        throw UsageError("invalid uid '" + text + "': uids go up to " + std::to_string(UINT32_MAX - 1));
    }
    if (text.empty())
        throw UsageError("invalid user '': expected a user name or a uid");
    long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    if (getpwnam_r(text.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        throw UsageError("unknown user '" + text + "': give a user name the user database knows, or a uid");
    return static_cast<std::uint32_t>(found->pw_uid);
}

std::uint64_t parseSince(const std::string& text, std::chrono::system_clock::time_point now)
{
    if (auto usec = parseEpoch(text))
        return *usec;
    if (auto usec = parseAgo(text, now))
        return *usec;
    if (auto usec = parseIso(text))
        return *usec;
    throw UsageError("invalid --since '" + text +
                     "': expected a duration back from now (30s, 10m, 1h30m, 2d, 1w), an ISO 8601 date or time "
                     "(2026-11-22, 2026-11-22T11:40:03, 2026-11-22 11:40:03+01:00) or @seconds-since-epoch");
}

std::uint64_t parseDuration(const std::string& text, const std::string& option)
{
    const auto seconds = durationSec(text, option);
    if (!seconds || *seconds == 0)
        throw UsageError(option + " '" + text + "': expected a duration such as 30s, 15m, 2h, 1d, 1w or 1h30m");
    return *seconds;
}

} // namespace hangar::client
