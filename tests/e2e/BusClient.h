// The end-to-end suite's D-Bus client: it calls Hangar by method name (so the suite builds whatever the API looks
// like, and a method that has not landed fails its test at run time, clearly) and records every PropertiesChanged of a
// VM's State and every Job's Completed with the time it arrived, from the start, so nothing ends unseen.
#pragma once

#include "E2eHarness.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::e2e {

// A D-Bus failure as "Name: message".
std::string describe(const sdbus::Error& e);

// How a Job ended: its Completed signal.
struct JobEnd
{
    bool success = false;
    std::string message;
    Dict result; // Job.Result as announced before Completed (commands in guests); empty for other jobs
};

class BusClient
{
public:
    explicit BusClient(const std::string& address);
    ~BusClient();
    BusClient(const BusClient&) = delete;
    BusClient& operator=(const BusClient&) = delete;

    sdbus::ObjectPath createVm(const std::string& name, const Dict& spec);
    // A VM method taking only an options dictionary (Start, Stop, Delete, ...).
    void vmCall(const std::string& path, const std::string& method, const Dict& options = {},
                std::chrono::seconds timeout = std::chrono::seconds(120));
    Dict getStats(const std::string& path);
    std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> getAllStats();
    // One end of the guest's serial console / a socket connected to its VNC server; the caller closes it.
    int openConsole(const std::string& path, const Dict& options = {});
    int openGraphics(const std::string& path, const Dict& options = {});
    // A read-only fd of the hypervisor's log of the VM (VM.OpenLog); the caller closes it.
    int openLog(const std::string& path, const Dict& options = {});
    sdbus::Variant vmProperty(const std::string& path, const std::string& name);
    std::string state(const std::string& path);
    // GetVM; nullopt when the daemon answers NotFound.
    std::optional<std::string> findVm(const std::string& name);

    // Manager.ImportImage with (a duplicate of) fd; returns the Job's path. fd stays the caller's.
    sdbus::ObjectPath importImage(const std::string& name, int fd, const Dict& options = {});
    // GetImage; nullopt when the daemon answers NotFound.
    std::optional<std::string> findImage(const std::string& name);
    sdbus::Variant imageProperty(const std::string& path, const std::string& name);
    void cancelJob(const std::string& path);
    // The Completed of the job at path (recorded from the start, so it cannot be missed), waiting up to deadline.
    std::optional<JobEnd> waitCompleted(const std::string& path, std::chrono::milliseconds deadline);
    // Forgets the Completed signals recorded so far: a restarted hangard numbers its jobs from 1 again.
    void forgetCompleted();
    // A proxy for any of the daemon's objects, for calls the helpers above do not cover.
    std::unique_ptr<sdbus::IProxy> proxy(const std::string& path);

    // Every State seen in PropertiesChanged, in order of arrival (with AgentConnected, ConsoleAttached and
    // GraphicsClients among them as "agent:true", "console:true", "graphics:1"). mark() is the count so far: wait for
    // what comes after it.
    std::size_t mark() const;
    // The arrival time of the first State == state for path after mark, waiting up to deadline.
    std::optional<Clock::time_point> waitState(const std::string& path, const std::string& state, std::size_t mark,
                                               std::chrono::milliseconds deadline);
    // The States of path seen after mark, for messages.
    std::string statesSince(const std::string& path, std::size_t mark) const;

private:
    // GetVM or GetImage; nullopt when the daemon answers NotFound.
    std::optional<std::string> find(const std::string& method, const std::string& name);

    struct Change
    {
        std::string path;
        std::string state;
        Clock::time_point at;
    };
    std::unique_ptr<sdbus::IConnection> m_connection;
    std::unique_ptr<sdbus::IProxy> m_manager;
    sdbus::Slot m_match;
    sdbus::Slot m_completedMatch;
    mutable std::mutex m_mutex;
    std::vector<Change> m_changes;
    std::map<std::string, JobEnd> m_completed;
    std::map<std::string, Dict> m_results;
};

} // namespace hangar::e2e
