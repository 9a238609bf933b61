// Ephemeral VMs and expiry (core/VmLifetime), the create rate and its token bucket (core/LifetimePolicy), on the
// fake hypervisor with the driven executor, whose clock only moves when the test says.
#include "core/VmLifetime.h"

#include "CoreFixture.h"
#include "core/Reconciler.h"

#include <gtest/gtest.h>

namespace hangar {
namespace {

using testing::Capture;
using testing::CoreFixture;
using testing::kAlice;
using testing::kBob;
using namespace std::chrono_literals;

class VmLifetimeTest : public CoreFixture<>
{
protected:
    std::int64_t now() const { return executor.nowUsec() / 1'000'000; }

    Capture<std::string> tryCreate(const std::string& name, VmSpecRequest spec, std::uint32_t uid = kAlice)
    {
        Capture<std::string> r;
        manager.create(caller(uid), name, spec, r.done());
        executor.drain();
        return r;
    }
    std::string createWith(const std::string& name, bool ephemeral, std::optional<std::uint64_t> ttl = {})
    {
        VmSpecRequest spec;
        spec.ephemeral = ephemeral;
        spec.ttlSec = ttl;
        auto r = tryCreate(name, spec);
        EXPECT_TRUE(r.ok()) << (r.outcome ? r.message() : "no outcome");
        return r.ok() ? r.outcome->value() : std::string();
    }
    void start(const std::string& uuid)
    {
        ASSERT_TRUE(call([&](auto d) { manager.start(caller(kAlice), uuid, d); }).ok());
    }
    Capture<std::monostate> setExpiry(std::uint32_t uid, const std::string& uuid, std::int64_t at)
    {
        return call([&](auto d) { manager.setExpiry(caller(uid), uuid, at, d); });
    }
    // Gone everywhere: inventory, domain, volume, row.
    void expectGone(const std::string& uuid)
    {
        EXPECT_EQ(inventory.find(uuid), nullptr);
        EXPECT_FALSE(hypervisor.has(uuid));
        EXPECT_FALSE(storage.find("vm-" + uuid + ".qcow2").has_value());
        for (const auto& row : store.loadVms())
            EXPECT_NE(row.uuid, uuid);
    }
    const EventRecord* lastEvent(const std::string& action)
    {
        static std::vector<EventRecord> events;
        events = allEvents();
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->action == action)
                return &*it;
        return nullptr;
    }
};

TEST_F(VmLifetimeTest, Ephemeral_NeverStartedIsNotDeleted)
{
    const auto uuid = createWith("fresh", true);
    executor.advance(1h);
    executor.drain();
    ASSERT_NE(inventory.find(uuid), nullptr);
    EXPECT_TRUE(inventory.find(uuid)->record.ephemeral);
    EXPECT_FALSE(inventory.find(uuid)->record.hasRun);
}

TEST_F(VmLifetimeTest, Ephemeral_DeletedAfterStopWithTheReasonAudited)
{
    const auto uuid = createWith("once", true);
    start(uuid);
    EXPECT_TRUE(store.loadVms().at(0).hasRun) << "has-run is stored as soon as it runs";
    EXPECT_TRUE(call([&](auto d) { manager.stop(caller(kAlice), uuid, {}, d); }).ok());
    expectGone(uuid);
    const EventRecord* e = lastEvent("delete");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->uid, 0U);
    EXPECT_EQ(e->outcome, "ok");
    EXPECT_NE(e->message.find("ephemeral VM stopped after it ran"), std::string::npos) << e->message;
}

TEST_F(VmLifetimeTest, NotEphemeral_StaysAfterStop)
{
    const auto uuid = createWith("keeper", false);
    start(uuid);
    call([&](auto d) { manager.stop(caller(kAlice), uuid, {}, d); });
    ASSERT_NE(inventory.find(uuid), nullptr);
    EXPECT_EQ(inventory.find(uuid)->state, VmState::Stopped);
}

// The guest powering off, a crash, or virsh destroy: whatever the hypervisor reports, not only our Stop.
class EphemeralStoppedOutside : public VmLifetimeTest, public ::testing::WithParamInterface<DomainState>
{
};

TEST_P(EphemeralStoppedOutside, IsDeleted)
{
    const auto uuid = createWith("outside", true);
    start(uuid);
    hypervisor.setStateOutside(uuid, GetParam());
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, GetParam()});
    executor.drain();
    expectGone(uuid);
}

INSTANTIATE_TEST_SUITE_P(GuestPowerOffCrashOrDestroy, EphemeralStoppedOutside,
                         ::testing::Values(DomainState::Stopped, DomainState::Crashed));

