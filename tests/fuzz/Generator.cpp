#include "Generator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hangar::fuzz {

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kMessageStringBudget = 6 * kMiB; // dbus-daemon's limit is far above; this keeps calls fast
constexpr std::size_t kMaxFdsPerMessage = 32;
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

// ---- descriptors -------------------------------------------------------------------------------------------------

int FdKeeper::keep(int fd)
{
    if (fd < 0)
        throw std::runtime_error("fuzzer: cannot open a descriptor: " + std::string(std::strerror(errno)));
    m_fds.emplace_back(fd);
    return fd;
}

int FdKeeper::make(Rng& rng, std::string* what)
{
    int p[2];
    switch (rng.below(13)) {
    case 0:
        *what = "pipe read end (writer open, silent)";
        if (pipe2(p, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        keep(p[1]);
        return keep(p[0]);
    case 1:
        *what = "pipe write end";
        if (pipe2(p, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        keep(p[0]);
        return keep(p[1]);
    case 2:
        *what = "socketpair end";
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
            throw std::runtime_error("socketpair");
        keep(p[1]);
        return keep(p[0]);
    case 3:
        *what = "directory O_RDONLY";
        return keep(open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    case 4:
        *what = "/dev/null";
        return keep(open("/dev/null", O_RDWR | O_CLOEXEC));
    case 5:
        *what = "memfd, empty";
        return keep(memfd_create("fuzz-empty", MFD_CLOEXEC));
    case 6: {
        *what = "memfd with 64 KiB of junk";
        const int fd = keep(memfd_create("fuzz-junk", MFD_CLOEXEC));
        std::string junk(64 * 1024, '\0');
        for (auto& c : junk)
            c = static_cast<char>(rng.next());
        if (write(fd, junk.data(), junk.size()) != static_cast<ssize_t>(junk.size()))
            throw std::runtime_error("memfd write");
        lseek(fd, 0, SEEK_SET);
        return fd;
    }
    case 7: {
        // A qcow2 header (magic, version 3) claiming a virtual size of 2^63 bytes: issue 17's "absurd sizes".
        *what = "memfd with a qcow2 header claiming 2^63 bytes";
        const int fd = keep(memfd_create("fuzz-qcow2", MFD_CLOEXEC));
        std::string header(512, '\0');
        const unsigned char start[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
        std::copy(std::begin(start), std::end(start), header.begin());
        header[24] = static_cast<char>(0x80); // size, big-endian, at offset 24
        header[23] = 16;                      // cluster_bits at offset 20..23
        if (write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
            throw std::runtime_error("memfd write");
        lseek(fd, 0, SEEK_SET);
        return fd;
    }
    case 8:
        *what = "O_PATH of a directory";
        return keep(open(m_dir.c_str(), O_PATH | O_CLOEXEC));
    case 9: {
        *what = "write-only regular file";
        const std::string path = m_dir + "/write-only";
        return keep(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    }
    case 10:
        *what = "eventfd";
        return keep(eventfd(0, EFD_CLOEXEC));
    case 11:
        *what = "/proc/self/status (not seekable to a size)";
        return keep(open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    default: {
        *what = "1 MiB zero-filled regular file";
        const std::string path = m_dir + "/zeros";
        if (!std::filesystem::exists(path)) {
            std::ofstream{path};
            std::filesystem::resize_file(path, kMiB);
        }
        return keep(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    }
    }
}

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
