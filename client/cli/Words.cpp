#include "Words.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <unistd.h>

namespace hangar::client {
namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours, one each.
std::size_t editDistance(std::string_view a, std::string_view b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    std::iota(d[0].begin(), d[0].end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

bool isWordChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

} // namespace

std::string suggestWord(std::string_view word, const std::vector<std::string>& candidates)
{
    if (word.empty())
        return {};
    const std::size_t allowed = word.size() <= 3 ? 1 : 2;
    std::string best;
    std::size_t bestDistance = allowed + 1;
    std::vector<std::string> prefixed;
    for (const auto& candidate : candidates) {
        if (candidate.size() > word.size() && candidate.compare(0, word.size(), word) == 0)
            prefixed.push_back(candidate);
        const std::size_t distance = editDistance(word, candidate);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = candidate;
        }
    }
    // One edit away beats a prefix ("stat" is "start" mistyped), a prefix beats two edits ("snap" is "snapshot").
    if (!best.empty() && bestDistance <= 1)
        return best;
    if (prefixed.size() == 1)
        return prefixed.front();
    return best;
}

const std::vector<FlagName> kCreateFlags{
    {"vcpus", "--cpus", ""},        {"memory_mib", "--memory", "MiB"},
    {"disk_gib", "--disk", "GiB"},  {"description", "--description", ""},
    {"kernel", "--kernel", ""},     {"initrd", "--initrd", ""},
    {"cmdline", "--cmdline", ""},   {"image", "--image", ""},
    {"hostname", "--hostname", ""}, {"packages", "--package", ""},
    {"runcmd", "--runcmd", ""},     {"ttl_sec", "--ttl", "seconds"},
};
const std::vector<FlagName> kQuotaSetFlags{
    {"max_vms", "--vms", ""},          {"max_running", "--running", ""},
    {"max_vcpus", "--cpus", ""},       {"max_memory_mib", "--memory", "MiB"},
    {"max_disk_gib", "--disk", "GiB"}, {"unset", "--unset", ""},
};
const std::vector<FlagName> kStopFlags{{"timeout_sec", "--timeout", "seconds"}};
const std::vector<FlagName> kSetFlags{
    {"vcpus", "--cpus", ""}, {"memory_mib", "--memory", "MiB"}, {"disk_gib", "--disk", "GiB"}};
const std::vector<FlagName> kEventsFlags{
    {"limit", "--limit", ""}, {"since", "--since", ""}, {"severity", "--severity", ""}};

std::string withFlagNames(const std::string& message, const std::vector<FlagName>& flags)
{
    std::string out;
    std::size_t i = 0;
    while (i < message.size()) {
        if (!isWordChar(message[i])) {
            out += message[i++];
            continue;
        }
        std::size_t end = i;
        while (end < message.size() && isWordChar(message[end]))
            ++end;
        // A trailing '.' ends a sentence, not a key.
        std::size_t wordEnd = end;
        while (wordEnd > i && message[wordEnd - 1] == '.')
            --wordEnd;
        const std::string_view word(message.data() + i, wordEnd - i);
        // A key inside a path ("users[1].ssh_authorized_keys[0]: ...") names a field of the request, not an option.
        const bool inPath = (wordEnd < message.size() && message[wordEnd] == '[') ||
                            (i > 0 && (message[i - 1] == ']' || message[i - 1] == '.'));
        auto flag = inPath ? flags.end()
                           : std::find_if(flags.begin(), flags.end(), [&](const FlagName& f) { return f.key == word; });
        if (flag == flags.end()) {
            out.append(word);
        } else {
            out.append(flag->flag);
            if (!flag->unit.empty())
                out.append(" (").append(flag->unit).append(")");
        }
        out.append(message, wordEnd, end - wordEnd);
        i = end;
    }
    return out;
}

bool colourWanted(int fd)
{
    const char* noColour = std::getenv("NO_COLOR");
    if (noColour != nullptr && *noColour != '\0')
        return false;
    return isatty(fd) != 0;
}

std::string colourState(const std::string& state, bool colour)
{
    if (!colour)
        return state;
    const char* code = nullptr;
    if (state == "running")
        code = "32";
    else if (state == "crashed" || state == "unavailable")
        code = "31";
    else if (state == "paused" || state == "suspended" || state == "shutting-down" || state == "creating" ||
             state == "deleting")
        code = "33";
    if (code == nullptr)
        return state;
    return std::string("\033[") + code + "m" + state + "\033[0m";
}

} // namespace hangar::client
