// The common ground of core's unit tests: a VmManager wired to the fake hypervisor, the programmable authorizer,
// the driven executor and the real SQLite store in memory, with an observer of the test's choice; plus Capture,
// which holds the outcome of one asynchronous core call, JobLog, which records the jobs as the bus would see them,
// and tempFile, a caller's file.
#pragma once

#include "core/AuditLog.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "core/Quota.h"
#include "core/VmManager.h"
#include "fakes/CoreFakes.h"
#include "fakes/FakeHypervisor.h"
#include "fakes/FakeOsCatalog.h"
#include "fakes/FakeStorage.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace hangar::testing {

inline constexpr std::uint32_t kAlice = 1001;
inline constexpr std::uint32_t kBob = 1002;

template <typename T> struct Capture
{
    std::optional<Outcome<T>> outcome;
    Done<T> done()
    {
        return [this](Outcome<T> o) { outcome.emplace(std::move(o)); };
    }
    bool ok() const { return outcome && outcome->ok(); }
    ErrorCode code() const { return outcome->error().code(); }
    std::string message() const { return outcome->error().what(); }
};

// What the bus would see of the jobs.
struct JobLog final : JobObserver
{
    void jobAdded(const Job& job) override { added.push_back(job.operation); }
    void jobChanged(const Job& job) override { progress.push_back(job.progress); }
    void jobCompleted(const Job&, bool success, const std::string& message) override
    {
        completed.emplace_back(success, message);
    }
    std::vector<std::string> added;
    std::vector<double> progress;
    std::vector<std::pair<bool, std::string>> completed;
};

// A file of these bytes, already unlinked.
inline SharedFd tempFile(const std::string& bytes)
{
    char path[] = "/tmp/hangar-test-XXXXXX";
    const int fd = ::mkstemp(path);
    ::unlink(path);
    EXPECT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    return std::make_shared<UniqueFd>(fd);
}

template <typename Observer = RecordingObserver> class CoreFixture : public ::testing::Test
{
protected:
    CoreFixture()
    {
        inventory.setObserver(&observer);
        hypervisor.subscribe([this](const HypervisorEvent& e) { manager.handleHypervisorEvent(e); });
    }

    Caller caller(std::uint32_t uid) const
    {
        Caller c;
        c.uid = uid;
        c.busName = ":1." + std::to_string(uid);
        return c;
    }

    // Creates a VM and returns its uuid, asserting success.
    std::string create(const std::string& name, std::uint32_t uid = kAlice)
    {
        Capture<std::string> r;
        manager.create(caller(uid), name, {}, r.done());
        executor.drain();
        EXPECT_TRUE(r.ok()) << (r.outcome ? r.message() : "no outcome");
        return r.ok() ? r.outcome->value() : std::string();
    }

    // Runs one asynchronous call to completion and returns its outcome.
    template <typename Fn> Capture<std::monostate> call(Fn fn)
    {
        Capture<std::monostate> r;
        fn(r.done());
        executor.drain();
        EXPECT_TRUE(r.outcome.has_value());
        return r;
    }

    std::vector<EventRecord> allEvents()
    {
        EventFilter all;
        all.limit = 1000;
        return store.events(all);
    }

    store::SqliteStore store{":memory:"};
    FakeHypervisor hypervisor;
    FakeStorage storage;
    FakeAuthorizer authorizer;
    FakeExecutor executor;
    Inventory inventory;
    Observer observer;
    AuditLog audit{store, executor};
    QuotaManager quotas{inventory, store, authorizer, audit, QuotaLimits{}};
    JobManager jobs{executor, authorizer};
    FakeOsCatalog osCatalog;
    ImageManager images{inventory, store, storage, authorizer, executor, audit, jobs, quotas, 1ULL << 40U, osCatalog};
    VmManager manager{inventory, store, hypervisor, storage, images, authorizer, executor, audit, quotas, "local"};
};

} // namespace hangar::testing
