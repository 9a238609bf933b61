#include "service/Loop.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sdbus-c++/IConnection.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

namespace hangar::service {
namespace {

void check(int r, const char* what)
{
    if (r < 0)
        throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

// Callbacks must never unwind into sd-event: one failing callback is logged, the daemon goes on.
template <typename Fn> void guarded(const char* what, Fn&& fn)
{
    try {
        fn();
    } catch (const std::exception& e) {
        spdlog::error("unhandled error in {}: {}", what, e.what());
    }
}

} // namespace

// sd-event's prepare callback re-reads the connection's wishes before every poll: sd-bus may have queued output
// (POLLOUT) or set a timeout since the last iteration, e.g. after a reply sent from a worker completion.
struct Loop::BusAttachment
{
    sdbus::IConnection* connection = nullptr;
    Source io;
    Source timer;

    static int onIo(sd_event_source*, int, uint32_t, void* userdata)
    {
        static_cast<BusAttachment*>(userdata)->process();
        return 0;
    }
    static int onTime(sd_event_source*, uint64_t, void* userdata)
    {
        static_cast<BusAttachment*>(userdata)->process();
        return 0;
    }
    static int onPrepare(sd_event_source*, void* userdata)
    {
        auto* self = static_cast<BusAttachment*>(userdata);
        const auto poll = self->connection->getEventLoopPollData();
        sd_event_source_set_io_events(self->io.get(), static_cast<uint32_t>(poll.events));
        if (poll.timeout_usec == UINT64_MAX) {
            sd_event_source_set_enabled(self->timer.get(), SD_EVENT_OFF);
        } else {
            sd_event_source_set_time(self->timer.get(), poll.timeout_usec);
            sd_event_source_set_enabled(self->timer.get(), SD_EVENT_ONESHOT);
        }
        return 0;
    }
    void process()
    {
        guarded("D-Bus dispatch", [this] {
            while (connection->processPendingRequest()) {
            }
        });
    }
};

Loop::Loop(unsigned workers, unsigned longWorkers)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    check(-pthread_sigmask(SIG_BLOCK, &mask, nullptr), "pthread_sigmask");
    std::signal(SIGPIPE, SIG_IGN); // a client that hangs up must not kill the daemon

    check(sd_event_new(&m_event), "sd_event_new");
    m_wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_wakeFd < 0)
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    sd_event_source* s = nullptr;
    check(sd_event_add_io(m_event, &s, m_wakeFd, EPOLLIN, &Loop::onPosted, this), "sd_event_add_io");
    m_wakeSource.reset(s);

    for (unsigned i = 0; i < workers; ++i)
        m_workers.emplace_back([this] { workerMain(); });
    m_long = std::make_unique<LongWorkPool>(longWorkers, [this](std::function<void()> done) { post(std::move(done)); });
}

Loop::~Loop()
{
    stopLongWork(std::chrono::milliseconds(0));
    stopWorkers();
    m_bus.reset();
    m_timers.clear();
    m_signalSources.clear();
    m_wakeSource.reset();
    if (m_wakeFd >= 0)
        close(m_wakeFd);
    sd_event_unref(m_event);
}

