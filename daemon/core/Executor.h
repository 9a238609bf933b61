// How core gets work off the loop thread and back, and how it sets timers. The daemon implements it on sd-event
// with a small worker pool (daemon/Loop); unit tests use a deterministic fake. core never creates threads.
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
    // Runs fn on the loop thread once, after delay. The id can cancel it until it has run.
    virtual TimerId schedule(std::chrono::microseconds delay, std::function<void()> fn) = 0;
    virtual void cancel(TimerId id) = 0;
    // Wall-clock time in microseconds since the epoch, for records and events.
    virtual std::int64_t nowUsec() const = 0;
};

} // namespace hangar
