// Follows one org.hangar.Hangar1.Job (Manager.ImportImage, VM.Publish, VM.Exec/AddUser/InstallPackages) from the call
// that starts it to its end, showing its progress on stderr, and cancelling it on Ctrl-C. Shared by `image import` and
// `publish`.
//
// Nothing about the job's end can be missed: the subscriptions (the Completed signal of every job, the removal of
// objects, the daemon leaving the bus) are in place, and the event loop runs, before the call that creates the job
// is sent. A job that ends before hangarctl saw its Completed is judged from the image it was filling.
#pragma once

#include "Commands.h"
#include "JobProgress.h"
#include "Waiter.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace hangar::client {

class JobFollower
{
public:
    // label: what the progress line starts with ("Importing web-base"); imageName: the image the job fills, which
    // decides the outcome should the job be gone before its Completed signal arrived. Blocks SIGINT/SIGTERM from here
    // on (Waiter), so a Ctrl-C while the job is being started still cancels it once its path is known.
    JobFollower(Context& context, std::string label, std::string imageName);
    // The loop thread's handlers point into this object: the loop is stopped before the members go.
    ~JobFollower();
    JobFollower(const JobFollower&) = delete;
    JobFollower& operator=(const JobFollower&) = delete;

    // Subscribes, then calls start (which makes the call that creates the job and returns the job's path), then
    // follows the job until it ends. An sdbus::Error from start propagates: there is no job to follow then.
    JobOutcome run(const std::function<sdbus::ObjectPath()>& start);
    // The job's Result (commands in guests), as announced before its Completed; empty if none was seen.
    std::map<std::string, sdbus::Variant> result();

private:
    struct Completion
    {
        bool success = false;
        std::string message;
    };

    void subscribe();
    void readJob();
    std::optional<JobOutcome> outcome();
    std::optional<JobOutcome> onInterrupt(std::chrono::steady_clock::time_point& cancelDeadline);
    JobOutcome judgeByImage();

    Context& m_context;
    std::string m_label;
    std::string m_imageName;
    Waiter m_waiter; // blocks SIGINT/SIGTERM before the event loop thread exists
    std::unique_ptr<ManagerProxy> m_manager;
    sdbus::Slot m_completedMatch;
    sdbus::Slot m_resultMatch;
    std::unique_ptr<JobProxy> m_jobProxy;
    bool m_loopStarted = false;
    bool m_cancelRequested = false;
    // When hangarctl found the job object gone without having seen Completed (main thread only).
    std::optional<std::chrono::steady_clock::time_point> m_goneSince;
    std::chrono::steady_clock::time_point m_lastHeard; // last news of the job: a signal, or a successful read

    std::mutex m_mutex;      // guards the members below, written by the loop thread's handlers
    sdbus::ObjectPath m_job; // empty until the call returned
    std::map<sdbus::ObjectPath, Completion> m_completed; // Completed per job path (any job, until m_job is known)
    std::set<sdbus::ObjectPath> m_removed;               // job objects removed (likewise)
    std::map<sdbus::ObjectPath, std::map<std::string, sdbus::Variant>> m_results; // Result per job path
    JobStatus m_status;
    bool m_statusRead = false; // m_status holds the job's properties (GetAll answered at least once)
    bool m_news = false;       // a signal arrived since the main thread last looked
    bool m_daemonGone = false; // a read of the job could not reach hangard (or DaemonWatch said it left)
};

} // namespace hangar::client
