#include "virt/LibvirtEventLoop.h"

#include "virt/LibvirtSupport.h"

#include <atomic>
#include <mutex>
#include <thread>

namespace hangar::virt {
namespace {

// Process-wide, like libvirt's loop itself. The mutex is held while the thread is stopped and joined, so a new
// reference taken meanwhile waits instead of starting a second thread on the same loop.
struct LoopThread
{
    std::mutex mutex;
    std::size_t references = 0;
    std::atomic<bool> stopping = false;
    std::thread thread;
};

LoopThread& loopThread()
{
    static LoopThread instance;
    return instance;
}

void runLoop(LoopThread& loop)
{
    logger()->debug("libvirt event loop started");
    while (!loop.stopping.load()) {
        if (virEventRunDefaultImpl() < 0)
            logger()->warn("libvirt event loop iteration failed: {}", lastFailure().message);
    }
    logger()->debug("libvirt event loop stopped");
}

// A zero timeout fires on the next iteration; removing itself keeps it from firing forever.
void wakeOnce(int timer, void*)
{
    virEventRemoveTimeout(timer);
}

} // namespace

std::shared_ptr<LibvirtEventLoop> LibvirtEventLoop::acquire()
{
    initLibvirt();
    return std::make_shared<LibvirtEventLoop>(Key{});
}

LibvirtEventLoop::LibvirtEventLoop(Key)
{
    auto& loop = loopThread();
    const std::lock_guard lock(loop.mutex);
    if (loop.references++ == 0) {
        loop.stopping = false;
        loop.thread = std::thread([&loop] { runLoop(loop); });
    }
}

LibvirtEventLoop::~LibvirtEventLoop()
{
    auto& loop = loopThread();
    const std::lock_guard lock(loop.mutex);
    if (--loop.references != 0)
        return;
    loop.stopping = true;
    // The loop blocks in poll until something is due; without this wake-up it might never look at the flag.
    if (virEventAddTimeout(0, wakeOnce, nullptr, nullptr) < 0)
        logger()->error("cannot wake the libvirt event loop to stop it: {}", lastFailure().message);
    if (loop.thread.get_id() == std::this_thread::get_id())
        loop.thread.detach(); // the last reference died on the loop thread itself; it exits after this iteration
    else
        loop.thread.join();
}

} // namespace hangar::virt
