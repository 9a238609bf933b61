// Standard base64 (RFC 4648, with padding), for what travels as base64: guest agent input and output, and the key
// blobs of OpenSSH public keys that core/Provisioning checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hangar {

std::string base64Encode(std::string_view bytes);
// nullopt unless text is well-formed padded base64 (no whitespace).
std::optional<std::string> base64Decode(std::string_view text);

} // namespace hangar
