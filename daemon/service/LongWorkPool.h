// The pool for long I/O: image copies and reads of a caller's file descriptor, apart from the Loop's short-call
// workers so that six large imports cannot make a CreateVM wait (issue 17, defect 4). Bounded: at most `threads`
// items run at once, the rest queue. Work that does not return (a read from a stalled FUSE or network file sleeps in
// the kernel and cannot be interrupted) can be abandoned: its completion is dropped and a new thread takes its
// place, so the pool keeps its size; the stuck thread ends whenever its read returns. stop() waits for running work
// only up to a grace period and leaves threads still stuck behind (they share the pool's state, so they may end
// after the pool object is gone); the daemon then exits without running destructors that work might still use.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace hangar::service {

class LongWorkPool
{
public:
    using Id = std::uint64_t;
    using Post = std::function<void(std::function<void()>)>;

    // post hands a completion to the loop thread (Loop::post).
    LongWorkPool(unsigned threads, Post post);
    ~LongWorkPool();
    LongWorkPool(const LongWorkPool&) = delete;
    LongWorkPool& operator=(const LongWorkPool&) = delete;

    // Thread-safe. work runs on a pool thread; then done is posted, unless the item was abandoned meanwhile.
    Id submit(std::function<void()> work, std::function<void()> done);
    // Thread-safe. See the header comment; an unknown or finished id is ignored.
    void abandon(Id id);

    // Drops queued work, waits up to grace for running work to return, joins every thread that ended and leaves
    // the others. Returns how many were left, stuck in work that did not return. Idempotent.
    std::size_t stop(std::chrono::milliseconds grace);

    // Threads currently inside work that was abandoned (for the log and the tests).
    std::size_t stuck() const;

private:
    struct State;
    std::shared_ptr<State> m_state;
};

} // namespace hangar::service
