// The long-I/O pool (service/LongWorkPool) with real threads: bounded, completions posted, abandoned work replaced
// and its completion dropped, and a stop that does not wait for work stuck in a read.
#include "service/LongWorkPool.h"

#include "support/Process.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <vector>

namespace hangar::service {
namespace {

using namespace std::chrono_literals;

// A gate work items wait at until the test opens it (a read that does not return until then).
class Gate
{
public:
    void wait()
    {
        std::unique_lock lock(m_mutex);
        ++m_waiting;
        m_changed.notify_all();
        m_changed.wait(lock, [this] { return m_open; });
        --m_waiting;
    }
    void open()
    {
        std::lock_guard lock(m_mutex);
        m_open = true;
        m_changed.notify_all();
    }
    bool waitWaiting(int n, std::chrono::milliseconds deadline)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, deadline, [&] { return m_waiting >= n; });
    }
    int waiting()
    {
        std::lock_guard lock(m_mutex);
        return m_waiting;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_waiting = 0;
    bool m_open = false;
};

// What the pool posts, as the loop would receive it.
class Posted
{
public:
    LongWorkPool::Post post()
    {
        return [this](std::function<void()> fn) {
            std::lock_guard lock(m_mutex);
            m_fns.push_back(std::move(fn));
            m_changed.notify_all();
        };
    }
    // Runs what was posted, waiting up to deadline for at least n completions in all.
    std::size_t runUntil(std::size_t n, std::chrono::milliseconds deadline)
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait_for(lock, deadline, [&] { return m_ran + m_fns.size() >= n; });
        auto fns = std::move(m_fns);
        m_fns.clear();
        lock.unlock();
        for (auto& fn : fns)
            fn();
        lock.lock();
        m_ran += fns.size();
        return m_ran;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<std::function<void()>> m_fns;
    std::size_t m_ran = 0;
};

TEST(LongWorkPoolTest, RunsAtMostItsSizeAtOnceAndPostsEachCompletion)
{
    Posted posted;
    Gate gate;
    std::atomic<int> done{0};
    LongWorkPool pool(2, posted.post());
    for (int i = 0; i < 4; ++i)
        pool.submit([&] { gate.wait(); }, [&] { ++done; });
    ASSERT_TRUE(gate.waitWaiting(2, 5s));
    EXPECT_FALSE(gate.waitWaiting(3, 200ms)) << "more items ran at once than the pool has threads";
    gate.open();
    EXPECT_EQ(posted.runUntil(4, 5s), 4U);
    EXPECT_EQ(done.load(), 4);
}

TEST(LongWorkPoolTest, AbandonedRunningWorkIsReplacedAndItsCompletionDropped)
{
    Posted posted;
    Gate stuck;
    std::atomic<bool> stuckDone{false};
    std::atomic<bool> otherDone{false};
    LongWorkPool pool(1, posted.post());
    const auto id = pool.submit([&] { stuck.wait(); }, [&] { stuckDone = true; });
    ASSERT_TRUE(stuck.waitWaiting(1, 5s));
    pool.abandon(id);
    EXPECT_EQ(pool.stuck(), 1U);

    // The one-thread pool still runs new work: a new thread took the stuck one's place.
    pool.submit([] {}, [&] { otherDone = true; });
    EXPECT_EQ(posted.runUntil(1, 5s), 1U);
    EXPECT_TRUE(otherDone.load());

    stuck.open(); // the read returns at last: its completion is not posted
    EXPECT_TRUE(support::waitFor([&] { return pool.stuck() == 0; }, 5s));
    EXPECT_EQ(posted.runUntil(2, 300ms), 1U);
    EXPECT_FALSE(stuckDone.load());
}

TEST(LongWorkPoolTest, AbandonedQueuedWorkNeverRuns)
{
    Posted posted;
    Gate gate;
    std::atomic<bool> ran{false};
    LongWorkPool pool(1, posted.post());
    pool.submit([&] { gate.wait(); }, [] {});
    ASSERT_TRUE(gate.waitWaiting(1, 5s));
    const auto queued = pool.submit([&] { ran = true; }, [] {});
    pool.abandon(queued);
    EXPECT_EQ(pool.stuck(), 0U) << "a queued item holds no thread";
    gate.open();
    EXPECT_EQ(posted.runUntil(1, 5s), 1U);
    EXPECT_EQ(posted.runUntil(2, 200ms), 1U);
    EXPECT_FALSE(ran.load());
}

TEST(LongWorkPoolTest, StopWaitsOnlyTheGraceForStuckWorkWhichMayEndAfterThePoolIsGone)
{
    Posted posted;
    auto gate = std::make_shared<Gate>();
    auto ended = std::make_shared<std::atomic<bool>>(false);
    std::size_t left = 0;
    {
        LongWorkPool pool(2, posted.post());
        pool.submit(
            [gate, ended] {
                gate->wait();
                *ended = true;
            },
            [] { ADD_FAILURE() << "posted after stop"; });
        ASSERT_TRUE(gate->waitWaiting(1, 5s));
        const auto before = std::chrono::steady_clock::now();
        left = pool.stop(300ms);
        const auto took = std::chrono::steady_clock::now() - before;
        EXPECT_LT(took, 5s) << "stop waited for the stuck work";
        EXPECT_EQ(pool.stop(0ms), 0U) << "a second stop has nothing more to leave";
    }
    EXPECT_EQ(left, 1U);
    gate->open(); // after the pool object is gone
    EXPECT_TRUE(support::waitFor([&] { return ended->load(); }, 5s));
    EXPECT_EQ(posted.runUntil(1, 200ms), 0U);
}

} // namespace
} // namespace hangar::service
