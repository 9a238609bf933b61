// Jobs are long operations in progress (an image import, a publish, a command in a guest), modelled on udisks2's Job:
// they start at once, report progress while a worker moves the data, can be cancelled by whoever started them or an
// administrator, end with success or an error, and then disappear. The worker only touches the job's JobProgress
// (atomics); the JobManager samples those on the loop a few times a second and tells the JobObserver (the bus layer)
// when the figures moved, so PropertiesChanged is throttled by construction. Loop thread only, except JobProgress.
#pragma once

#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/GuestAgent.h"
#include "core/Outcome.h"
#include "core/Types.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

// Shared between the loop and the worker doing the job.
struct JobProgress
{
    std::atomic<std::uint64_t> bytesDone{0};
    std::atomic<bool> cancelRequested{false};
};

// An object a job works on, for Job.Objects.
struct JobTarget
{
    enum class Kind
    {
        Image,
        Vm,
    };
    Kind kind = Kind::Image;
    std::string id; // image id or VM UUID
    bool operator==(const JobTarget&) const = default;
};

struct Job
{
    std::uint64_t id = 0;
    std::string operation; // "import-image", "publish"
    std::uint32_t startedBy = 0;
    Action adminAction = Action::ManageImages; // who besides the starter may cancel it
    bool cancelable = false;
    bool progressValid = false; // whether bytesDone/totalBytes means anything
    std::uint64_t totalBytes = 0;
    std::int64_t startUsec = 0;
    std::vector<JobTarget> objects;
    std::shared_ptr<JobProgress> shared = std::make_shared<JobProgress>();
    // What a command run in a guest left (core/VmGuestCommands): set before the job finishes, shown as Job.Result.
    std::optional<GuestCommandStatus> result;

    // Sampled on the loop.
    double progress = 0.0;
    std::uint64_t rate = 0;           // bytes per second
    std::int64_t expectedEndUsec = 0; // 0 while unknown

    // Rate estimation state.
    std::uint64_t lastBytes = 0;
    std::int64_t lastSampleUsec = 0;
};

class JobObserver
{
public:
    virtual ~JobObserver() = default;
    virtual void jobAdded(const Job& job) = 0;
    // Progress, Rate or ExpectedEndTime moved.
    virtual void jobChanged(const Job& job) = 0;
    // The job ended; it is removed right after this call.
    virtual void jobCompleted(const Job& job, bool success, const std::string& message) = 0;
};

class JobManager
{
public:
    static constexpr std::chrono::milliseconds kSampleInterval{250};

    JobManager(Executor& executor, Authorizer& authorizer);
    ~JobManager();
    JobManager(const JobManager&) = delete;
    JobManager& operator=(const JobManager&) = delete;

    void setObserver(JobObserver* observer) { m_observer = observer; }

    // Registers a job (id assigned here) and announces it.
    Job& start(Job job);
    // Ends a job: Completed(success, message), then it is gone. Unknown ids are ignored. result, if any, is what the
    // job's Result shows (announced just before Completed).
    void finish(std::uint64_t id, bool success, const std::string& message,
                std::optional<GuestCommandStatus> result = std::nullopt);
    // Asks the job's worker to stop: allowed to its starter and to holders of its adminAction. Error(NotSupported)
    // when the job cannot be cancelled; done once the request is passed on (the job ends on its own afterwards).
    void cancel(const Caller& caller, std::uint64_t id, const Done<>& done);

    // Asks every cancelable job to stop, without authorization: the daemon is shutting down. What they leave
    // half-made is rolled back at the next start (their rows are still in their first phase).
    void cancelAll();

    const Job* find(std::uint64_t id) const;
    std::vector<const Job*> all() const;

private:
    void sample();
    void armSampler();

    Executor& m_executor;
    Authorizer& m_authorizer;
    JobObserver* m_observer = nullptr;
    std::map<std::uint64_t, std::unique_ptr<Job>> m_jobs;
    std::uint64_t m_nextId = 1;
    std::optional<Executor::TimerId> m_sampler;
};

} // namespace hangar
