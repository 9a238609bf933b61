// What every adaptor needs at the D-Bus boundary: the caller's identity from the bus, the one mapping from
// hangar::Error to org.hangar.Hangar1.Error.* names (used by ReplyBoundary.h, through which every call is answered),
// strict readers for a{sv} option dictionaries, and the object paths derived from immutable ids.
#pragma once

#include "core/Error.h"
#include "core/Outcome.h"
#include "core/Stats.h"
#include "core/Types.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <set>
#include <string>
#include <string_view>

namespace hangar::bus {

inline constexpr const char* kBusName = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kVmPathPrefix = "/org/hangar/Hangar1/vm/";
inline constexpr const char* kImagePathPrefix = "/org/hangar/Hangar1/image/";
inline constexpr const char* kJobPathPrefix = "/org/hangar/Hangar1/job/";
inline constexpr const char* kErrorPrefix = "org.hangar.Hangar1.Error.";

std::string vmPath(const std::string& uuid);
std::string imagePath(const std::string& id);
std::string jobPath(std::uint64_t id);

// Counts the calls on one object that still owe a reply (each Reply of ReplyBoundary.h from its creation until it is
// answered), so an object whose core entity is gone is destroyed only once none is left: sd-bus seals a reply
// against the method table of the object it was called on.
class InFlightCalls
{
public:
    void begin() { ++m_count; }
    void end()
    {
        --m_count;
        if (m_retired && m_count == 0)
            m_onIdle(); // only schedules the destruction: the object is still in use up the stack
    }
    // onIdle runs when no call awaits its reply (maybe at once).
    void retire(std::function<void()> onIdle)
    {
        m_retired = true;
        m_onIdle = std::move(onIdle);
        if (m_count == 0)
            m_onIdle();
    }
    bool retired() const { return m_retired; }

private:
    unsigned m_count = 0;
    bool m_retired = false;
    std::function<void()> m_onIdle;
};

sdbus::Error toBusError(const Error& error);

// The caller of the method being processed on object: its unique bus name and uid. The uid comes from the bus,
// never from an argument; it is asked once per client connection and remembered.
Caller currentCaller(sdbus::IObject& object);
// Forgets a client's uid once its connection has left the bus; the returned match does that for every client.
void forgetCaller(const std::string& busName);
[[nodiscard]] sdbus::Slot forgetCallersAsTheyLeave(sdbus::IConnection& connection);

using Options = std::map<std::string, sdbus::Variant>;

// Reads an a{sv} dictionary strictly: each key may be taken once with its expected type; finish() rejects any
// key nobody took. All failures are Error(InvalidArgument) naming the key, the expected and the given type.
class OptionReader
{
public:
    OptionReader(const Options& options, std::string_view what);

    template <typename T> std::optional<T> take(const std::string& key)
    {
        m_allowed.insert(key);
        auto it = m_options.find(key);
        if (it == m_options.end())
            return std::nullopt;
        checkType(key, it->second, sdbus::signature_of<T>::str());
        return it->second.get<T>();
    }

    // Takes auth.no_user_interaction into caller.allowInteraction.
    void takeAuthOptions(Caller& caller);
    void finish() const;

private:
    void checkType(const std::string& key, const sdbus::Variant& value, const std::string& expected) const;

    const Options& m_options;
    std::string m_what;
    std::set<std::string> m_allowed;
};

// Reads the options every state-changing method accepts (auth.no_user_interaction into caller) and, where given a
// place for it, "description"; throws Error(InvalidArgument) when they are bad.
void readOptions(const Options& options, Caller& caller, std::string* description = nullptr);

// Adds key to an a{sv} only when value is set: in Hangar's dictionaries an absent key means "unknown" or
// "unlimited", never a placeholder value.
template <typename T>
void putIfSet(std::map<std::string, sdbus::Variant>& dict, const char* key, const std::optional<T>& value)
{
    if (value)
        dict.emplace(key, sdbus::Variant(*value));
}

// GetStats' dictionary: only the figures that are known.
std::map<std::string, sdbus::Variant> statsDict(const VmStats& stats);

} // namespace hangar::bus
