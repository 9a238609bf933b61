#include "Generator.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace hangar::fuzz {

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kMessageStringBudget = 6 * kMiB; // dbus-daemon's limit is far above; this keeps calls fast
constexpr std::size_t kMaxFdsPerMessage = 32;

std::string abbreviated(const std::string& s)
{
    std::string out;
    const std::size_t shown = std::min<std::size_t>(s.size(), 80);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += s[i];
        }
    }
    if (s.size() > shown)
        out += "...<" + std::to_string(s.size()) + " bytes>";
    return "'" + out + "'";
}

} // namespace

// ---- values ------------------------------------------------------------------------------------------------------

template <typename T> T Generator::integer()
{
    using L = std::numeric_limits<T>;
    // Edges, the sizes and limits the API documents, and uids.
    static const std::vector<std::uint64_t> documented{
        64,      128,   256,   255,        257,        512,        1024,      1025,    4096,
        10000,   10001, 65535, 65536,      65537,      86400,      86401,     1048576, 4194304,
        4194305, 65534, 1000,  1ULL << 31, 1ULL << 32, 1ULL << 53, 1ULL << 63};
    switch (m_rng.below(9)) {
    case 0:
        return 0;
    case 1:
        return static_cast<T>(1);
    case 2:
        return static_cast<T>(-1);
    case 3:
        return L::max();
    case 4:
        return L::min();
    case 5:
        return static_cast<T>(L::max() - 1);
    case 6:
        return static_cast<T>(m_pools.ownUid);
    case 7:
        return static_cast<T>(m_rng.pick(documented));
    default:
        return static_cast<T>(m_rng.next());
    }
}

