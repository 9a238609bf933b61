// Presentation for hangarctl: aligned plain-text tables, human sizes ("2.0 GiB"), local times ("2026-11-22
// 11:40:03"), user names for uids, and JSON conversion of D-Bus values. Everything a user sees on stdout goes
// through here, so human output stays consistent across commands and cannot be used to smuggle terminal escape
// sequences from another user's VM description onto the screen.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <sdbus-c++/Types.h>
#include <string>
#include <utility>
#include <vector>

namespace hangar::client {

// "512.0 MiB", "2.0 GiB", "1.5 TiB": one decimal, binary units, largest unit that keeps the number >= 1.
std::string formatBytes(std::uint64_t bytes);
std::string formatMiB(std::uint64_t mib);
std::string formatGiB(std::uint64_t gib);

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

// Replaces control characters with '?' so strings that come from other users are safe to print on a terminal.
std::string sanitize(const std::string& text);

// A plain-text table: columns separated by two spaces, padded to the widest cell; the last column is not padded so
// lines carry no trailing blanks. Cells are sanitized.
class Table
{
public:
    explicit Table(std::vector<std::string> headers);
    void addRow(std::vector<std::string> cells);
    bool empty() const { return m_rows.empty(); }
    // Column widths after all rows so far; used by `events --follow` to keep live lines aligned with the history.
    std::vector<std::size_t> widths() const;
    void print(std::ostream& out) const;
    void print(std::ostream& out, const std::vector<std::size_t>& widths) const;
    static void printRow(std::ostream& out, const std::vector<std::string>& cells,
                         const std::vector<std::size_t>& widths);

private:
    std::vector<std::string> m_headers;
    std::vector<std::vector<std::string>> m_rows;
};

// "Label: value" lines with the values aligned in one column, as `status` and `image show` print them. Sanitized.
void printFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// D-Bus value -> JSON value; numbers stay numbers, arrays of basic types become arrays, a{sv} becomes an object.
// Types hangarctl does not know are rendered as a string naming their signature rather than dropped.
nlohmann::json variantToJson(const sdbus::Variant& value);
// D-Bus value -> one line of text for `status` (used for properties hangarctl does not know by name).
std::string variantToText(const sdbus::Variant& value);

// Writes one JSON document and a newline, then flushes: invalid UTF-8 is replaced rather than aborting the output.
void printJson(std::ostream& out, const nlohmann::json& value, bool pretty);

} // namespace hangar::client
