// When polkit cannot be asked, hangard denies every state change (it never falls back to allowing) and says that
// polkit could not be asked; reads go on; once polkitd is back, calls are authorized again.
#include "PolkitFixture.h"

#include <algorithm>
#include <cctype>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

class PolkitDown : public PolkitFixture
{
};

TEST_F(PolkitDown, StateChangesAreDeniedSayingPolkitCouldNotBeAskedAndReadsStillWork)
{
    startAll();
    const std::string existing = createVm(users.guest1, "before-outage");
    polkitd->stop();

    const std::uint32_t count = root->vmCount();
    const CallResult create = manager(users.guest1, "CreateVM", {str("during-outage"), kNoOptions});
    EXPECT_EQ(create.errorName, kPermissionDenied) << create.describe();
    EXPECT_THAT(lower(create.errorMessage), HasSubstr("polkit")) << create.describe();
    EXPECT_EQ(root->vmCount(), count);
    EXPECT_FALSE(root->findVm("during-outage").has_value());

    const CallResult start = vm(users.guest1, existing, "Start", {kNoOptions});
    EXPECT_EQ(start.errorName, kPermissionDenied) << start.describe();
    EXPECT_THAT(lower(start.errorMessage), HasSubstr("polkit")) << start.describe();
    EXPECT_EQ(root->state(existing), "stopped");

    const CallResult byAdmin = vm(users.admin, existing, "Delete", {kNoOptions});
    EXPECT_EQ(byAdmin.errorName, kPermissionDenied) << byAdmin.describe();
    EXPECT_TRUE(root->objectExists(existing));

    const CallResult get = manager(users.guest1, "GetVM", {str("before-outage")});
    EXPECT_TRUE(get.ok()) << get.describe();
    EXPECT_EQ(vmPathIn(get.out), existing);
    const CallResult list = manager(users.guest2, "ListVMs", {"{'all': <true>}"});
    EXPECT_TRUE(list.ok()) << list.describe();
    EXPECT_THAT(list.out, HasSubstr("'before-outage'"));

    polkitd->start();
    const CallResult after = manager(users.guest1, "CreateVM", {str("after-outage"), kNoOptions});
    EXPECT_TRUE(after.ok()) << "not authorized again once polkitd was back: " << after.describe();
}

} // namespace
} // namespace hangar::it::polkit