double Generator::real()
{
    static const std::vector<double> edges{0.0,
                                           -0.0,
                                           1.0,
                                           -1.0,
                                           std::numeric_limits<double>::quiet_NaN(),
                                           std::numeric_limits<double>::infinity(),
                                           -std::numeric_limits<double>::infinity(),
                                           std::numeric_limits<double>::max(),
                                           std::numeric_limits<double>::lowest(),
                                           std::numeric_limits<double>::min(),
                                           std::numeric_limits<double>::denorm_min(),
                                           1e19};
    if (m_rng.chance(80))
        return m_rng.pick(edges);
    double d;
    const std::uint64_t bits = m_rng.next();
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

std::string Generator::string()
{
    static const std::vector<std::string> nasty{"",
                                                "a",
                                                "web",
                                                "-leading-dash",
                                                "UPPER",
                                                "has space",
                                                "a/b",
                                                "../../etc/passwd",
                                                "/abs/path",
                                                "name\x01",
                                                "tab\tand\nnewline",
                                                "\x7f",
                                                "\u00fcn\u00efc\u00f6d\u00e9",
                                                "\u202eevil",
                                                "\U0001F4A9",
                                                "\u200b",
                                                "a.b",
                                                "%s%n%x",
                                                "'; DROP TABLE vms; --",
                                                "</name><devices><disk/></devices>",
                                                "&amp;&lt;",
                                                "${HOME}",
                                                "*",
                                                "?",
                                                ".",
                                                "..",
                                                "0",
                                                "-1",
                                                "18446744073709551616",
                                                "true",
                                                "qcow2",
                                                "raw",
                                                "iso",
                                                "running",
                                                "stopped",
                                                "org.hangar.Hangar1.VM",
                                                "auth.no_user_interaction",
                                                "test:///default",
                                                "qemu:///system"};
    if (m_bytes < kMessageStringBudget && m_rng.chance(3)) {
        // Huge: 1 MiB, or just past the 1024-character description limit, or past a name's 63.
        const std::size_t sizes[] = {kMiB, 1025, 64, 4096};
        const std::size_t n = sizes[m_rng.below(4)];
        m_bytes += n;
        return std::string(n, static_cast<char>('a' + m_rng.below(26)));
    }
    switch (m_rng.below(6)) {
    case 0:
    case 1:
        return m_rng.pick(nasty);
    case 2:
        if (!m_pools.names.empty())
            return m_rng.pick(m_pools.names);
        return "web";
    case 3:
        if (!m_pools.members.empty() && m_rng.chance(50))
            return m_rng.pick(m_pools.members);
        if (!m_pools.interfaces.empty())
            return m_rng.pick(m_pools.interfaces);
        return "org.hangar.Hangar1.Nope";
    case 4: {
        // A valid-looking fresh name (reaches creation).
        std::string s = "fz";
        for (int i = 0, n = 2 + static_cast<int>(m_rng.below(8)); i < n; ++i)
            s += "abcdefghijklmnopqrstuvwxyz0123456789-"[m_rng.below(37)];
        return s;
    }
    default: {
        // Random printable ASCII with a control character now and then.
        std::string s;
        for (int i = 0, n = static_cast<int>(m_rng.below(40)); i < n; ++i)
            s += static_cast<char>(m_rng.chance(10) ? 1 + m_rng.below(31) : 32 + m_rng.below(95));
        return s;
    }
    }
}

std::string Generator::objectPath()
{
    static const std::vector<std::string> nowhere{"/",
                                                  "/org",
                                                  "/org/hangar/Hangar1/vm",
                                                  "/org/hangar/Hangar1/vm/nope",
                                                  "/org/hangar/Hangar1/vm/_00000000000000000000000000000000",
                                                  "/org/hangar/Hangar1/image/nope",
                                                  "/org/hangar/Hangar1/job/0",
                                                  "/org/hangar/Hangar1/job/18446744073709551615",
                                                  "/org/hangar/Hangar1/host/local",
                                                  "/org/freedesktop/DBus"};
    if (!m_pools.objectPaths.empty() && m_rng.chance(50))
        return m_rng.pick(m_pools.objectPaths);
    return m_rng.pick(nowhere);
}

std::string Generator::signature()
{
    static const std::vector<std::string> sigs{"", "s", "a{sv}", "v", "(ii)", "aaaaaaaaaaaaaaaay", "a(sa{sv}ao)", "h"};
    return m_rng.pick(sigs);
}

Type Generator::randomType(int depth)
{
    static const std::string basics = "ybnqiuxtdsogh";
    const std::uint64_t r = m_rng.below(depth > 0 ? 20 : 14);
    if (r < 13)
        return Type{basics[r], {}};
    if (r == 13)
        return Type{'v', {}};
    Type t;
    switch (r % 3) {
    case 0:
        t.code = 'a';
        t.inner.push_back(randomType(depth - 1));
        break;
    case 1:
        t.code = '(';
        for (int i = 0, n = 1 + static_cast<int>(m_rng.below(3)); i < n; ++i)
            t.inner.push_back(randomType(depth - 1));
        break;
    default: // a{?v}-like: an array of dict entries with a basic key
        t.code = 'a';
        t.inner.push_back(Type{'{', {Type{basics[m_rng.below(12)], {}}, randomType(depth - 1)}});
    }
    return t;
}

void Generator::appendBasic(sdbus::Message& message, char code, std::string& text)
{
    switch (code) {
    case 'y': {
        const auto v = integer<std::uint8_t>();
        message << v;
        text += "byte " + std::to_string(v);
        return;
    }
    case 'b': {
        const bool v = m_rng.chance(50);
        message << v;
        text += v ? "true" : "false";
        return;
    }
    case 'n': {
        const auto v = integer<std::int16_t>();
        message << v;
        text += "int16 " + std::to_string(v);
        return;
    }
    case 'q': {
        const auto v = integer<std::uint16_t>();
        message << v;
        text += "uint16 " + std::to_string(v);
        return;
    }
    case 'i': {
        const auto v = integer<std::int32_t>();
        message << v;
        text += "int32 " + std::to_string(v);
        return;
    }
    case 'u': {
        const auto v = integer<std::uint32_t>();
        message << v;
        text += "uint32 " + std::to_string(v);
        return;
    }
    case 'x': {
        const auto v = integer<std::int64_t>();
        message << v;
        text += "int64 " + std::to_string(v);
        return;
    }
    case 't': {
        const auto v = integer<std::uint64_t>();
        message << v;
        text += "uint64 " + std::to_string(v);
        return;
    }
    case 'd': {
        const double v = real();
        message << v;
        std::ostringstream os;
        os << v;
        text += "double " + os.str();
        return;
    }
    case 's': {
        const std::string v = string();
        message << v;
        text += abbreviated(v);
        return;
    }
    case 'o': {
        const std::string v = objectPath();
        message << sdbus::ObjectPath(v);
        text += "objectpath '" + v + "'";
        return;
    }
    case 'g': {
        const std::string v = signature();
        message << sdbus::Signature(v);
        text += "signature '" + v + "'";
        return;
    }
    case 'h': {
        if (++m_fdCount > kMaxFdsPerMessage)
            throw std::length_error("more descriptors than a message can carry");
        std::string what;
        const int fd = m_fds.make(m_rng, &what);
        message << sdbus::UnixFd(fd);
        text += "fd<" + what + ">";
        return;
    }
    default:
        throw std::logic_error(std::string("not a basic type: ") + code);
    }
}

void Generator::appendOptions(sdbus::Message& message, std::string& text, int depth)
{
    // An option dictionary: documented keys with their own type (edge values) or another type, unknown keys,
    // and now and then the same key twice.
    message.openContainer("{sv}");
    text += "{";
    const int n = m_rng.chance(25) ? 0 : 1 + static_cast<int>(m_rng.below(4));
    for (int i = 0; i < n; ++i) {
        std::string key;
        Type valueType = randomType(1);
        if (!m_pools.optionKeys.empty() && m_rng.chance(75)) {
            auto it = m_pools.optionKeys.begin();
            std::advance(it, static_cast<long>(m_rng.below(m_pools.optionKeys.size())));
            key = it->first;
            if (m_rng.chance(70))
                valueType = m_rng.pick(it->second);
        } else {
            key = string();
        }
        message.openDictEntry("sv");
        message << key;
        text += (i ? ", " : "") + abbreviated(key) + ": <";
        const std::string sig = valueType.signature();
        message.openVariant(sig);
        append(message, valueType, text, depth + 1);
        message.closeVariant();
        message.closeDictEntry();
        text += ">";
    }
    message.closeContainer();
    text += "}";
}

void Generator::append(sdbus::Message& message, const Type& type, std::string& text, int depth)
{
    switch (type.code) {
    case 'a': {
        const Type& element = type.inner.at(0);
        if (element.code == '{' && element.inner.at(0).code == 's' && element.inner.at(1).code == 'v' &&
            m_rng.chance(80)) {
            appendOptions(message, text, depth);
            return;
        }
        // Long arrays only of what carries no descriptor: the kernel passes at most 253 per message.
        const std::string elementSignature = element.signature();
        const bool mayCarryFds = elementSignature.find_first_of("hv") != std::string::npos;
        const std::uint64_t n = depth > 3                         ? 0
                                : !mayCarryFds && m_rng.chance(5) ? 200 + m_rng.below(800)
                                                                  : m_rng.below(4);
        message.openContainer(elementSignature);
        text += "[";
        std::string ignored;
        for (std::uint64_t i = 0; i < n; ++i) {
            // Keep the rendering short; the values still go in.
            const bool shown = i < 8 || text.size() < 2048;
            if (shown && i)
                text += ", ";
            else if (!shown && ignored.empty())
                text += ", ...<" + std::to_string(n) + " elements>";
            append(message, element, shown ? text : ignored, depth + 1);
        }
        message.closeContainer();
        text += "]";
        return;
    }
    case '{':
        message.openDictEntry(signatureOf(type.inner));
        append(message, type.inner.at(0), text, depth + 1);
        text += ": ";
        append(message, type.inner.at(1), text, depth + 1);
        message.closeDictEntry();
        return;
    case '(':
        message.openStruct(signatureOf(type.inner));
        text += "(";
        for (std::size_t i = 0; i < type.inner.size(); ++i) {
            if (i)
                text += ", ";
            append(message, type.inner[i], text, depth + 1);
        }
        message.closeStruct();
        text += ")";
        return;
    case 'v': {
        const Type inner = randomType(depth > 3 ? 0 : 2);
        message.openVariant(inner.signature());
        text += "<";
        append(message, inner, text, depth + 1);
        message.closeVariant();
        text += ">";
        return;
    }
    default:
        appendBasic(message, type.code, text);
    }
}

} // namespace hangar::fuzz
