// Declared in core/CopyWatch.h.
#include "core/CopyWatch.h"

#include <algorithm>
#include <fmt/format.h>

namespace hangar {
namespace {

// How often the watch looks: often enough to answer a cancel within about a second, and a fraction of the timeout.
std::chrono::microseconds tickFor(std::chrono::microseconds timeout)
{
    return std::clamp<std::chrono::microseconds>(timeout / 4, std::chrono::milliseconds(50), std::chrono::seconds(1));
}

// A cancel the work has not come back to see within this long is taken as work stuck in a read.
constexpr std::chrono::seconds kCancelGrace{1};

} // namespace

std::shared_ptr<CopyWatch> CopyWatch::start(Executor& executor, Executor::LongWorkId work,
                                            std::shared_ptr<const JobProgress> progress, std::chrono::seconds timeout,
                                            std::string what, GiveUp giveUp)
{
    std::shared_ptr<CopyWatch> watch(
        new CopyWatch(executor, work, std::move(progress), timeout, std::move(what), std::move(giveUp)));
    watch->arm();
    return watch;
}

CopyWatch::CopyWatch(Executor& executor, Executor::LongWorkId work, std::shared_ptr<const JobProgress> progress,
                     std::chrono::seconds timeout, std::string what, GiveUp giveUp)
    : m_executor(executor), m_work(work), m_progress(std::move(progress)), m_timeout(timeout), m_what(std::move(what)),
      m_giveUp(std::move(giveUp))
{}

bool CopyWatch::finished()
{
    if (m_done)
        return false;
    m_done = true;
    if (m_timer)
        m_executor.cancel(*m_timer);
    m_timer.reset();
    return true;
}

void CopyWatch::arm()
{
    // The timer holds the watch; finished() cancels it, which lets the watch go.
    m_timer = m_executor.schedule(tickFor(m_timeout), [self = shared_from_this()] {
        self->m_timer.reset();
        self->check();
    });
}

void CopyWatch::check()
{
    if (m_done)
        return;
    const auto tick = tickFor(m_timeout);
    if (m_progress && m_progress->cancelRequested.load()) {
        m_cancelled += tick;
        if (m_cancelled >= kCancelGrace)
            return abandon(Error(ErrorCode::Cancelled,
                                 fmt::format("cancelled; {} did not come back to see it (stuck in a read that does not "
                                             "return) and was abandoned",
                                             m_what)));
    }
    const std::uint64_t bytes = m_progress ? m_progress->bytesDone.load() : 0;
    if (bytes != m_lastBytes) {
        m_lastBytes = bytes;
        m_quiet = std::chrono::microseconds(0);
    } else {
        m_quiet += tick;
    }
    if (m_quiet >= m_timeout)
        return abandon(
            Error(ErrorCode::BackendFailure,
                  fmt::format("{} stopped: no data from the file for {} s (a stalled network or FUSE file system?); "
                              "nothing was imported. The limit is [Images] stall_timeout_sec in hangard.conf",
                              m_what, std::chrono::duration_cast<std::chrono::seconds>(m_timeout).count())));
    arm();
}

void CopyWatch::abandon(const Error& error)
{
    m_done = true;
    m_executor.abandon(m_work);
    m_giveUp(error);
}

} // namespace hangar
