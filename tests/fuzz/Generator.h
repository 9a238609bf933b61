// The bus fuzzer's values: a parser of the D-Bus type grammar (y b n q i u x t d s o g h a(...) {..} v), a
// deterministic PRNG (so a seed replays the same choices), and a generator that appends a value of a given type to
// an sd-bus message while writing a readable rendering of it for the reproducer: edge numbers, empty and 1 MiB
// strings, names with slashes, unicode and control characters, object paths pointing nowhere, a{sv} with unknown
// keys and wrong value types, and file descriptors of every kind.
#pragma once

#include "core/UniqueFd.h"

#include <cstdint>
#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <string_view>
#include <vector>

namespace hangar::fuzz {

// One complete D-Bus type: code is the signature character ('a', '(' for a struct, '{' for a dict entry, 'v', or
// a basic type); inner holds the element (array), the fields (struct) or key and value (dict entry).
struct Type
{
    char code = 's';
    std::vector<Type> inner;
    std::string signature() const;
};

// The complete types of a signature, in order; throws std::invalid_argument on a malformed signature.
std::vector<Type> parseSignature(std::string_view signature);
std::string signatureOf(const std::vector<Type>& types);

// splitmix64: small, fast, and the same sequence on every platform for a seed.
class Rng
{
public:
    explicit Rng(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next();
    // Uniform in [0, n); 0 when n is 0.
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T> const T& pick(const std::vector<T>& from) { return from[below(from.size())]; }

private:
    std::uint64_t m_state;
};

// What the generator draws names from besides its built-in nasty values: the daemon's own objects and names, so
// that some calls get past the first check and reach deeper code.
struct Pools
{
    std::vector<std::string> objectPaths;                // objects that exist now
    std::vector<std::string> names;                      // VM, image and snapshot names that exist now
    std::vector<std::string> interfaces;                 // interface names seen in introspection
    std::vector<std::string> members;                    // property and method names seen in introspection
    std::map<std::string, std::vector<Type>> optionKeys; // a{sv} keys documented in dbus/*.xml, with their types
    std::uint32_t ownUid = 0;
};

// The descriptors one call sends. The generator opens them here and they stay open (with the peers of pipes and
// sockets) until the call has been answered, then close.
class FdKeeper
{
public:
    explicit FdKeeper(std::string scratchDir) : m_dir(std::move(scratchDir)) {}
    // A new descriptor of a kind chosen by rng; describes it in *what.
    int make(Rng& rng, std::string* what);
    void clear() { m_fds.clear(); }

private:
    int keep(int fd);
    std::string m_dir;
    std::vector<UniqueFd> m_fds;
};

class Generator
{
public:
    Generator(Rng& rng, const Pools& pools, FdKeeper& fds) : m_rng(rng), m_pools(pools), m_fds(fds) {}

    // Appends a value of type to message (throws std::length_error when it would need too many descriptors) and its
    // rendering (GVariant-like text, long strings abbreviated) to text.
    void append(sdbus::Message& message, const Type& type, std::string& text, int depth = 0);
    // A random complete type, nested at most depth levels deep.
    Type randomType(int depth);

private:
    void appendBasic(sdbus::Message& message, char code, std::string& text);
    void appendOptions(sdbus::Message& message, std::string& text, int depth);
    std::string string();
    std::string objectPath();
    std::string signature();
    template <typename T> T integer();
    double real();

    Rng& m_rng;
    const Pools& m_pools;
    FdKeeper& m_fds;
    std::size_t m_bytes = 0; // of strings in this message: big ones stop once a few MiB went in
    std::size_t m_fdCount = 0;
};

// The a{sv} keys and their types documented in the comments of dbus/*.xml (lines such as
// "options  force  b  power off..." or "limits  max_vms u, max_running u"): a key added there is fuzzed with no
// change here.
std::map<std::string, std::vector<Type>> documentedOptionKeys(const std::string& dbusDir);

} // namespace hangar::fuzz