TEST_F(VmLifetimeTest, Ephemeral_StoppedWhileBusyIsDeletedOnceTheOperationEnds)
{
    hypervisor.setGracefulShutdownCompletes(false);
    const auto uuid = createWith("busy", true);
    start(uuid);
    call([&](auto d) { manager.stop(caller(kAlice), uuid, {}, d); });
    // A snapshot is being taken when the guest's power-off arrives: it is applied by the snapshot's settling.
    Capture<std::monostate> snap;
    manager.createSnapshot(caller(kAlice), uuid, "s1", "", snap.done());
    hypervisor.setStateOutside(uuid, DomainState::Stopped);
    hypervisor.emit({HypervisorEvent::Kind::StateChanged, uuid, DomainState::Stopped});
    executor.drain();
    executor.advance(2s);
    executor.drain();
    expectGone(uuid);
}

TEST_F(VmLifetimeTest, Expiry_OneTimerForTheEarliestReArmedOnChange)
{
    const auto a = createWith("a", false, 100);
    const auto b = createWith("b", false, 50);
    EXPECT_EQ(manager.lifetime().armedFor(), now() + 50);
    EXPECT_EQ(executor.timers(), 1U) << "one timer, not one per VM";
    EXPECT_EQ(inventory.find(a)->record.expiresAt, now() + 100);

    ASSERT_TRUE(setExpiry(kAlice, b, now() + 200).ok());
    EXPECT_EQ(manager.lifetime().armedFor(), now() + 100);
    EXPECT_EQ(store.loadVms().at(1).expiresAt, now() + 200) << "persisted";
    start(a);

    executor.advance(99s);
    executor.drain();
    EXPECT_NE(inventory.find(a), nullptr);
    executor.advance(1s);
    executor.drain();
    expectGone(a);
    EXPECT_EQ(hypervisor.calls("destroy"), 1) << "a running VM is powered off first";
    const EventRecord* e = lastEvent("delete");
    ASSERT_NE(e, nullptr);
    EXPECT_NE(e->message.find("expired at"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find("powered off and deleted"), std::string::npos) << e->message;
    EXPECT_NE(inventory.find(b), nullptr);
    EXPECT_EQ(manager.lifetime().armedFor(), now() + 100);

    ASSERT_TRUE(setExpiry(kAlice, b, 0).ok());
    EXPECT_FALSE(manager.lifetime().armedFor().has_value()) << "nothing left to expire: no timer";
    EXPECT_EQ(executor.timers(), 0U);
}

TEST_F(VmLifetimeTest, SetExpiry_PastTimeIsInvalidAndChangesNothing)
{
    const auto uuid = createWith("past", false, 60);
    auto r = setExpiry(kAlice, uuid, now() - 1);
    EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.message().find("not in the future"), std::string::npos) << r.message();
    EXPECT_EQ(inventory.find(uuid)->record.expiresAt, now() + 60);
}

TEST_F(VmLifetimeTest, SetExpiry_OwnerWithinTheMaximumAdminBeyondIt)
{
    manager.setLifetimeSettings(LifetimeSettings{3600, 0});
    authorizer.denied[Action::ManageAllVms] = true; // alice is no administrator
    const auto uuid = createWith("bounded", false, 600);
    EXPECT_TRUE(setExpiry(kAlice, uuid, now() + 3600).ok());
    auto beyond = setExpiry(kAlice, uuid, now() + 7200);
    EXPECT_EQ(beyond.code(), ErrorCode::QuotaExceeded);
    EXPECT_NE(beyond.message().find("max_ttl_sec = 3600"), std::string::npos) << beyond.message();
    EXPECT_EQ(setExpiry(kAlice, uuid, 0).code(), ErrorCode::QuotaExceeded) << "never is beyond any maximum";
    EXPECT_EQ(inventory.find(uuid)->record.expiresAt, now() + 3600);

    authorizer.denied.erase(Action::ManageAllVms); // now she is
    EXPECT_TRUE(setExpiry(kAlice, uuid, now() + 7200).ok());
    EXPECT_TRUE(setExpiry(kBob, uuid, 0).ok()) << "an administrator acting on another's VM: freely";
    EXPECT_EQ(inventory.find(uuid)->record.expiresAt, 0);
}

TEST_F(VmLifetimeTest, Create_TtlBeyondTheMaximumIsRefusedDefaultsApplyToGuests)
{
    manager.setLifetimeSettings(LifetimeSettings{3600, 600});
    authorizer.denied[Action::ManageAllVms] = true;
    VmSpecRequest spec;
    spec.ttlSec = 7200;
    auto r = tryCreate("long", spec);
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::QuotaExceeded);
    EXPECT_TRUE(inventory.all().empty());
    const auto uuid = createWith("short", false);
    EXPECT_EQ(inventory.find(uuid)->record.expiresAt, now() + 600) << "default_ttl_sec for a guest";

    authorizer.denied.erase(Action::ManageAllVms);
    const auto admins = createWith("admins", false);
    EXPECT_EQ(inventory.find(admins)->record.expiresAt, 0) << "administrators get no default";
}

