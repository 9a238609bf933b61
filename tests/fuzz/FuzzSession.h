// One run of the bus fuzzer (Fuzzer.h): its connection, what it knows about the daemon's objects, its reference
// inventory and its report. Fuzzer.cpp holds the call loop and the checks, Population.cpp what keeps real objects
// on the bus (seeding, settling, discovery).
#pragma once

#include "Fuzzer.h"
#include "Generator.h"
#include "Introspection.h"
#include "Inventory.h"

#include <functional>
#include <memory>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <set>

namespace hangar::fuzz {

inline constexpr const char* kService = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kProperties = "org.freedesktop.DBus.Properties";

// One generated call, as the reproducer shows it.
struct PlannedCall
{
    std::string path, interface, member;
    std::string signature;   // what was sent
    std::string expected;    // what the method takes
    std::string arguments;   // rendering of the values
    std::vector<Type> types; // of what is sent
    bool wrongSignature = false;
    std::string describe() const;
};

struct CallOutcome
{
    bool ok = false;
    bool timedOut = false;
    std::string errorName, errorMessage;
    std::string returnedPath; // a reply that starts with an object path
    std::chrono::milliseconds took{0};
};

class FuzzSession
{
public:
    explicit FuzzSession(const FuzzConfig& config);
    FuzzReport run();

private:
    // ---- Fuzzer.cpp
    void batch(std::size_t size, bool compare);
    bool timeLeft() const;
    PlannedCall plan(const std::string& onlyPath = {});
    // Plans, generates, sends and checks one call (on onlyPath when given).
    void callOnce(const std::string& onlyPath, bool compare);
    // Appends generated arguments; false (nothing to send) when the generator could not build them.
    bool build(PlannedCall& call, sdbus::MethodCall& message);
    CallOutcome send(sdbus::IProxy& via, sdbus::MethodCall& message) const;
    void check(const PlannedCall& call, const CallOutcome& outcome, bool compare);
    bool alive(std::string* why);
    // GetManagedObjects failed (error: its name and message); when: at what point.
    void unreadable(const std::string& error, const std::string& when);
    void report(const std::string& kind, const std::string& method, const std::string& detail);
    void burstOn(const std::string& path, std::size_t calls);

    // ---- Volley.cpp
    void volley();

    // ---- Population.cpp
    void discover();
    void settle();
    void populate();
    std::optional<std::string> simpleCall(const std::string& path, const std::string& interface,
                                          const std::string& member,
                                          const std::function<void(sdbus::MethodCall&)>& args);
    void updatePools();
    sdbus::IProxy& proxy(const std::string& path);
    Inventory inventory();

    FuzzConfig m_config;
    FuzzReport m_report;
    std::chrono::steady_clock::time_point m_start;
    std::unique_ptr<sdbus::IConnection> m_connection;
    std::map<std::string, std::unique_ptr<sdbus::IProxy>> m_proxies;
    pid_t m_daemonPid = 0;
    // Volley.cpp's connections: one per concurrent call, and one that reads the inventory meanwhile.
    struct Lane
    {
        std::unique_ptr<sdbus::IConnection> connection;
        std::map<std::string, std::unique_ptr<sdbus::IProxy>> proxies;
        sdbus::IProxy& proxy(const std::string& path);
    };
    std::vector<Lane> m_lanes;
    bool m_down = false;

    Rng m_rng;
    Pools m_pools;
    FdKeeper m_fds;

    std::map<std::string, Interface> m_catalogue;                   // every interface, from dbus/*.xml and Introspect
    std::map<std::string, std::vector<std::string>> m_implementers; // interface -> live paths
    std::vector<std::pair<std::string, std::string>> m_round;       // (interface, member) still to call this round
    Inventory m_reference;
    bool m_dirty = false;               // a call succeeded since the last settle
    std::set<std::string> m_cannotSeed; // seed kinds the caller is not allowed to make (e.g. a guest's publish)
    std::size_t m_created = 0;
    std::string m_setupError; // of the last simpleCall that failed
};

} // namespace hangar::fuzz
