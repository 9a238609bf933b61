// Quotas in core: which limits apply to whom, what exceeding one says, and that checking and reserving cannot be
// overtaken by parallel requests.
#include "core/Quota.h"

#include "core/AuditLog.h"
#include "core/ImageManager.h"
#include "core/Jobs.h"
#include "core/VmManager.h"
#include "fakes/CoreFakes.h"
#include "fakes/FakeHypervisor.h"
#include "fakes/FakeStorage.h"
#include "store/SqliteStore.h"

#include <gtest/gtest.h>
#include <set>

namespace hangar {
namespace {

constexpr std::uint32_t kGuest = 1001;
constexpr std::uint32_t kAdmin = 1002;

class QuotaTest : public ::testing::Test
{
protected:
    static QuotaLimits guestDefaults()
    {
        QuotaLimits d;
        d.maxVms = 2;
        d.maxRunning = 1;
        d.maxVcpus = 4;
        d.maxMemoryMiB = 2048;
        d.maxDiskGiB = 50;
        return d;
    }

    Caller caller(std::uint32_t uid)
    {
        Caller c;
        c.uid = uid;
        c.busName = ":1." + std::to_string(uid);
        return c;
    }

    // The fake authorizer knows no users: make the guest a guest (no manage-all-vms, no manage-hosts).
    void guestIsNotAdmin() { authorizer.deniedFor[kGuest] = {Action::ManageAllVms, Action::ManageHosts}; }

    Outcome<std::string> create(std::uint32_t uid, const std::string& name, VmSpecRequest spec = {})
    {
        std::optional<Outcome<std::string>> out;
        manager.create(caller(uid), name, spec, [&](Outcome<std::string> o) { out.emplace(std::move(o)); });
        executor.drain();
        return out.value_or(Outcome<std::string>(Error(ErrorCode::BackendFailure, "no answer")));
    }

    std::optional<Error> start(std::uint32_t uid, const std::string& uuid)
    {
        std::optional<std::optional<Error>> out;
        manager.start(caller(uid), uuid, [&](Outcome<> o) { out = o.ok() ? std::nullopt : std::optional(o.error()); });
        executor.drain();
        return out.value_or(Error(ErrorCode::BackendFailure, "no answer"));
    }

    QuotaReport report(std::uint32_t asUid, std::uint32_t ofUid)
    {
        std::optional<Outcome<QuotaReport>> out;
        quotas.get(caller(asUid), ofUid, [&](Outcome<QuotaReport> o) { out.emplace(std::move(o)); });
        EXPECT_TRUE(out && out->ok()) << (out && !out->ok() ? out->error().what() : "");
        return out && out->ok() ? out->value() : QuotaReport{};
    }

    const QuotaLimits defaults = guestDefaults();
    store::SqliteStore store{":memory:"};
    testing::FakeHypervisor hypervisor;
    struct Authorizer final : hangar::Authorizer
    {
        void check(const Caller& c, Action a, const AuthDetails&, AuthCallback done) override
        {
            auto it = deniedFor.find(c.uid);
            if (it != deniedFor.end() && it->second.count(a))
                return done(Error(ErrorCode::PermissionDenied, "not authorized: " + std::string(actionId(a))));
            done(std::nullopt);
        }
        std::map<std::uint32_t, std::set<Action>> deniedFor;
    } authorizer;
    testing::FakeExecutor executor;
    Inventory inventory;
    AuditLog audit{store, executor};
    QuotaManager quotas{inventory, store, authorizer, audit, defaults};
    testing::FakeStorage storage;
    JobManager jobs{executor, authorizer};
    ImageManager images{inventory, store, storage, authorizer, executor, audit, jobs, quotas, 1ULL << 40U};
    VmManager manager{inventory, store, hypervisor, storage, images, authorizer, executor, audit, quotas, "local"};
};

TEST_F(QuotaTest, Guest_GetsTheDefaultsAndExceedingNamesLimitValueAndUsage)
{
    guestIsNotAdmin();
    VmSpecRequest big;
    big.vcpus = 3;
    ASSERT_TRUE(create(kGuest, "g1", big).ok());
    auto second = create(kGuest, "g2", big);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), ErrorCode::QuotaExceeded);
    EXPECT_EQ(std::string(second.error().what()), "quota exceeded: max_vcpus is 4, 3 in use, this needs 3 more");
    ASSERT_TRUE(create(kGuest, "g2").ok());
    auto third = create(kGuest, "g3");
    EXPECT_EQ(std::string(third.error().what()), "quota exceeded: max_vms is 2, 2 in use, this needs 1 more");
    EXPECT_EQ(store.loadVms().size(), 2U) << "a refused create leaves no row";
}

TEST_F(QuotaTest, Admin_IsUnlimitedUnlessTheyHaveAQuotaOfTheirOwn)
{
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(create(kAdmin, "a" + std::to_string(i)).ok());
    EXPECT_EQ(report(kAdmin, kAdmin).source, QuotaSource::Unlimited);
    QuotaLimits own;
    own.maxVms = 5;
    store.setQuota(kAdmin, own);
    EXPECT_EQ(create(kAdmin, "a5").error().code(), ErrorCode::QuotaExceeded);
    EXPECT_EQ(report(kAdmin, kAdmin).source, QuotaSource::User);
}

