// stop, with and without --wait, and start --wait and restart --wait, which wait the same way for another state.
// Waiting follows the VM's State through PropertiesChanged (and its removal through InterfacesRemoved) instead of
// polling: each VM's subscription is in place before its Stop (Start) call, so a change that happens while the call
// is still returning cannot be missed.
#include "Commands.h"
#include "Output.h"
#include "Waiter.h"
#include "common/Format.h"

#include <iostream>
#include <mutex>

namespace hangar::client {
namespace {

constexpr const char* kStopped = "stopped";
constexpr const char* kRunning = "running";

// What a wait is for: the call that starts the change, and the state that ends it.
struct Goal
{
    const char* verb;  // "stop": "cannot stop VM 'x'", "waiting for it to stop"
    const char* state; // "stopped"
    const char* done;  // "Stopped": "Stopped VM 'x'."
    bool goneIsDone;   // a VM deleted meanwhile counts as reached (stopping) or as failed (starting)
    void (*call)(VmProxy& vm, const Context& context, const StopOptions& options);
};

Options stopOptions(const Context& context, const StopOptions& options)
{
    Options call = context.authOptions();
    if (options.force)
        call["force"] = sdbus::Variant(true);
    if (options.timeoutSec)
        call["timeout_sec"] = sdbus::Variant(*options.timeoutSec);
    return call;
}

const Goal kStopGoal{
    "stop", kStopped, "Stopped", true,
    [](VmProxy& vm, const Context& context, const StopOptions& options) { vm.Stop(stopOptions(context, options)); }};
const Goal kStartGoal{"start", kRunning, "Started", false,
                      [](VmProxy& vm, const Context& context, const StopOptions&) { vm.Start(context.authOptions()); }};

ExitCode stopWithoutWaiting(Context& context, const std::vector<std::string>& names, const StopOptions& options)
{
    ExitCode result = ExitCode::Ok;
    nlohmann::json report = nlohmann::json::array();
    for (const auto& name : names) {
        try {
            VmProxy vm(context.connection().bus(), context.connection().vmPath(name));
            vm.Stop(stopOptions(context, options));
            report.push_back({{"name", name}, {"ok", true}});
            if (!context.json()) {
                // Without force, Stop returns once the guest was asked; say so rather than claim it is off.
                std::cout << (options.force ? "Stopped VM '" : "Asked VM '") << sanitize(name)
                          << (options.force ? "'." : "' to shut down.") << std::endl;
            }
        } catch (const sdbus::Error& e) {
            result = combine(result, context.reportVmError("stop", name, e));
            report.push_back({{"name", name}, {"ok", false}, {"error", e.getName()}, {"message", e.getMessage()}});
        }
    }
    if (context.json())
        printJson(std::cout, report, true);
    return result;
}

// One VM being waited for. Fields below the mutex comment are written by the loop thread's handlers.
struct Target
{
    std::string name;
    sdbus::ObjectPath path;
    std::unique_ptr<VmProxy> proxy;
    bool finished = false; // reported, one way or another (main thread only)
    // guarded by StopWait::m_mutex
    std::string lastState;
    bool stopped = false; // seen the goal's state at any point after the subscription: terminal, never reset
    bool gone = false;    // the object was removed
    bool reread = false;  // State was invalidated rather than sent: read it from the main thread
};

class StopWait
{
public:
    StopWait(Context& context, const StopOptions& options, const Goal& goal = kStopGoal)
        : m_context(context), m_options(options), m_goal(goal)
    {}
    // The loop thread's handlers point into this object: stop them before the members go.
    ~StopWait()
    {
        m_context.connection().stopEventLoop();
        m_context.connection().daemonWatch().onChange({});
    }
    StopWait(const StopWait&) = delete;
    StopWait& operator=(const StopWait&) = delete;

    ExitCode run(const std::vector<std::string>& names);
    // The per-name JSON entries so far (restart --wait joins two waits into one report).
    const nlohmann::json& reportEntries() const { return m_report; }
    void printReport(bool print) { m_printReport = print; }

private:
    void stopOne(const std::string& name);
    void recordState(Target& target, const std::string& state);
    void readState(Target& target);
    // Reports targets that reached an end; true when none is left to wait for.
    bool reportFinished();
    void failPending(ExitCode code, const std::string& errorName, const std::string& why);
    void report(Target& target, bool ok, ExitCode code, const std::string& error, const std::string& message);