void Loop::post(std::function<void()> fn)
{
    {
        std::lock_guard lock(m_postMutex);
        m_posted.push_back(std::move(fn));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(m_wakeFd, &one, sizeof one);
}

int Loop::onPosted(sd_event_source*, int fd, uint32_t, void* userdata)
{
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = read(fd, &count, sizeof count);
    static_cast<Loop*>(userdata)->drainPosted();
    return 0;
}

void Loop::drainPosted()
{
    std::deque<std::function<void()>> batch;
    {
        std::lock_guard lock(m_postMutex);
        batch.swap(m_posted);
    }
    for (auto& fn : batch)
        guarded("posted callback", fn);
}

void Loop::submit(std::function<void()> work, std::function<void()> done)
{
    {
        std::lock_guard lock(m_workMutex);
        m_work.emplace_back(std::move(work), std::move(done));
    }
    m_workCv.notify_one();
}

Executor::LongWorkId Loop::submitLong(std::function<void()> work, std::function<void()> done)
{
    return m_long->submit(std::move(work), std::move(done));
}

void Loop::abandon(LongWorkId id)
{
    m_long->abandon(id);
}

std::size_t Loop::stopLongWork(std::chrono::milliseconds grace)
{
    return m_long->stop(grace);
}

void Loop::workerMain()
{
    for (;;) {
        std::pair<std::function<void()>, std::function<void()>> item;
        {
            std::unique_lock lock(m_workMutex);
            m_workCv.wait(lock, [this] { return m_stopping || !m_work.empty(); });
            if (m_stopping)
                return;
            item = std::move(m_work.front());
            m_work.pop_front();
        }
        guarded("worker", item.first);
        post(std::move(item.second));
    }
}

void Loop::stopWorkers()
{
    {
        std::lock_guard lock(m_workMutex);
        m_stopping = true;
        m_work.clear();
    }
    m_workCv.notify_all();
    for (auto& t : m_workers)
        if (t.joinable())
            t.join();
    m_workers.clear();
}

Executor::TimerId Loop::schedule(std::chrono::microseconds delay, std::function<void()> fn)
{
    auto timer = std::make_unique<Timer>();
    timer->loop = this;
    timer->id = m_nextTimer++;
    timer->fn = std::move(fn);
    sd_event_source* s = nullptr;
    check(sd_event_add_time_relative(m_event, &s, CLOCK_MONOTONIC, static_cast<uint64_t>(delay.count()), 0,
                                     &Loop::onTimer, timer.get()),
          "sd_event_add_time_relative");
    timer->source.reset(s);
    const TimerId id = timer->id;
    m_timers.emplace(id, std::move(timer));
    return id;
}

int Loop::onTimer(sd_event_source*, uint64_t, void* userdata)
{
    auto* timer = static_cast<Timer*>(userdata);
    Loop* loop = timer->loop;
    auto fn = std::move(timer->fn);
    loop->m_timers.erase(timer->id); // sd-event defers freeing a source that is being dispatched
    guarded("timer", fn);
    return 0;
}

void Loop::cancel(TimerId id)
{
    m_timers.erase(id);
}

std::int64_t Loop::nowUsec() const
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void Loop::attachBus(sdbus::IConnection& connection)
{
    auto bus = std::make_unique<BusAttachment>();
    bus->connection = &connection;
    const auto poll = connection.getEventLoopPollData();
    sd_event_source* s = nullptr;
    check(sd_event_add_io(m_event, &s, poll.fd, static_cast<uint32_t>(poll.events), &BusAttachment::onIo, bus.get()),
          "sd_event_add_io(bus)");
    bus->io.reset(s);
    check(sd_event_source_set_prepare(s, &BusAttachment::onPrepare), "sd_event_source_set_prepare");
    check(sd_event_add_time(m_event, &s, CLOCK_MONOTONIC, UINT64_MAX, 0, &BusAttachment::onTime, bus.get()),
          "sd_event_add_time(bus)");
    bus->timer.reset(s);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
    m_bus = std::move(bus);
    // Messages may already be queued (e.g. the reply to RequestName): handle them on the first iteration.
    post([this] { m_bus->process(); });
}

void Loop::onSignal(int signo, std::function<void()> handler)
{
    auto owned = std::make_unique<std::function<void()>>(std::move(handler));
    sd_event_source* s = nullptr;
    check(sd_event_add_signal(
              m_event, &s, signo,
              [](sd_event_source*, const signalfd_siginfo*, void* userdata) {
                  guarded("signal handler", *static_cast<std::function<void()>*>(userdata));
                  return 0;
              },
              owned.get()),
          "sd_event_add_signal");
    m_signalSources.emplace_back(s);
    m_signalHandlers.push_back(std::move(owned));
}

void Loop::enableWatchdog()
{
    check(sd_event_set_watchdog(m_event, 1), "sd_event_set_watchdog");
}

int Loop::run()
{
    return sd_event_loop(m_event);
}

void Loop::exit(int code)
{
    sd_event_exit(m_event, code);
}

} // namespace hangar::service
