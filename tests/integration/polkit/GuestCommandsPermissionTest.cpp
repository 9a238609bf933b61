// Commands in running guests (VM.Exec, AddUser, InstallPackages) asked of the real polkitd: another guest is
// refused with manage-all-vms and nothing runs; the owner gets past polkit and then the test driver's answer for a
// guest without an agent (NotSupported, naming qemu-guest-agent).
#include "PolkitFixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

class GuestCommandsPermission : public PolkitFixture
{
protected:
    void SetUp() override { startAll(HangardOptions{false, {}}); }
};

TEST_F(GuestCommandsPermission, AnotherGuestIsDeniedTheOwnerReachesTheMissingAgent)
{
    const std::string path = createVm(users.guest1, "shell");
    arrange(path, "Start");
    const std::vector<std::pair<std::string, std::vector<std::string>>> calls{
        {"Exec", {"['/bin/echo', 'hi']", kNoOptions}},
        {"AddUser", {"{'name': <'deploy'>}", kNoOptions}},
        {"InstallPackages", {"['nginx']", kNoOptions}},
    };
    for (const auto& [member, args] : calls) {
        const CallResult denied = vm(users.guest2, path, member, args);
        EXPECT_EQ(denied.errorName, kPermissionDenied) << member << ": " << denied.describe();
        EXPECT_THAT(denied.errorMessage, HasSubstr(manageAll())) << member;

        const CallResult owner = vm(users.guest1, path, member, args);
        EXPECT_EQ(owner.errorName, "org.hangar.Hangar1.Error.NotSupported") << member << ": " << owner.describe();
        EXPECT_THAT(owner.errorMessage, HasSubstr("the guest agent (qemu-guest-agent) is not connected")) << member;
    }
    const auto events = root->eventsAbout(root->uuid(path));
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [&](const EventRow& e) {
        return e.uid == users.guest2.uid && e.action == "exec" && e.outcome == "PermissionDenied";
    }));
}

} // namespace
} // namespace hangar::it::polkit
