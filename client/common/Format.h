// How every Hangar client shows values to people: human sizes ("2.0 GiB") and rates, local times ("2026-11-22
// 11:40:03"), durations ("2h 5m"), user names for uids, text made safe to show, and the conversion of D-Bus values
// to JSON or one line of text. Returns strings and never prints: hangarctl lays them out on a terminal
// (cli/Output.h), a GUI in its widgets.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sdbus-c++/Types.h>
#include <string>
#include <vector>

namespace hangar::client {

// "512.0 MiB", "2.0 GiB", "1.5 TiB": one decimal, binary units, largest unit that keeps the number >= 1.
std::string formatBytes(std::uint64_t bytes);
std::string formatMiB(std::uint64_t mib);
std::string formatGiB(std::uint64_t gib);
// "85.3 MiB/s"; "-" when the rate is unknown (0).
std::string formatRate(std::uint64_t bytesPerSecond);

// "2026-11-22 11:40:03" in the local time zone; "-" for 0 (unknown).
std::string formatLocalTime(std::uint64_t usecSinceEpoch);
// "2026-11-22T11:40:03.123456+01:00": ISO 8601 with the local offset, for JSON output.
std::string formatIsoTime(std::uint64_t usecSinceEpoch);
// "45s", "5m 3s", "2h 5m", "3d 4h": the two most significant units.
std::string formatDuration(std::uint64_t seconds);
// "2026-11-22 11:40:03 (2h 5m ago)": formatLocalTime and how long before nowUsec that was; "-" for 0 (unknown).
std::string formatTimeAgo(std::uint64_t usecSinceEpoch, std::uint64_t nowUsec);
// The time now, in microseconds since the epoch, as the daemon's timestamps are.
std::uint64_t currentTimeUsec();

// The login name for a uid, or the number itself if the user database does not know it.
std::string userName(std::uint32_t uid);

// Replaces control characters with '?' so strings that come from other users are safe to print on a terminal
// (or to put in a one-line label).
std::string sanitize(const std::string& text);

// D-Bus value -> JSON value; numbers stay numbers, arrays of basic types become arrays, a{sv} becomes an object.
// Types this library does not know are rendered as a string naming their signature rather than dropped.
nlohmann::json variantToJson(const sdbus::Variant& value);
// D-Bus value -> one line of text (hangarctl status uses it for properties it does not know by name).
std::string variantToText(const sdbus::Variant& value);

} // namespace hangar::client
