// Deterministic stand-ins for the loop-side services core needs, for unit tests: an Executor whose worker queue
// and clock the test drives, an Authorizer the test programs, an observer that records what the bus would see, and a
// runner of the Reconciler's start-up on that executor.
#pragma once

#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/Inventory.h"
#include "core/Reconciler.h"

#include <deque>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hangar::testing {

class FakeExecutor final : public Executor
{
public:
    void submit(std::function<void()> work, std::function<void()> done) override
    {
        m_queue.emplace_back(std::move(work), std::move(done));
    }
    // Long work shares the one queue (the fake has no threads); an abandoned item's work and completion become
    // no-ops wherever it is, as the real pool never runs a queued abandoned item nor the completion of a running one.
    LongWorkId submitLong(std::function<void()> work, std::function<void()> done) override
    {
        const LongWorkId id = m_nextLong++;
        auto abandoned = std::make_shared<bool>(false);
        m_abandoned[id] = abandoned;
        m_queue.emplace_back(
            [work = std::move(work), abandoned] {
                if (!*abandoned)
                    work();
            },
            [done = std::move(done), abandoned] {
                if (!*abandoned)
                    done();
            });
        return id;
    }
    void abandon(LongWorkId id) override
    {
        if (auto it = m_abandoned.find(id); it != m_abandoned.end())
            *it->second = true;
        ++abandonedCount;
    }
    std::size_t abandonedCount = 0;
    TimerId schedule(std::chrono::microseconds delay, std::function<void()> fn) override
    {
        const TimerId id = m_next++;
        m_timers[id] = {m_nowMono + delay, std::move(fn)};
        return id;
    }
    void cancel(TimerId id) override { m_timers.erase(id); }
    std::int64_t nowUsec() const override { return 1'700'000'000'000'000 + m_nowMono.count(); }

    // Runs queued work and completions until nothing is left (completions may queue more work).
    void drain()
    {
        while (!m_queue.empty()) {
            auto [work, done] = std::move(m_queue.front());
            m_queue.pop_front();
            work();
            done();
        }
    }
    // Runs the oldest queued work and its completion only (which may queue more).
    void drainOne()
    {
        auto [work, done] = std::move(m_queue.front());
        m_queue.pop_front();
        work();
        done();
    }
    // Takes the oldest queued work out, for a thread of the test's to run as a worker would; its completion stays
    // queued for the next drain on the test's (the loop's) thread, where core may be touched.
    std::function<void()> takeWork()
    {
        auto work = std::move(m_queue.front().first);
        m_queue.front().first = [] {};
        return work;
    }
    std::size_t pending() const { return m_queue.size(); }
    std::size_t timers() const { return m_timers.size(); }
    // Moves the clock and fires due timers in order.
    void advance(std::chrono::microseconds by)
    {
        m_nowMono += by;
        for (bool fired = true; fired;) {
            fired = false;
            for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
                if (it->second.first <= m_nowMono) {
                    auto fn = std::move(it->second.second);
                    m_timers.erase(it);
                    fn();
                    fired = true;
                    break;
                }
            }
        }
    }

private:
    std::deque<std::pair<std::function<void()>, std::function<void()>>> m_queue;
    std::map<TimerId, std::pair<std::chrono::microseconds, std::function<void()>>> m_timers;
    std::chrono::microseconds m_nowMono{0};
    TimerId m_next = 1;
    LongWorkId m_nextLong = 1;
    std::map<LongWorkId, std::shared_ptr<bool>> m_abandoned;
};

class FakeAuthorizer final : public Authorizer
{
public:
    struct Request
    {
        Caller caller;
        Action action;
        AuthDetails details;
    };

    void check(const Caller& caller, Action action, const AuthDetails& details, AuthCallback done) override
    {
        requests.push_back({caller, action, details});
        if (hold) {
            held.push_back(std::move(done));
            return;
        }
        if (denied.count(action))
            return done(
                Error(ErrorCode::PermissionDenied, std::string("not authorized for ") + std::string(actionId(action))));
        done(std::nullopt);
    }

    // Answers every held check with "allowed", including those the answers cause, until none is left.
    void allowAllHeld()
    {
        while (!held.empty()) {
            auto answer = std::move(held.front());
            held.erase(held.begin());
            answer(std::nullopt);
        }
    }

    std::vector<Request> requests;
    std::map<Action, bool> denied;
    bool hold = false;
    std::vector<AuthCallback> held;
};

class RecordingObserver final : public InventoryObserver
{
public:
    void vmAdded(const Vm& vm) override { added.push_back(vm.record.name); }
    void vmRemoved(const Vm& vm) override { removed.push_back(vm.record.name); }
    void vmChanged(const Vm& vm, VmFields fields) override
    {
        if (has(fields, VmField::Addresses))
            addressChanges.push_back(vm.record.name);
        if (has(fields, VmField::State))
            states.push_back(vm.record.name + ":" + std::string(stateName(vm.state)));
        if (has(fields, VmField::Name))
            renames.push_back(vm.record.name);
    }
    void countsChanged(const InventoryCounts& c) override { counts.push_back(c); }

    std::vector<std::string> added, removed, states, renames, addressChanges;
    std::vector<InventoryCounts> counts;
};

// Runs the Reconciler's start-up to its end on the driven executor and returns its report.
inline ReconcileReport runStartup(Reconciler& reconciler, FakeExecutor& executor)
{
    std::optional<ReconcileReport> report;
    reconciler.startup([&](const ReconcileReport& r) { report = r; });
    executor.drain();
    EXPECT_TRUE(report.has_value());
    return report.value_or(ReconcileReport{});
}

} // namespace hangar::testing
