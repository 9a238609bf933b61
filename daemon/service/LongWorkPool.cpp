// The long-I/O pool. Declared in service/LongWorkPool.h.
#include "service/LongWorkPool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <spdlog/spdlog.h>
#include <thread>
#include <utility>

namespace hangar::service {

struct LongWorkPool::State
{
    struct Item
    {
        Id id = 0;
        std::function<void()> work;
        std::function<void()> done;
    };
    struct Slot
    {
        std::thread thread;
        bool ended = false;
    };

    Post post;
    mutable std::mutex mutex;
    std::condition_variable wake;    // work queued, or stopping
    std::condition_variable settled; // a thread left its work
    std::deque<Item> queue;
    std::map<Id, bool> running; // id -> abandoned
    std::list<Slot> slots;      // stable: a thread keeps a reference to its own
    Id next = 1;
    std::size_t stuck = 0;
    bool stopping = false;

    // Each thread holds the state alive: one left stuck may end after the pool object is gone. Called with the
    // mutex held.
    static void spawn(const std::shared_ptr<State>& self)
    {
        Slot& slot = self->slots.emplace_back();
        slot.thread = std::thread([self, &slot] { self->threadMain(slot); });
    }

    // Joins the threads that ended (abandoned ones whose work came back). Called with the mutex held: an ended
    // thread no longer needs it.
    void reap()
    {
        for (auto it = slots.begin(); it != slots.end();) {
            if (it->ended && it->thread.joinable()) { // a detached slot stays: its thread may still use it
                it->thread.join();
                it = slots.erase(it);
            } else {
                ++it;
            }
        }
    }

    void threadMain(Slot& slot)
    {
        std::unique_lock lock(mutex);
        for (;;) {
            wake.wait(lock, [this] { return stopping || !queue.empty(); });
            if (stopping)
                break;
            Item item = std::move(queue.front());
            queue.pop_front();
            running[item.id] = false;
            lock.unlock();
            try {
                item.work();
            } catch (const std::exception& e) {
                spdlog::error("unhandled error in long work: {}", e.what());
            } catch (...) {
                spdlog::error("unhandled error in long work");
            }
            lock.lock();
            const bool abandoned = running[item.id];
            running.erase(item.id);
            if (abandoned) {
                --stuck; // its replacement took its place when it was abandoned: this thread goes
                break;
            }
            if (!stopping)
                post(std::move(item.done));
        }
        slot.ended = true;
        settled.notify_all();
    }
};

LongWorkPool::LongWorkPool(unsigned threads, Post post) : m_state(std::make_shared<State>())
{
    m_state->post = std::move(post);
    std::lock_guard lock(m_state->mutex);
    for (unsigned i = 0; i < threads; ++i)
        State::spawn(m_state);
}

LongWorkPool::~LongWorkPool()
{
    stop(std::chrono::milliseconds(0));
}

LongWorkPool::Id LongWorkPool::submit(std::function<void()> work, std::function<void()> done)
{
    Id id = 0;
    {
        std::lock_guard lock(m_state->mutex);
        m_state->reap();
        id = m_state->next++;
        m_state->queue.push_back({id, std::move(work), std::move(done)});
    }
    m_state->wake.notify_one();
    return id;
}

void LongWorkPool::abandon(Id id)
{
    std::lock_guard lock(m_state->mutex);
    if (m_state->stopping)
        return;
    std::erase_if(m_state->queue, [id](const State::Item& item) { return item.id == id; });
    auto it = m_state->running.find(id);
    if (it == m_state->running.end() || it->second)
        return;
    it->second = true;
    ++m_state->stuck;
    State::spawn(m_state);
    spdlog::warn("long work {} abandoned: its thread is stuck in work that does not return; a new thread replaces "
                 "it ({} stuck)",
                 id, m_state->stuck);
}

std::size_t LongWorkPool::stop(std::chrono::milliseconds grace)
{
    std::unique_lock lock(m_state->mutex);
    m_state->stopping = true;
    m_state->queue.clear();
    m_state->wake.notify_all();
    // Abandoned work has had its answer already and is not waited for.
    m_state->settled.wait_for(lock, grace, [this] {
        return std::all_of(m_state->running.begin(), m_state->running.end(),
                           [](const auto& entry) { return entry.second; });
    });
    // Idle threads leave at once once told to stop; wait for them (they hold no work), not for the stuck ones.
    m_state->settled.wait(lock, [this] {
        std::size_t ended = 0;
        for (const auto& slot : m_state->slots)
            ended += slot.ended ? 1 : 0;
        return ended + m_state->running.size() >= m_state->slots.size();
    });
    std::size_t left = 0;
    for (auto& slot : m_state->slots)
        if (!slot.ended && slot.thread.joinable()) {
            slot.thread.detach();
            ++left;
        }
    m_state->reap();
    return left;
}

std::size_t LongWorkPool::stuck() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->stuck;
}

} // namespace hangar::service
