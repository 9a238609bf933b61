#include "core/Jobs.h"

#include <fmt/format.h>

namespace hangar {

JobManager::JobManager(Executor& executor, Authorizer& authorizer) : m_executor(executor), m_authorizer(authorizer) {}

JobManager::~JobManager()
{
    if (m_sampler)
        m_executor.cancel(*m_sampler);
}

Job& JobManager::start(Job job)
{
    job.id = m_nextId++;
    job.startUsec = m_executor.nowUsec();
    job.lastSampleUsec = job.startUsec;
    auto& slot = m_jobs[job.id];
    slot = std::make_unique<Job>(std::move(job));
    if (m_observer)
        m_observer->jobAdded(*slot);
    armSampler();
    return *slot;
}

void JobManager::finish(std::uint64_t id, bool success, const std::string& message,
                        std::optional<GuestCommandStatus> result)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end())
        return;
    Job& job = *it->second;
    job.result = std::move(result);
    if (success && job.progressValid && job.progress < 1.0) {
        job.progress = 1.0;
        job.expectedEndUsec = m_executor.nowUsec();
        if (m_observer)
            m_observer->jobChanged(job);
    }
    if (m_observer)
        m_observer->jobCompleted(job, success, message);
    m_jobs.erase(it);
    if (m_jobs.empty() && m_sampler) {
        m_executor.cancel(*m_sampler);
        m_sampler.reset();
    }
}

void JobManager::cancel(const Caller& caller, std::uint64_t id, const Done<>& done)
{
    const Job* job = find(id);
    if (!job)
        return done(Error(ErrorCode::NotFound, "the job has ended"));
    if (!job->cancelable)
        return done(Error(ErrorCode::NotSupported, fmt::format("a {} job cannot be cancelled", job->operation)));
    auto request = [this, id, done] {
        const Job* job = find(id);
        if (!job)
            return done(Error(ErrorCode::NotFound, "the job has ended"));
        job->shared->cancelRequested = true;
        done(std::monostate{});
    };
    if (job->startedBy == caller.uid)
        return request();
    m_authorizer.check(caller, job->adminAction, {{"verb", "cancel"}, {"job", job->operation}},
                       [request, done](std::optional<Error> denied) {
                           if (denied)
                               return done(*denied);
                           request();
                       });
}

void JobManager::cancelAll()
{
    for (auto& [id, job] : m_jobs)
        if (job->cancelable)
            job->shared->cancelRequested = true;
}

const Job* JobManager::find(std::uint64_t id) const
{
    auto it = m_jobs.find(id);
    return it == m_jobs.end() ? nullptr : it->second.get();
}

std::vector<const Job*> JobManager::all() const
{
    std::vector<const Job*> out;
    for (const auto& [id, job] : m_jobs)
        out.push_back(job.get());
    return out;
}

void JobManager::armSampler()
{
    if (m_sampler || m_jobs.empty())
        return;
    m_sampler = m_executor.schedule(kSampleInterval, [this] {
        m_sampler.reset();
        sample();
        armSampler();
    });
}

void JobManager::sample()
{
    const std::int64_t now = m_executor.nowUsec();
    for (auto& [id, job] : m_jobs) {
        if (!job->progressValid || job->totalBytes == 0)
            continue;
        const std::uint64_t done = std::min(job->shared->bytesDone.load(), job->totalBytes);
        const double progress = static_cast<double>(done) / static_cast<double>(job->totalBytes);
        const std::int64_t elapsed = now - job->lastSampleUsec;
        std::uint64_t rate = job->rate;
        if (elapsed > 0 && done >= job->lastBytes) {
            const double instant = static_cast<double>(done - job->lastBytes) * 1e6 / static_cast<double>(elapsed);
            // Smoothed over about a second of samples, so the estimate does not jump with every read.
            rate = job->rate == 0 ? static_cast<std::uint64_t>(instant)
                                  : static_cast<std::uint64_t>(0.3 * instant + 0.7 * static_cast<double>(job->rate));
        }
        std::int64_t expectedEnd = job->expectedEndUsec;
        if (rate > 0)
            expectedEnd = now + static_cast<std::int64_t>(static_cast<double>(job->totalBytes - done) * 1e6 /
                                                          static_cast<double>(rate));
        job->lastBytes = done;
        job->lastSampleUsec = now;
        if (progress == job->progress && rate == job->rate)
            continue;
        job->progress = progress;
        job->rate = rate;
        job->expectedEndUsec = expectedEnd;
        if (m_observer)
            m_observer->jobChanged(*job);
    }
}

} // namespace hangar