TEST_F(QuotaTest, RunningLimit_CountsStartsAndIsNotAppliedToAnAdminActingOnAGuestsVm)
{
    guestIsNotAdmin();
    const auto a = create(kGuest, "r1").value();
    const auto b = create(kGuest, "r2").value();
    EXPECT_FALSE(start(kGuest, a).has_value());
    auto refused = start(kGuest, b);
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->code(), ErrorCode::QuotaExceeded);
    EXPECT_NE(std::string(refused->what()).find("max_running is 1, 1 in use"), std::string::npos);
    EXPECT_EQ(inventory.find(b)->state, VmState::Stopped);
    EXPECT_FALSE(start(kAdmin, b).has_value()) << "an administrator is not held to the guest's quota";
}

TEST_F(QuotaTest, ParallelCreates_CannotOvershootTheLimit)
{
    guestIsNotAdmin();
    // Every create passes authorization before any of them is reserved: the worst interleaving.
    std::vector<std::optional<Outcome<std::string>>> results(6);
    for (std::size_t i = 0; i < results.size(); ++i)
        manager.create(caller(kGuest), "p" + std::to_string(i), {},
                       [&results, i](Outcome<std::string> o) { results[i].emplace(std::move(o)); });
    executor.drain();
    int ok = 0;
    int exceeded = 0;
    for (const auto& r : results) {
        ASSERT_TRUE(r.has_value());
        if (r->ok())
            ++ok;
        else if (r->error().code() == ErrorCode::QuotaExceeded)
            ++exceeded;
    }
    EXPECT_EQ(ok, 2);
    EXPECT_EQ(exceeded, 4);
    EXPECT_EQ(hypervisor.listDomains().size(), 2U);
}

TEST_F(QuotaTest, SetQuota_StartsFromCurrentLimitsAndNeedsManageHosts)
{
    guestIsNotAdmin();
    QuotaChange change;
    change.set.maxVms = 10;
    change.unset = {"max_memory_mib"};
    std::optional<Outcome<>> denied;
    quotas.set(caller(kGuest), kGuest, change, [&](Outcome<> o) { denied.emplace(o); });
    ASSERT_TRUE(denied && !denied->ok());
    EXPECT_EQ(denied->error().code(), ErrorCode::PermissionDenied);
    EXPECT_FALSE(store.quota(kGuest).has_value()) << "a denied SetQuota changes nothing";

    std::optional<Outcome<>> done;
    quotas.set(caller(kAdmin), kGuest, change, [&](Outcome<> o) { done.emplace(o); });
    ASSERT_TRUE(done && done->ok());
    auto r = report(kGuest, kGuest);
    EXPECT_EQ(r.source, QuotaSource::User);
    EXPECT_EQ(r.limits.maxVms, std::optional<std::uint32_t>(10));
    EXPECT_EQ(r.limits.maxVcpus, defaults.maxVcpus) << "limits not mentioned keep their value";
    EXPECT_FALSE(r.limits.maxMemoryMiB.has_value()) << "unset makes a limit unlimited";

    QuotaChange reset;
    reset.reset = true;
    quotas.set(caller(kAdmin), kGuest, reset, [&](Outcome<> o) { done.emplace(o); });
    EXPECT_EQ(report(kGuest, kGuest).source, QuotaSource::Default);
}

TEST_F(QuotaTest, GetQuota_OfAnotherUserNeedsManageHosts)
{
    guestIsNotAdmin();
    std::optional<Outcome<QuotaReport>> out;
    quotas.get(caller(kGuest), kAdmin, [&](Outcome<QuotaReport> o) { out.emplace(std::move(o)); });
    ASSERT_TRUE(out && !out->ok());
    EXPECT_EQ(out->error().code(), ErrorCode::PermissionDenied);
    create(kGuest, "counted");
    auto r = report(kAdmin, kGuest);
    EXPECT_EQ(r.usage.vms, 1U);
    EXPECT_EQ(r.usage.memoryMiB, 512U);
}

TEST_F(QuotaTest, SetQuota_RejectsUnknownLimitNamesAndResetWithOtherKeys)
{
    QuotaChange bad;
    bad.unset = {"max_cats"};
    std::optional<Outcome<>> out;
    quotas.set(caller(kAdmin), kGuest, bad, [&](Outcome<> o) { out.emplace(o); });
    ASSERT_TRUE(out && !out->ok());
    EXPECT_EQ(out->error().code(), ErrorCode::InvalidArgument);
    QuotaChange mixed;
    mixed.reset = true;
    mixed.set.maxVms = 1;
    quotas.set(caller(kAdmin), kGuest, mixed, [&](Outcome<> o) { out.emplace(o); });
    EXPECT_EQ(out->error().code(), ErrorCode::InvalidArgument);
}

} // namespace
} // namespace hangar
