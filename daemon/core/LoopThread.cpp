#include "core/LoopThread.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

namespace hangar {
namespace {

// The hash of the loop thread's id; 0 = not bound yet. An atomic of a hash, because std::thread::id is not
// guaranteed lock-free as an atomic and the check must stay cheap.
std::atomic<std::size_t> g_loop{0};

std::size_t currentThread()
{
    const std::size_t id = std::hash<std::thread::id>{}(std::this_thread::get_id());
    return id == 0 ? 1 : id; // 0 means unbound
}

} // namespace

void LoopThread::bind()
{
    g_loop.store(currentThread(), std::memory_order_relaxed);
}

void LoopThread::assertOnLoop(const char* where)
{
    const std::size_t self = currentThread();
    std::size_t loop = g_loop.load(std::memory_order_relaxed);
    if (loop == 0 && g_loop.compare_exchange_strong(loop, self, std::memory_order_relaxed))
        return;
    if (loop == self)
        return;
    std::fprintf(stderr,
                 "hangard: %s entered off the event loop's thread; core is loop-thread only (see "
                 "core/LoopThread.h)\n",
                 where);
    std::abort();
}

} // namespace hangar