TEST_F(VmLifetimeTest, Create_TtlOutOfRangeIsInvalid)
{
    VmSpecRequest spec;
    spec.ttlSec = 0;
    auto r = tryCreate("zero", spec);
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.message().find("ttl_sec must be 1..315360000"), std::string::npos) << r.message();
}

TEST_F(VmLifetimeTest, Startup_DeletesWhatExpiredOrStoppedWhileTheDaemonWasDown)
{
    auto record = [&](const std::string& uuid, const std::string& name) {
        VmRecord r;
        r.uuid = uuid;
        r.name = name;
        r.owner = kAlice;
        r.phase = VmPhase::Ready;
        r.diskVolume = "vm-" + uuid + ".qcow2";
        return r;
    };
    VmRecord expired = record("00000000-0000-4000-8000-000000000001", "expired");
    expired.expiresAt = now() - 10;
    VmRecord ranAndStopped = record("00000000-0000-4000-8000-000000000002", "ran");
    ranAndStopped.ephemeral = true;
    ranAndStopped.hasRun = true;
    VmRecord neverRan = record("00000000-0000-4000-8000-000000000003", "never-ran");
    neverRan.ephemeral = true;
    VmRecord later = record("00000000-0000-4000-8000-000000000004", "later");
    later.expiresAt = now() + 30;
    for (const auto& r : {expired, ranAndStopped, neverRan, later}) {
        store.insertVm(r);
        storage.createBlank(r.diskVolume, kGiB);
        hypervisor.define(r);
    }
    hypervisor.start(expired.uuid);
    Reconciler reconciler{inventory, store, hypervisor, storage, images, executor, audit};
    testing::runStartup(reconciler, executor);
    executor.advance(0s);
    executor.drain();
    expectGone(expired.uuid);
    expectGone(ranAndStopped.uuid);
    EXPECT_NE(inventory.find(neverRan.uuid), nullptr);
    EXPECT_NE(inventory.find(later.uuid), nullptr);
    EXPECT_EQ(manager.lifetime().armedFor(), later.expiresAt);
}

TEST(TokenBucketTest, TakesBurstThenRefillsAtTheRate)
{
    const std::int64_t t0 = 1'000'000'000'000;
    TokenBucket bucket(3, 0.5, t0); // 3 at once, then one every 2 s
    EXPECT_EQ(bucket.take(t0), 0);
    EXPECT_EQ(bucket.take(t0), 0);
    EXPECT_EQ(bucket.take(t0), 0);
    EXPECT_DOUBLE_EQ(bucket.take(t0), 2.0);
    EXPECT_DOUBLE_EQ(bucket.take(t0 + 500'000), 1.5) << "a refused take takes nothing";
    EXPECT_EQ(bucket.take(t0 + 2'000'000), 0);
    EXPECT_DOUBLE_EQ(bucket.take(t0 + 2'000'000), 2.0);
    EXPECT_EQ(bucket.take(t0 + 100'000'000), 0) << "a long pause refills to the capacity, no more";
    EXPECT_EQ(bucket.take(t0 + 100'000'000), 0);
    EXPECT_EQ(bucket.take(t0 + 100'000'000), 0);
    EXPECT_GT(bucket.take(t0 + 100'000'000), 0);
    EXPECT_GT(bucket.take(t0 - 100'000'000), 0) << "a clock that goes back refills nothing";
}

TEST_F(VmLifetimeTest, CreateRate_RefusedWithTheWaitAdminsExemptClonesCount)
{
    manager.setCreateRate(CreateRateSettings{2, 0}); // 2 per minute, bursts of 2
    authorizer.denied[Action::ManageAllVms] = true;
    const auto first = createWith("r1", false);
    auto clone = [&](const std::string& name) {
        Capture<std::string> r;
        manager.clone(caller(kAlice), first, name, r.done());
        executor.drain();
        return r;
    };
    EXPECT_TRUE(clone("r2").ok());
    auto r = tryCreate("r3", {});
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.code(), ErrorCode::RateLimited);
    EXPECT_NE(r.message().find("try again in 30 s"), std::string::npos) << r.message();
    EXPECT_EQ(clone("r3").code(), ErrorCode::RateLimited);
    EXPECT_TRUE(tryCreate("bobs", {}, kBob).ok()) << "per user";

    executor.advance(30s);
    EXPECT_TRUE(tryCreate("r3", {}).ok());

    authorizer.denied.erase(Action::ManageAllVms);
    for (const char* name : {"a1", "a2", "a3", "a4"})
        EXPECT_TRUE(tryCreate(name, {}).ok()) << "administrators are not rate-limited";
}

TEST_F(VmLifetimeTest, CreateRate_NotConfiguredAsksPolkitNothingExtra)
{
    createWith("plain", false);
    for (const auto& request : authorizer.requests)
        EXPECT_NE(request.action, Action::ManageAllVms) << "no administrator check without a limit to exempt from";
}

} // namespace
} // namespace hangar
