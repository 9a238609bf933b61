// Parsers for what users type on hangarctl's command line that CLI11 cannot check by itself: sizes with units
// ("2G", "512MiB"), points in time ("10m", "2026-11-22T11:40", "@1763808000") and users ("alice", "1001"). They throw
// UsageError with a message that shows the accepted forms, so a typo is refused before anything is sent to the daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hangar::client {

// Memory for `create --memory`: "512M", "2G", "2GiB", "1.5G"; a plain number is MiB. Units are powers of 1024.
std::uint64_t parseMemoryMiB(const std::string& text);

// Disk for `create --disk`: "20G", "1T", "1.5T"; a plain number is GiB. Units are powers of 1024.
std::uint64_t parseDiskGiB(const std::string& text);

// A duration for `create --ttl` and `expire`: "30s", "15m", "2h", "1d", "1w", "1h30m", in seconds (at least 1).
// option names the option in the UsageError.
std::uint64_t parseDuration(const std::string& text, const std::string& option);

// A user for `quota`: a uid ("1001"), or a name the user database knows ("alice").
std::uint32_t parseUser(const std::string& text);

// `events --since`: a duration back from now ("90s", "10m", "1h30m", "2d", "1w"), an ISO 8601 date or date-time
// (local time unless it ends in Z or an offset), or "@" + seconds since the epoch. Returns microseconds since the
// epoch, as GetEvents wants them.
std::uint64_t parseSince(const std::string& text, std::chrono::system_clock::time_point now);

} // namespace hangar::client
