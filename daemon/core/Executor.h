// How core gets work off the loop thread and back, and how it sets timers. The daemon implements it on sd-event
// with a small worker pool and a pool for long I/O (service/Loop, service/LongWorkPool); unit tests use a
// deterministic fake. core never creates threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace hangar {

class Executor
{
public:
    using TimerId = std::uint64_t;

    virtual ~Executor() = default;
    // Runs work on a worker thread, then done on the loop thread. work must not touch core state; done may.
    virtual void submit(std::function<void()> work, std::function<void()> done) = 0;
    // Long I/O (an image's copy, reads of a caller's file) on a bounded pool of its own, so that the short calls
    // submit() runs never queue behind it: work on a pool thread, then done on the loop thread.
    using LongWorkId = std::uint64_t;
    virtual LongWorkId submitLong(std::function<void()> work, std::function<void()> done) = 0;
    // Gives up on long work that does not return (a read that never answers): its done will not run. Queued, it
    // never starts; running, its thread is replaced so the pool keeps its size, and ends whenever the work returns.
    virtual void abandon(LongWorkId id) = 0;
    // Runs fn on the loop thread once, after delay. The id can cancel it until it has run.
    virtual TimerId schedule(std::chrono::microseconds delay, std::function<void()> fn) = 0;
    virtual void cancel(TimerId id) = 0;
    // Wall-clock time in microseconds since the epoch, for records and events.
    virtual std::int64_t nowUsec() const = 0;
};

} // namespace hangar
