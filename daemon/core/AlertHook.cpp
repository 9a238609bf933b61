#include "core/AlertHook.h"

#include <stdexcept>

namespace hangar {

std::vector<std::string> splitCommandLine(std::string_view line)
{
    std::vector<std::string> words;
    std::string word;
    bool inWord = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == ' ' || c == '\t') {
            if (inWord)
                words.push_back(std::move(word));
            word.clear();
            inWord = false;
            continue;
        }
        inWord = true;
        if (c == '\\') {
            if (++i == line.size())
                throw std::invalid_argument("alert_command ends with a lone backslash");
            word += line[i];
        } else if (c == '\'') {
            const std::size_t end = line.find('\'', i + 1);
            if (end == std::string_view::npos)
                throw std::invalid_argument("alert_command has a ' without its closing '");
            word += line.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '"') {
            for (++i;; ++i) {
                if (i == line.size())
                    throw std::invalid_argument("alert_command has a \" without its closing \"");
                if (line[i] == '"')
                    break;
                if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\'))
                    ++i;
                word += line[i];
            }
        } else {
            word += c;
        }
    }
    if (inWord)
        words.push_back(std::move(word));
    if (!words.empty() && (words.front().empty() || words.front().front() != '/'))
        throw std::invalid_argument("alert_command must start with an absolute path to the program (no PATH lookup), "
                                    "got '" +
                                    words.front() + "'");
    return words;
}

std::vector<std::string> alertEnvironment(const AlertChange& change)
{
    const Alert& a = change.alert;
    const Severity severity = change.raised ? a.severity : Severity::Info;
    return {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8",
        "HANGAR_ALERT_ID=" + a.id,
        "HANGAR_ALERT_SEVERITY=" + std::string(severityName(severity)),
        std::string("HANGAR_ALERT_STATE=") + (change.raised ? "raised" : "cleared"),
        "HANGAR_ALERT_SUBJECT=" + a.subject,
        "HANGAR_ALERT_MESSAGE=" + change.message,
        "HANGAR_ALERT_KIND=" + a.kind,
        "HANGAR_ALERT_HOST=" + a.host,
        "HANGAR_ALERT_VM_UUID=" + a.vmUuid,
        "HANGAR_ALERT_RAISED_AT_USEC=" + std::to_string(a.raisedAtUsec),
    };
}

} // namespace hangar
