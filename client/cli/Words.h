// What hangarctl says in the user's own words, without a bus: the nearest command to a mistyped one ("lsit" ->
// "list"), the command-line flag for an API key in a daemon message ("disk_gib must be ..." -> "--disk ..."), and
// whether output may be coloured (a terminal, and no NO_COLOR).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hangar::client {

// The candidate closest to word by edit distance (a swap of two neighbours counts once), when it is close enough to
// be what was meant: one edit away; else the one candidate word is a prefix of; else at most 2 edits away (1 for
// words of up to 3 letters). Empty when none is.
std::string suggestWord(std::string_view word, const std::vector<std::string>& candidates);

// An a{sv} key of the API and the command-line option that sets it; unit says in what the daemon counts ("MiB").
struct FlagName
{
    std::string_view key;
    std::string_view flag;
    std::string_view unit;
};

// The option tables of the commands whose options become a{sv} keys (create, quota set, stop, events).
extern const std::vector<FlagName> kCreateFlags;
extern const std::vector<FlagName> kQuotaSetFlags;
extern const std::vector<FlagName> kStopFlags;
extern const std::vector<FlagName> kSetFlags;
extern const std::vector<FlagName> kEventsFlags;

// message with every whole-word occurrence of a key replaced by its flag, and the unit when it has one:
// "disk_gib must be 1..65536, got 70000" -> "--disk must be 1..65536 (GiB), got 70000".
std::string withFlagNames(const std::string& message, const std::vector<FlagName>& flags);

// Colour only for a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
bool colourWanted(int fd);
// text wrapped in the SGR code for a VM state's colour (running green, paused/transitions yellow, crashed red,
// stopped plain), or text itself when colour is off.
std::string colourState(const std::string& state, bool colour);

} // namespace hangar::client
