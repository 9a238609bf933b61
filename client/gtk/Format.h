// Small text helpers of the GUI (sizes, owners, states). Kept here rather than shared with hangarctl until the
// shared client library exists; the lead may fold them into it.
#pragma once

#include <cstdint>
#include <string>

namespace hangar::gtk {

// "512 MiB", "2 GiB", "1.5 GiB"
std::string formatMiB(std::uint64_t mib);
// "10 GiB", "700 MiB", "4.2 KiB"
std::string formatBytes(std::uint64_t bytes);
// The user name of a uid, or the number when it has none.
std::string userName(std::uint32_t uid);
// What a State value looks like in the list: a symbol and the word, e.g. "● running".
std::string stateText(const std::string& state);
// A colour for the state: green running, amber paused or in transition, red crashed, grey stopped.
std::string stateColour(const std::string& state);

} // namespace hangar::gtk
