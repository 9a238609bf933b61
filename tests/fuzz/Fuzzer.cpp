#include "FuzzSession.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <unistd.h>

namespace hangar::fuzz {

namespace {

// The closed set of errors (dbus/org.hangar.Hangar1.Manager.xml), and the standard errors that mean "bad input"
// (sd-bus answers most of these itself: a wrong signature, a path or member that does not exist, a read-only property).
const std::set<std::string> kHangarErrors{
    "NotFound", "InvalidArgument", "AlreadyExists",  "PermissionDenied", "QuotaExceeded",
    "Busy",     "NotSupported",    "BackendFailure", "Cancelled",        "RateLimited"};
const std::set<std::string> kStandardErrors{"InvalidArgs",     "UnknownMethod",    "UnknownObject", "UnknownInterface",
                                            "UnknownProperty", "PropertyReadOnly", "AccessDenied"};
constexpr const char* kHangarPrefix = "org.hangar.Hangar1.Error.";
constexpr const char* kStandardPrefix = "org.freedesktop.DBus.Error.";
constexpr std::size_t kDetailsPerKey = 3; // findings with the same key: the first few in full, then counted

bool allowedError(const std::string& name)
{
    auto suffixIn = [&](const std::string& prefix, const std::set<std::string>& set) {
        return name.rfind(prefix, 0) == 0 && set.count(name.substr(prefix.size()));
    };
    return suffixIn(kHangarPrefix, kHangarErrors) || suffixIn(kStandardPrefix, kStandardErrors);
}

bool matches(const std::string& pattern, const std::string& key)
{
    if (!pattern.empty() && pattern.back() == '*')
        return key.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
    return pattern == key;
}

std::string nowherePathFor(const std::string& interface, Rng& rng)
{
    if (interface == "org.hangar.Hangar1.VM")
        return "/org/hangar/Hangar1/vm/_" + std::to_string(rng.next());
    if (interface == "org.hangar.Hangar1.Image")
        return "/org/hangar/Hangar1/image/_" + std::to_string(rng.next());
    if (interface == "org.hangar.Hangar1.Job")
        return "/org/hangar/Hangar1/job/" + std::to_string(rng.below(1000));
    return "/org/hangar/Hangar1/nothing";
}

} // namespace

std::string PlannedCall::describe() const
{
    return interface + "." + member + " on " + path + " with signature '" + signature + "'" +
           (wrongSignature ? " (the method takes '" + expected + "')" : "") + ", arguments (" + arguments + ")";
}

// ---- the session -----------------------------------------------------------------------------------------------

FuzzSession::FuzzSession(const FuzzConfig& config) : m_config(config), m_rng(config.seed), m_fds(config.scratchDir) {}

bool FuzzSession::timeLeft() const
{
    return !m_down && m_report.calls < m_config.maxCalls &&
           std::chrono::steady_clock::now() - m_start < m_config.budget;
}

FuzzReport FuzzSession::run()
{
    m_start = std::chrono::steady_clock::now();
    m_report.seed = m_config.seed;
    std::cerr << "fuzz: seed " << m_config.seed << " (replay with HANGAR_FUZZ_SEED=" << m_config.seed << "), budget "
              << m_config.budget.count() << " ms, at most " << m_config.maxCalls << " calls\n";
    m_connection = sdbus::createSessionBusConnectionWithAddress(m_config.busAddress);
    auto driver = sdbus::createProxy(*m_connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::uint32_t pid = 0;
    driver->callMethod("GetConnectionUnixProcessID")
        .onInterface("org.freedesktop.DBus")
        .withArguments(std::string(kService))
        .storeResultsTo(pid);
    m_daemonPid = static_cast<pid_t>(pid);

    m_pools.ownUid = getuid();
    m_pools.optionKeys = documentedOptionKeys(m_config.dbusDir);
    for (const auto& file : std::filesystem::directory_iterator(m_config.dbusDir))
        if (file.path().extension() == ".xml") {
            std::ifstream in(file.path());
            const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            for (const auto& iface : parseIntrospection(xml).interfaces)
                m_catalogue[iface.name] = iface;
        }
    discover();
    settle();
    populate();

    while (timeLeft()) {
        batch(25, true);
        for (int v = 0; v < 4 && timeLeft(); ++v)
            volley();
        ++m_report.batches;
        std::string why;
        if (!alive(&why)) {
            report("daemon-down", "", why);
            m_down = true;
            break;
        }
        if (m_dirty)
            settle();
        discover();
        populate();
    }

    for (const auto& [name, iface] : m_catalogue)
        for (const auto& m : iface.methods)
            if (!m_report.callsPerMethod.count(name + "." + m.name))
                m_report.methodsNeverCalled.push_back(name + "." + m.name);
    m_report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    return m_report;
}

bool FuzzSession::build(PlannedCall& call, sdbus::MethodCall& message)
{
    Generator generator(m_rng, m_pools, m_fds);
    try {
        for (std::size_t a = 0; a < call.types.size(); ++a) {
            if (a)
                call.arguments += ", ";
            generator.append(message, call.types[a], call.arguments);
        }
        return true;
    } catch (const std::exception& e) {
        // sd-bus refused to build it, or it would carry too many fds (the generator's limits, not the daemon's):
        // say so, send nothing.
        std::cerr << "fuzz: could not build " << call.describe() << ": " << e.what() << "\n";
        return false;
    }
}

void FuzzSession::callOnce(const std::string& onlyPath, bool compare)
{
    PlannedCall call = plan(onlyPath);
    auto& p = proxy(call.path);
    auto message = p.createMethodCall(call.interface, call.member);
    if (build(call, message)) {
        const CallOutcome outcome = send(p, message);
        m_fds.clear();
        check(call, outcome, compare);
    }
    m_fds.clear();
}

void FuzzSession::batch(std::size_t size, bool compare)
{
    for (std::size_t i = 0; i < size && timeLeft(); ++i)
        callOnce({}, compare);
}

void FuzzSession::burstOn(const std::string& path, std::size_t calls)
{
    // A job lives for milliseconds on the test driver: call it at once, without comparing the inventory (the job
    // itself changes it meanwhile).
    for (std::size_t i = 0; i < calls && timeLeft(); ++i)
        callOnce(path, false);
}

PlannedCall FuzzSession::plan(const std::string& onlyPath)
{
    PlannedCall call;
    if (!onlyPath.empty()) {
        call.path = onlyPath;
        call.interface = m_rng.chance(70) ? "org.hangar.Hangar1.Job" : kProperties;
    } else {
        if (m_round.empty()) {
            for (const auto& [name, iface] : m_catalogue)
                for (const auto& m : iface.methods)
                    m_round.emplace_back(name, m.name);
            for (std::size_t i = m_round.size(); i > 1; --i)
                std::swap(m_round[i - 1], m_round[m_rng.below(i)]);
        }
        std::tie(call.interface, call.member) = m_round.back();
        m_round.pop_back();
        std::vector<std::string> targets;
        if (call.interface == kProperties)
            for (const auto& [iface, paths] : m_implementers)
                targets.insert(targets.end(), paths.begin(), paths.end());
        else if (auto it = m_implementers.find(call.interface); it != m_implementers.end())
            targets = it->second;
        call.path = targets.empty() || m_rng.chance(8) ? nowherePathFor(call.interface, m_rng) : m_rng.pick(targets);
    }
    const Interface& iface = m_catalogue.at(call.interface);
    if (call.member.empty())
        call.member = m_rng.pick(iface.methods).name;
    if (m_rng.chance(2))
        call.member = m_rng.chance(50) ? "NoSuchMethod" : call.member + "X";
    for (const auto& m : iface.methods)
        if (m.name == call.member)
            call.expected = m.inSignature;
    call.types = parseSignature(call.expected);

    if (m_rng.chance(30)) {
        // A wrong signature: an argument missing, one too many, one of another type, or anything at all.
        Generator generator(m_rng, m_pools, m_fds);
        auto& t = call.types;
        switch (m_rng.below(4)) {
        case 0:
            if (!t.empty())
                t.erase(t.begin() + static_cast<long>(m_rng.below(t.size())));
            break;
        case 1:
            t.insert(t.begin() + static_cast<long>(m_rng.below(t.size() + 1)), generator.randomType(2));
            break;
        case 2:
            if (!t.empty())
                t[m_rng.below(t.size())] = generator.randomType(2);
            break;
        default:
            t.clear();
            for (int i = 0, n = static_cast<int>(m_rng.below(4)); i < n; ++i)
                t.push_back(generator.randomType(2));
        }
    }
    call.signature = signatureOf(call.types);
    call.wrongSignature = call.signature != call.expected;
    return call;
}

CallOutcome FuzzSession::send(sdbus::IProxy& via, sdbus::MethodCall& message) const
{
    CallOutcome out;
    const auto start = std::chrono::steady_clock::now();
    try {
        auto reply = via.callMethod(
            message, static_cast<std::uint64_t>(std::chrono::microseconds(m_config.callTimeout).count()));
        out.ok = true;
        std::string type, contents;
        reply.peekType(type, contents);
        if (type == "o") {
            sdbus::ObjectPath path;
            reply >> path;
            out.returnedPath = path;
        }
    } catch (const sdbus::Error& e) {
        out.errorName = e.getName();
        out.errorMessage = e.getMessage();
    }
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    out.timedOut = !out.ok && (out.took >= m_config.callTimeout - std::chrono::milliseconds(100) ||
                               out.errorName == "org.freedesktop.DBus.Error.NoReply" ||
                               out.errorName == "org.freedesktop.DBus.Error.Timeout");
    return out;
}

void FuzzSession::check(const PlannedCall& call, const CallOutcome& outcome, bool compare)
{
    const std::string method = call.interface + "." + call.member;
    ++m_report.calls;
    ++m_report.callsPerMethod[method];
    m_report.wrongSignature += call.wrongSignature;
    for (std::size_t at = 0; (at = call.arguments.find("fd<", at)) != std::string::npos; ++at)
        ++m_report.fdsSent;
    const std::string what = "call #" + std::to_string(m_report.calls) + ": " + call.describe();
    if (outcome.took > m_report.slowest) {
        m_report.slowest = outcome.took;
        m_report.slowestCall = what.substr(0, 300);
    }

    if (outcome.errorName == "org.freedesktop.DBus.Error.Disconnected" ||
        outcome.errorName == "System.Error.ENOTCONN") {
        // dbus-daemon, not hangard, dropped the fuzzer's connection (a message it would not relay): a limit of the
        // generator's to fix, not a finding about the daemon. The call did not reach the daemon.
        std::cerr << "fuzz: the bus dropped the fuzzer's connection after " << what << "; reconnecting\n";
        ++m_report.reconnects;
        m_proxies.clear();
        m_connection = sdbus::createSessionBusConnectionWithAddress(m_config.busAddress);
        m_dirty = true;
        return;
    }
    if (outcome.timedOut) {
        report("unanswered", method,
               what + ": no answer within " + std::to_string(outcome.took.count()) + " ms (" + outcome.errorName + ")");
        return;
    }
    if (outcome.ok) {
        ++m_report.succeeded;
        if (call.wrongSignature)
            report("wrong-signature-accepted", method, what + ": succeeded");
        if (!compare) {
            m_dirty = true; // inside a burst on a job: the caller settles
            return;
        }
        if (outcome.returnedPath.rfind("/org/hangar/Hangar1/job/", 0) == 0)
            burstOn(outcome.returnedPath, 6);
        // A success may change things; it becomes the reference once settled.
        settle();
        return;
    }
    ++m_report.refused;
    ++m_report.errors[outcome.errorName];
    if (!call.wrongSignature && outcome.errorName == "org.freedesktop.DBus.Error.InvalidArgs" &&
        outcome.errorMessage.rfind("Invalid arguments", 0) == 0) {
        ++m_report.signatureMismatches;
        std::cerr << "fuzz: the generator sent another signature than planned: " << what << ": " << outcome.errorMessage
                  << "\n";
    }
    if (!allowedError(outcome.errorName))
        report("error-name", method, what + ": " + outcome.errorName + ": " + outcome.errorMessage);
    if (!compare || m_dirty)
        return;
    try {
        Inventory after = inventory();
        ++m_report.comparisons;
        if (const std::string diff = difference(m_reference, after); !diff.empty()) {
            report("changed-after-refusal", method,
                   what + ": refused with " + outcome.errorName + " (" + outcome.errorMessage +
                       ") but the inventory changed:\n" + diff);
            m_reference = after;
            updatePools();
        }
    } catch (const sdbus::Error& e) {
        unreadable(e.getName() + ": " + e.getMessage(), "after " + what);
        m_dirty = true;
    }
}

bool FuzzSession::alive(std::string* why)
{
    if (kill(m_daemonPid, 0) != 0 && errno == ESRCH) {
        *why = "hangard (PID " + std::to_string(m_daemonPid) + ") is gone";
        return false;
    }
    try {
        auto& p = proxy(kManagerPath);
        auto ping = p.createMethodCall("org.freedesktop.DBus.Peer", "Ping");
        p.callMethod(ping, static_cast<std::uint64_t>(std::chrono::microseconds(m_config.callTimeout).count()));
    } catch (const sdbus::Error& e) {
        *why = "no answer to Ping: " + e.getName() + ": " + e.getMessage();
        return false;
    }
    try {
        inventory();
    } catch (const sdbus::Error& e) {
        unreadable(e.getName() + ": " + e.getMessage(), "after batch " + std::to_string(m_report.batches));
        m_dirty = true;
    }
    return true;
}

void FuzzSession::unreadable(const std::string& error, const std::string& when)
{
    // Keyed by the error, not the method: "the image no longer exists" and "the VM no longer exists" are two bugs.
    report("inventory-unreadable", "GetManagedObjects: " + error,
           "GetManagedObjects failed with " + error + ", " + when);
}

void FuzzSession::report(const std::string& kind, const std::string& method, const std::string& detail)
{
    Finding f{kind, kind + ":" + method, detail};
    const bool known = std::any_of(m_config.knownFindings.begin(), m_config.knownFindings.end(),
                                   [&](const std::string& p) { return matches(p, f.key); });
    auto& list = known ? m_report.known : m_report.findings;
    const auto same = std::count_if(list.begin(), list.end(), [&](const Finding& x) { return x.key == f.key; });
    if (static_cast<std::size_t>(same) >= kDetailsPerKey)
        return;
    std::cerr << "fuzz: " << (known ? "known " : "") << "finding " << f.key << ": " << detail << "\n";
    list.push_back(f);
}

} // namespace hangar::fuzz
