#include "core/Uuid.h"

#include "core/Error.h"

#include <array>
#include <cstdint>
#include <fmt/format.h>
#include <sys/random.h>

namespace hangar {

std::string makeUuid()
{
    std::array<std::uint8_t, 16> b{};
    if (getrandom(b.data(), b.size(), 0) != static_cast<ssize_t>(b.size()))
        throw Error(ErrorCode::BackendFailure, "cannot read random bytes for a UUID");
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0FU) | 0x40U); // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3FU) | 0x80U); // RFC 4122 variant
    return fmt::format(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0],
        b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

std::string uuidLabel(const std::string& uuid)
{
    std::string label;
    label.reserve(uuid.size());
    for (char c : uuid)
        if (c != '-')
            label += c;
    return label;
}

} // namespace hangar
