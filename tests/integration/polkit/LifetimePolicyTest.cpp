// Who may do what about lifetime and the create rate, as real users under the real polkitd: an owner's expiry held to
// [Lifetime] max_ttl_sec while an administrator's is not, and the per-user create rate (RateLimited with the seconds
// to wait) that administrators are exempt from.
#include "PolkitFixture.h"

#include <ctime>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr const char* kRateLimited = "org.hangar.Hangar1.Error.RateLimited";

class LifetimePolicy : public PolkitFixture
{
protected:
    CallResult setExpiry(const TestUser& user, const std::string& path, std::int64_t at)
    {
        return vm(user, path, "SetExpiry", {std::to_string(at), kNoOptions});
    }
};

TEST_F(LifetimePolicy, SetExpiry_OwnerWithinMaxTtlAdministratorBeyondIt)
{
    startAll(HangardOptions{false, "[Lifetime]\nmax_ttl_sec = 3600\n"});
    const std::string path = createVm(users.guest1, "bounded");
    const std::int64_t now = std::time(nullptr);

    const CallResult beyond = setExpiry(users.guest1, path, now + 7200);
    EXPECT_EQ(beyond.errorName, kQuotaExceeded) << beyond.describe();
    EXPECT_THAT(beyond.errorMessage, HasSubstr("max_ttl_sec = 3600")) << beyond.describe();
    EXPECT_EQ(setExpiry(users.guest1, path, 0).errorName, kQuotaExceeded) << "never is beyond any maximum";

    const CallResult within = setExpiry(users.guest1, path, now + 1800);
    EXPECT_TRUE(within.ok()) << within.describe();
    const CallResult admin = setExpiry(users.admin, path, now + 7200);
    EXPECT_TRUE(admin.ok()) << admin.describe();
    const CallResult clear = setExpiry(users.admin, path, 0);
    EXPECT_TRUE(clear.ok()) << clear.describe();
}

TEST_F(LifetimePolicy, CreateRate_GuestIsToldHowLongToWaitAdministratorIsExempt)
{
    startAll(HangardOptions{false, "[Quota]\ncreate_per_minute = 1\n"});
    createVm(users.guest1, "first");
    const CallResult second = manager(users.guest1, "CreateVM", {str("second"), kNoOptions});
    EXPECT_EQ(second.errorName, kRateLimited) << second.describe();
    EXPECT_THAT(second.errorMessage, MatchesRegex(".*at most 1 per minute.*try again in [0-9]+ s.*"))
        << second.describe();
    for (const char* name : {"admin-1", "admin-2", "admin-3"})
        EXPECT_NO_THROW(createVm(users.admin, name)) << "administrators are not rate-limited";
}

} // namespace
} // namespace hangar::it::polkit
