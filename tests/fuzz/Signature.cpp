// The D-Bus type grammar, the PRNG, and the a{sv} keys documented in dbus/*.xml (Generator.h).
#include "Generator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace hangar::fuzz {

namespace {

constexpr std::string_view kBasicCodes = "ybnqiuxtdsogh";

Type parseOne(std::string_view sig, std::size_t& pos, int depth)
{
    if (pos >= sig.size() || depth > 32)
        throw std::invalid_argument("incomplete signature");
    Type t;
    t.code = sig[pos++];
    if (kBasicCodes.find(t.code) != std::string_view::npos || t.code == 'v')
        return t;
    if (t.code == 'a') {
        t.inner.push_back(parseOne(sig, pos, depth + 1));
        return t;
    }
    const char close = t.code == '(' ? ')' : t.code == '{' ? '}' : 0;
    if (!close)
        throw std::invalid_argument(std::string("bad type code '") + t.code + "'");
    while (pos < sig.size() && sig[pos] != close)
        t.inner.push_back(parseOne(sig, pos, depth + 1));
    if (pos >= sig.size() || t.inner.empty() || (t.code == '{' && t.inner.size() != 2))
        throw std::invalid_argument("bad container in signature");
    ++pos;
    return t;
}

} // namespace

std::string Type::signature() const
{
    switch (code) {
    case 'a':
        return "a" + inner.at(0).signature();
    case '(':
        return "(" + signatureOf(inner) + ")";
    case '{':
        return "{" + signatureOf(inner) + "}";
    default:
        return std::string(1, code);
    }
}

std::vector<Type> parseSignature(std::string_view signature)
{
    std::vector<Type> types;
    std::size_t pos = 0;
    while (pos < signature.size())
        types.push_back(parseOne(signature, pos, 0));
    return types;
}

std::string signatureOf(const std::vector<Type>& types)
{
    std::string s;
    for (const auto& t : types)
        s += t.signature();
    return s;
}

std::uint64_t Rng::next()
{
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::map<std::string, std::vector<Type>> documentedOptionKeys(const std::string& dbusDir)
{
    // "name  T" or "name T," inside the XML comments: a lower-case key (dots allowed) and a type that is one basic
    // code, "as" or "a{sv}", followed by spaces or a comma. Prose rarely matches; a stray match is one more key.
    static const std::regex entry(R"(\b([a-z][a-z0-9_]*(?:\.[a-z_]+)?)\s+(a\{sv\}|as|[ybnqiuxtdsog])(?=,|\s\s|\s*$))");
    std::map<std::string, std::vector<Type>> keys;
    for (const auto& file : std::filesystem::directory_iterator(dbusDir)) {
        if (file.path().extension() != ".xml")
            continue;
        std::ifstream in(file.path());
        std::string line;
        bool inComment = false;
        while (std::getline(in, line)) {
            if (line.find("<!--") != std::string::npos)
                inComment = true;
            if (inComment)
                for (std::sregex_iterator it(line.begin(), line.end(), entry), end; it != end; ++it) {
                    auto& types = keys[(*it)[1]];
                    const Type t = parseSignature((*it)[2].str()).at(0);
                    if (std::none_of(types.begin(), types.end(),
                                     [&](const Type& x) { return x.signature() == t.signature(); }))
                        types.push_back(t);
                }
            if (line.find("-->") != std::string::npos)
                inComment = false;
        }
    }
    return keys;
}

} // namespace hangar::fuzz
