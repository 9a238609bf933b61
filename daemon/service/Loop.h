// The daemon's one event loop, on sd-event. Everything that touches core state runs here: D-Bus traffic (the
// sdbus-c++ connection is polled by this loop, not by a thread of its own), timers, signals, and the completions
// of blocking work. Blocking work (libvirt calls) runs on a small worker pool and is posted back. post() is the
// only thread-safe entry point; everything else is loop-thread only.
#pragma once

#include "core/Executor.h"
#include "service/LongWorkPool.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <systemd/sd-event.h>
#include <thread>
#include <vector>

namespace sdbus {
class IConnection;
}

namespace hangar::service {

class Loop final : public Executor
{
public:
    // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, so every thread started later (workers, libvirt's
    // event thread) inherits the mask and only the loop receives them.
    // workers: threads for short blocking calls (libvirt); longWorkers: the bounded pool for long I/O.
    Loop(unsigned workers, unsigned longWorkers);
    ~Loop() override;
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Thread-safe: runs fn on the loop thread soon.
    void post(std::function<void()> fn);

    void submit(std::function<void()> work, std::function<void()> done) override;
    LongWorkId submitLong(std::function<void()> work, std::function<void()> done) override;
    void abandon(LongWorkId id) override;
    TimerId schedule(std::chrono::microseconds delay, std::function<void()> fn) override;
    void cancel(TimerId id) override;
    std::int64_t nowUsec() const override;

    // Serves the connection's traffic from this loop.
    void attachBus(sdbus::IConnection& connection);
    void onSignal(int signo, std::function<void()> handler);
    // Sends WATCHDOG=1 at half the interval systemd asked for (no-op when not asked).
    void enableWatchdog();

    int run();
    void exit(int code);
    // Joins the workers after letting running work finish; queued work that has not started is dropped. Call
    // before destroying what work items reference (the hypervisor).
    void stopWorkers();
    // Stops the long-I/O pool: queued work dropped, running work given up to grace to return. Returns how many
    // threads were left stuck in work that did not return (see service/LongWorkPool.h).
    std::size_t stopLongWork(std::chrono::milliseconds grace);

private:
    struct SourceUnref
    {
        void operator()(sd_event_source* s) const { sd_event_source_disable_unref(s); }
    };
    using Source = std::unique_ptr<sd_event_source, SourceUnref>;
    struct BusAttachment;

    static int onPosted(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int onTimer(sd_event_source* s, uint64_t usec, void* userdata);
    void drainPosted();
    void workerMain();

    sd_event* m_event = nullptr;
    int m_wakeFd = -1;
    Source m_wakeSource;
    std::mutex m_postMutex;
    std::deque<std::function<void()>> m_posted;

    struct Timer
    {
        Loop* loop = nullptr;
        TimerId id = 0;
        Source source;
        std::function<void()> fn;
    };
    std::map<TimerId, std::unique_ptr<Timer>> m_timers;
    TimerId m_nextTimer = 1;
    std::vector<Source> m_signalSources;
    std::vector<std::unique_ptr<std::function<void()>>> m_signalHandlers;
    std::unique_ptr<BusAttachment> m_bus;

    std::mutex m_workMutex;
    std::condition_variable m_workCv;
    std::deque<std::pair<std::function<void()>, std::function<void()>>> m_work;
    bool m_stopping = false;
    std::vector<std::thread> m_workers;
    // Made in the constructor's body, after the signal mask: its threads must inherit it.
    std::unique_ptr<LongWorkPool> m_long;
};

} // namespace hangar::service