    Context& m_context;
    const StopOptions& m_options;
    const Goal& m_goal;
    bool m_printReport = true;
    Waiter m_waiter; // blocks SIGINT/SIGTERM before the event loop thread exists
    std::mutex m_mutex;
    std::vector<std::unique_ptr<Target>> m_targets; // guarded by m_mutex when changed after the loop started
    bool m_unreachable = false;                     // a read of State could not reach hangard; guarded by m_mutex
    std::unique_ptr<ManagerProxy> m_manager;
    ExitCode m_result = ExitCode::Ok;
    nlohmann::json m_report = nlohmann::json::array();
};

ExitCode StopWait::run(const std::vector<std::string>& names)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_options.waitTimeoutSec);
    Connection& connection = m_context.connection();
    m_manager = std::make_unique<ManagerProxy>(connection.bus(), ManagerProxy::EventHandler{},
                                               [this](const sdbus::ObjectPath& path) {
                                                   std::lock_guard lock(m_mutex);
                                                   for (auto& target : m_targets)
                                                       target->gone = target->gone || target->path == path;
                                                   m_waiter.notify();
                                               });
    // DaemonWatch's verdict is sticky: a daemon that came back has lost track of what we asked for, so the wait is
    // over either way.
    connection.daemonWatch().onChange([this](const std::string&) { m_waiter.notify(); });
    connection.startEventLoop();

    for (const auto& name : names)
        stopOne(name);

    while (!reportFinished()) {
        switch (m_waiter.wait(deadline)) {
        case Waiter::Wake::Notified:
            break;
        case Waiter::Wake::Timeout:
            failPending(ExitCode::Timeout, "Timeout",
                        "timed out after " + formatDuration(m_options.waitTimeoutSec) + " waiting for it to " +
                            m_goal.verb);
            break;
        case Waiter::Wake::Signal:
            failPending(ExitCode::Interrupted, "Interrupted",
                        std::string("interrupted while waiting for it to ") + m_goal.verb);
            break;
        }
    }
    if (m_context.json() && m_printReport)
        printJson(std::cout, m_report, true);
    return m_result;
}

void StopWait::stopOne(const std::string& name)
{
    auto owned = std::make_unique<Target>();
    Target& target = *owned;
    target.name = name;
    try {
        target.path = m_manager->GetVM(name);
        {
            std::lock_guard lock(m_mutex);
            m_targets.push_back(std::move(owned));
        }
        target.proxy = std::make_unique<VmProxy>(
            m_context.connection().bus(), target.path,
            [this, &target](const std::map<std::string, sdbus::Variant>& changed,
                            const std::vector<std::string>& invalidated) {
                std::lock_guard lock(m_mutex);
                if (auto it = changed.find("State"); it != changed.end() && it->second.peekValueType() == "s") {
                    target.lastState = it->second.get<std::string>();
                    target.stopped = target.stopped || target.lastState == m_goal.state;
                }
                for (const auto& property : invalidated)
                    target.reread = target.reread || property == "State";
                m_waiter.notify();
            });
        m_goal.call(*target.proxy, m_context, m_options);
    } catch (const sdbus::Error& e) {
        if (!owned) // already listed: mark it done so the wait loop skips it
            target.finished = true;
        m_result = combine(m_result, m_context.reportVmError(m_goal.verb, name, e));
        m_report.push_back({{"name", name}, {"ok", false}, {"error", e.getName()}, {"message", e.getMessage()}});
        return;
    }
    // Covers a daemon that changed State without a signal, and a stop that completed before we looked.
    readState(target);
}

void StopWait::recordState(Target& target, const std::string& state)
{
    std::lock_guard lock(m_mutex);
    target.lastState = state;
    target.stopped = target.stopped || state == m_goal.state;
}

void StopWait::readState(Target& target)
{
    try {
        recordState(target, target.proxy->State());
    } catch (const sdbus::Error& e) {
        if (exitCodeFor(e) == ExitCode::NotFound) {
            std::lock_guard lock(m_mutex);
            target.gone = true;
        } else if (isUnreachable(e)) {
            // Ends the wait as hangard leaving the bus does, also when it is the bus that stopped answering.
            std::lock_guard lock(m_mutex);
            m_unreachable = true;
        }
        // Anything else: keep waiting for the signal.
    }
}

