#include "FuzzSupport.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

namespace hangar::fuzz {
namespace {

int hexDigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Splits at unescaped `separator` (none: one part), then resolves the escapes of each part.
std::vector<std::string> unescapeSplit(std::string_view text, char separator)
{
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == separator) {
            parts.emplace_back();
            continue;
        }
        if (c != '\\' || i + 1 == text.size()) {
            parts.back() += c;
            continue;
        }
        const char e = text[++i];
        if (e == 'n') {
            parts.back() += '\n';
        } else if (e == 't') {
            parts.back() += '\t';
        } else if (e == 'x' && i + 2 < text.size() && hexDigit(text[i + 1]) >= 0 && hexDigit(text[i + 2]) >= 0) {
            parts.back() += static_cast<char>(hexDigit(text[i + 1]) * 16 + hexDigit(text[i + 2]));
            i += 2;
        } else {
            parts.back() += e; // \\, \, and anything else: the character itself
        }
    }
    return parts;
}

template <typename T> std::optional<T> number(const std::string& text)
{
    if (text.empty())
        return std::nullopt;
    errno = 0;
    char* end = nullptr;
    T value{};
    if constexpr (std::is_same_v<T, double>) {
        value = std::strtod(text.c_str(), &end);
    } else if constexpr (std::is_signed_v<T>) {
        value = static_cast<T>(std::strtoll(text.c_str(), &end, 0));
    } else {
        value = static_cast<T>(std::strtoull(text.c_str(), &end, 0));
    }
    if (end != text.c_str() + text.size())
        return std::nullopt;
    return value;
}

// The value as a Variant of type; nullopt when the value does not parse or D-Bus cannot carry it.
std::optional<sdbus::Variant> variantOf(const std::string& type, std::string_view raw)
{
    try {
        if (type == "as")
            return sdbus::Variant(unescapeSplit(raw, ','));
        // A NUL ends the value: D-Bus strings cannot carry one.
        const std::string value = unescapeSplit(raw, '\0').front();
        if (type == "s")
            return sdbus::Variant(value);
        if (type == "o")
            return sdbus::Variant(sdbus::ObjectPath(value));
        if (type == "b")
            return sdbus::Variant(value == "1" || value == "true");
        if (type == "y")
            if (auto v = number<std::uint8_t>(value))
                return sdbus::Variant(*v);
        if (type == "u")
            if (auto v = number<std::uint32_t>(value))
                return sdbus::Variant(*v);
        if (type == "t")
            if (auto v = number<std::uint64_t>(value))
                return sdbus::Variant(*v);
        if (type == "i")
            if (auto v = number<std::int32_t>(value))
                return sdbus::Variant(*v);
        if (type == "x")
            if (auto v = number<std::int64_t>(value))
                return sdbus::Variant(*v);
        if (type == "d")
            if (auto v = number<double>(value))
                return sdbus::Variant(*v);
    } catch (const sdbus::Error&) {
        // Not UTF-8, a bad object path: the bus refuses the message before hangard sees it.
    }
    return std::nullopt;
}

// Whether D-Bus can carry text as a string (UTF-8, no NUL): keys that are not cannot arrive either.
bool carriable(const std::string& text)
{
    if (text.find('\0') != std::string::npos)
        return false; // sd-bus would read the text only up to it
    try {
        sdbus::Variant probe(text);
        return true;
    } catch (const sdbus::Error&) {
        return false;
    }
}

} // namespace

bool verbose()
{
    static const bool on = std::getenv("HANGAR_FUZZ_VERBOSE") != nullptr;
    return on;
}

bus::Options parseDict(std::string_view text)
{
    bus::Options dict;
    // key -> index -> sub-dictionary, turned into aa{sv} values at the end (in index order, gaps closed).
    std::map<std::string, std::map<std::size_t, bus::Options>> nested;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        const auto colon = line.find(':');
        const auto equals = line.find('=', colon == std::string_view::npos ? 0 : colon);
        if (colon == std::string_view::npos || equals == std::string_view::npos)
            continue;
        const std::string key(line.substr(0, colon));
        const std::string type(line.substr(colon + 1, equals - colon - 1));
        auto value = variantOf(type, line.substr(equals + 1));
        if (!value || !carriable(key))
            continue;
        const auto open = key.find('[');
        const auto close = key.find("].", open == std::string::npos ? 0 : open);
        if (open != std::string::npos && close != std::string::npos) {
            const auto index = number<std::size_t>(key.substr(open + 1, close - open - 1));
            if (!index || *index > 64)
                continue;
            nested[key.substr(0, open)][*index][key.substr(close + 2)] = std::move(*value);
        } else {
            dict[key] = std::move(*value);
        }
    }
    for (auto& [key, entries] : nested) {
        std::vector<bus::Options> list;
        for (auto& [index, entry] : entries)
            list.push_back(std::move(entry));
        dict[key] = sdbus::Variant(list);
    }
    return dict;
}

} // namespace hangar::fuzz
