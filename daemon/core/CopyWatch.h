// Watches long work that reads a caller's file (an import's probe, its copy) for the two ways it can stop without
// returning: the source stops answering (a read from a stalled FUSE or network file sleeps in the kernel and cannot
// be interrupted), or the caller cancels and the work does not come back to see it. Either way the work is abandoned
// (Executor::abandon: its completion will not run, its pool thread is replaced) and `giveUp` runs once on the loop
// with the error to settle with, so the caller gets an answer and the job an end whatever the source does. Loop
// thread only.
#pragma once

#include "core/Error.h"
#include "core/Executor.h"
#include "core/Jobs.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace hangar {

class CopyWatch : public std::enable_shared_from_this<CopyWatch>
{
public:
    using GiveUp = std::function<void(const Error&)>;

    // progress: the job's shared progress, or nullptr for work that reports none (then any `timeout` without an
    // answer counts as a stall). what: how the error names the work ("reading the file", "copying the file").
    static std::shared_ptr<CopyWatch> start(Executor& executor, Executor::LongWorkId work,
                                            std::shared_ptr<const JobProgress> progress, std::chrono::seconds timeout,
                                            std::string what, GiveUp giveUp);

    // The work's completion arrived: stop watching. Returns false when the watch already gave up (the completion
    // must then be ignored; with a real pool it does not even arrive).
    bool finished();

private:
    CopyWatch(Executor& executor, Executor::LongWorkId work, std::shared_ptr<const JobProgress> progress,
              std::chrono::seconds timeout, std::string what, GiveUp giveUp);
    void arm();
    void check();
    void abandon(const Error& error);

    Executor& m_executor;
    Executor::LongWorkId m_work;
    std::shared_ptr<const JobProgress> m_progress;
    std::chrono::microseconds m_timeout;
    std::string m_what;
    GiveUp m_giveUp;
    std::optional<Executor::TimerId> m_timer;
    bool m_done = false;
    std::uint64_t m_lastBytes = 0;
    std::chrono::microseconds m_quiet{0};     // since the bytes last moved
    std::chrono::microseconds m_cancelled{0}; // since a cancel was first seen
};

} // namespace hangar