bool StopWait::reportFinished()
{
    std::vector<Target*> toRead;
    bool daemonGone = m_context.connection().daemonWatch().goneSeen();
    {
        std::lock_guard lock(m_mutex);
        daemonGone = daemonGone || m_unreachable;
        for (auto& owned : m_targets) {
            Target& target = *owned;
            if (target.finished)
                continue;
            if (target.stopped) {
                report(target, true, ExitCode::Ok, {}, {});
            } else if (target.gone && m_goal.goneIsDone) {
                report(target, true, ExitCode::Ok, {}, "deleted");
            } else if (target.gone) {
                report(target, false, ExitCode::NotFound, "NotFound", "it was deleted meanwhile");
                printError("cannot " + std::string(m_goal.verb) + " VM '" + target.name +
                           "': it was deleted meanwhile");
            } else if (!m_goal.goneIsDone && target.lastState == "crashed") {
                report(target, false, ExitCode::Failed, "Crashed", "the guest crashed");
                printError("cannot " + std::string(m_goal.verb) + " VM '" + target.name + "': the guest crashed");
            } else if (target.reread) {
                target.reread = false;
                toRead.push_back(&target);
            }
        }
    }
    if (daemonGone) {
        failPending(ExitCode::Unreachable, "Unreachable",
                    "hangard left " + m_context.connection().spec().describe() + " while waiting for it to " +
                        m_goal.verb);
        return true;
    }
    for (Target* target : toRead)
        readState(*target);
    if (!toRead.empty())
        return reportFinished();

    std::lock_guard lock(m_mutex);
    for (const auto& target : m_targets) {
        if (!target->finished)
            return false;
    }
    return true;
}

void StopWait::failPending(ExitCode code, const std::string& errorName, const std::string& why)
{
    std::lock_guard lock(m_mutex);
    for (auto& target : m_targets) {
        if (target->finished)
            continue;
        std::string text = "cannot " + std::string(m_goal.verb) + " VM '" + target->name + "': ";
        text += why;
        text += " (state: " + (target->lastState.empty() ? std::string("unknown") : target->lastState) + ")";
        printError(text);
        report(*target, false, code, errorName, why);
    }
}

// Called with m_mutex held.
void StopWait::report(Target& target, bool ok, ExitCode code, const std::string& error, const std::string& message)
{
    target.finished = true;
    m_result = combine(m_result, code);
    if (ok && !m_context.json()) {
        if (message.empty())
            std::cout << m_goal.done << " VM '" << sanitize(target.name) << "'." << std::endl;
        else
            std::cout << "VM '" << sanitize(target.name) << "' was deleted while stopping." << std::endl;
    }
    nlohmann::json entry{{"name", target.name}, {"ok", ok}};
    if (ok)
        entry["state"] = message.empty() ? m_goal.state : "deleted";
    else
        entry.update({{"error", error}, {"message", message}, {"state", target.lastState}});
    m_report.push_back(entry);
}

} // namespace

ExitCode runStop(Context& context, const std::vector<std::string>& names, const StopOptions& options)
{
    context.useFlagNames(kStopFlags);
    context.prepareAuthorizedCall();
    if (!options.wait)
        return stopWithoutWaiting(context, names, options);
    StopWait wait(context, options);
    return wait.run(names);
}

ExitCode runStartWait(Context& context, const std::vector<std::string>& names, const StopOptions& options)
{
    context.prepareAuthorizedCall();
    StopWait wait(context, options, kStartGoal);
    return wait.run(names);
}

ExitCode runRestartWait(Context& context, const std::vector<std::string>& names, const StopOptions& options)
{
    context.prepareAuthorizedCall();
    std::vector<std::string> stopped;
    nlohmann::json report = nlohmann::json::array();
    ExitCode result = ExitCode::Ok;
    {
        StopWait stop(context, options);
        stop.printReport(false);
        result = stop.run(names);
        for (const auto& entry : stop.reportEntries()) {
            if (entry.value("ok", false) && entry.value("state", "") == kStopped)
                stopped.push_back(entry["name"].get<std::string>());
            else
                report.push_back(entry);
        }
    }
    if (!stopped.empty()) {
        StopWait start(context, options, kStartGoal);
        start.printReport(false);
        result = combine(result, start.run(stopped));
        for (const auto& entry : start.reportEntries())
            report.push_back(entry);
    }
    if (context.json())
        printJson(std::cout, report, true);
    return result;
}

} // namespace hangar::client
