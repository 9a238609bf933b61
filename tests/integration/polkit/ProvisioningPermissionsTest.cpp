// Who may read a VM's provisioning, asked of the real polkitd with Hangar's real actions and rules: its owner
// (manage-own-vms) and administrators (manage-all-vms) get keys and hashes back from GetProvisioning; another
// guest gets PermissionDenied, while the non-secret summary properties stay readable by everyone.
#include "PolkitFixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

const std::string kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv alice@laptop";

class ProvisioningPermissions : public PolkitFixture, public ::testing::WithParamInterface<DaemonUser>
{
protected:
    void SetUp() override { startAll(HangardOptions{GetParam() == DaemonUser::Service, {}}); }
};

TEST_P(ProvisioningPermissions, GetProvisioningIsForTheOwnerAndAdminsOnly)
{
    const CallResult created =
        manager(users.guest1, "CreateVM",
                {str("seeded"), "{'users': <[{'name': <'alice'>, 'sudo': <true>, 'ssh_authorized_keys': <['" + kKey +
                                    "']>}]>, 'packages': <['nginx']>}"});
    ASSERT_TRUE(created.ok()) << created.describe();
    const std::string path = vmPathIn(created.out);

    const CallResult owner = vm(users.guest1, path, "GetProvisioning", {});
    ASSERT_TRUE(owner.ok()) << owner.describe();
    EXPECT_THAT(owner.out, HasSubstr(kKey));

    const CallResult admin = vm(users.admin, path, "GetProvisioning", {});
    ASSERT_TRUE(admin.ok()) << admin.describe();
    EXPECT_THAT(admin.out, HasSubstr(kKey));

    for (const TestUser* other : {&users.guest2}) {
        const CallResult denied = vm(*other, path, "GetProvisioning", {});
        EXPECT_EQ(denied.errorName, kPermissionDenied) << other->name << ": " << denied.describe();
        EXPECT_THAT(denied.out, ::testing::Not(HasSubstr("AAAAC3")));
    }

    // The summary is a property like the others: anyone on the bus reads the names, no keys.
    const CallResult summary = call(users.guest2, path, "org.freedesktop.DBus.Properties.Get",
                                    {str("org.hangar.Hangar1.VM"), str("ProvisionedUsers")});
    ASSERT_TRUE(summary.ok()) << summary.describe();
    EXPECT_THAT(summary.out, HasSubstr("'alice'"));
}

INSTANTIATE_TEST_SUITE_P(Authorization, ProvisioningPermissions,
                         ::testing::Values(DaemonUser::Root, DaemonUser::Service),
                         [](const ::testing::TestParamInfo<DaemonUser>& info) { return toString(info.param); });

} // namespace
} // namespace hangar::it::polkit
