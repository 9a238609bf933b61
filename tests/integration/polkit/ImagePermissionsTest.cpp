// Images, clones and snapshots asked of the real polkitd with Hangar's real actions and rules (docs/images.md):
// publishing and deleting images need manage-images (administrators only), making a VM from an image needs
// nothing beyond create-vm, and clone and snapshots are manage-own-vms on one's own VM, denied on another's.
// Importing (which takes a file descriptor, which gdbus cannot pass) is checked in core's unit tests and the
// e2e suite; its polkit action is the same manage-images seen here.
#include "PolkitFixture.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>
#include <thread>

namespace hangar::it::polkit {
namespace {

using ::testing::HasSubstr;

constexpr const char* kImage = "org.hangar.Hangar1.Image";
constexpr const char* kBusy = "org.hangar.Hangar1.Error.Busy";

std::string manageImages()
{
    return "org.hangar.hangar1.manage-images";
}

std::string imagePathIn(const std::string& out)
{
    std::smatch m;
    static const std::regex path("(/org/hangar/Hangar1/image/[A-Za-z0-9_]+)");
    return std::regex_search(out, m, path) ? m[1].str() : std::string();
}

class ImagePermissions : public PolkitFixture, public ::testing::WithParamInterface<DaemonUser>
{
protected:
    void SetUp() override { startAll(HangardOptions{GetParam() == DaemonUser::Service, {}}); }

    // The image's path once its State is "ready" (a publish job runs for a moment), or "".
    std::string waitForReadyImage(const std::string& name)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            const CallResult get = manager(users.root, "GetImage", {str(name)});
            const std::string path = imagePathIn(get.out);
            if (get.ok() && !path.empty()) {
                const CallResult state =
                    call(users.root, path, "org.freedesktop.DBus.Properties.Get", {str(kImage), str("State")});
                if (state.ok() && state.out.find("'ready'") != std::string::npos)
                    return path;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return {};
    }
};

TEST_P(ImagePermissions, PublishAndImageDeleteAreForAdminsUsingAnImageNeedsOnlyCreateVm)
{
    const std::string source = createVm(users.guest1, "source");

    const CallResult guestPublish = vm(users.guest1, source, "Publish", {str("by-guest"), kNoOptions});
    EXPECT_EQ(guestPublish.errorName, kPermissionDenied) << guestPublish.describe();
    EXPECT_THAT(guestPublish.errorMessage, HasSubstr(manageImages()));
    EXPECT_EQ(manager(users.root, "GetImage", {str("by-guest")}).errorName, kNotFound) << "a denied call made nothing";

    const CallResult adminPublish = vm(users.admin, source, "Publish", {str("golden"), kNoOptions});
    ASSERT_TRUE(adminPublish.ok()) << adminPublish.describe();
    EXPECT_THAT(adminPublish.out, HasSubstr("/org/hangar/Hangar1/job/"));
    const std::string image = waitForReadyImage("golden");
    ASSERT_FALSE(image.empty()) << "the published image never became ready";

    // A guest makes a VM from it with create-vm alone.
    const CallResult fromImage = manager(users.guest2, "CreateVM", {str("from-golden"), "{'image': <'golden'>}"});
    ASSERT_TRUE(fromImage.ok()) << fromImage.describe();

    const CallResult guestDelete = call(users.guest2, image, std::string(kImage) + ".Delete", {kNoOptions});
    EXPECT_EQ(guestDelete.errorName, kPermissionDenied) << guestDelete.describe();
    EXPECT_THAT(guestDelete.errorMessage, HasSubstr(manageImages()));
    const CallResult outsiderDelete = call(users.outsider, image, std::string(kImage) + ".Delete", {kNoOptions});
    EXPECT_EQ(outsiderDelete.errorName, kPermissionDenied) << outsiderDelete.describe();

    const CallResult adminWhileUsed = call(users.admin, image, std::string(kImage) + ".Delete", {kNoOptions});
    EXPECT_EQ(adminWhileUsed.errorName, kBusy) << adminWhileUsed.describe();
    EXPECT_THAT(adminWhileUsed.errorMessage, HasSubstr("from-golden"));
    EXPECT_TRUE(manager(users.root, "GetImage", {str("golden")}).ok());

    arrange(vmPathIn(fromImage.out), "Delete");
    const CallResult adminDelete = call(users.admin, image, std::string(kImage) + ".Delete", {kNoOptions});
    EXPECT_TRUE(adminDelete.ok()) << adminDelete.describe();
    EXPECT_EQ(manager(users.root, "GetImage", {str("golden")}).errorName, kNotFound);
}

TEST_P(ImagePermissions, CloneAndSnapshotsAreManageOwnVmsOnOnesOwnVmDeniedOnAnothers)
{
    const std::string own = createVm(users.guest1, "own");

    const CallResult snapshot = vm(users.guest1, own, "CreateSnapshot", {str("s1"), kNoOptions});
    EXPECT_TRUE(snapshot.ok()) << snapshot.describe();
    const CallResult othersSnapshot = vm(users.guest2, own, "CreateSnapshot", {str("s2"), kNoOptions});
    EXPECT_EQ(othersSnapshot.errorName, kPermissionDenied) << othersSnapshot.describe();
    EXPECT_THAT(othersSnapshot.errorMessage, HasSubstr(manageAll()));
    const CallResult othersRevert = vm(users.guest2, own, "RevertToSnapshot", {str("s1"), kNoOptions});
    EXPECT_EQ(othersRevert.errorName, kPermissionDenied) << othersRevert.describe();
    const CallResult othersDelete = vm(users.guest2, own, "DeleteSnapshot", {str("s1"), kNoOptions});
    EXPECT_EQ(othersDelete.errorName, kPermissionDenied) << othersDelete.describe();
    const CallResult list = vm(users.outsider, own, "ListSnapshots", {});
    ASSERT_TRUE(list.ok()) << "reading needs no authorization: " << list.describe();
    EXPECT_THAT(list.out, HasSubstr("'s1'"));
    EXPECT_THAT(list.out, ::testing::Not(HasSubstr("'s2'")));

    const CallResult clone = vm(users.guest1, own, "Clone", {str("own-copy"), kNoOptions});
    ASSERT_TRUE(clone.ok()) << clone.describe();
    EXPECT_EQ(root->owner(vmPathIn(clone.out)), users.guest1.uid);
    const CallResult othersClone = vm(users.guest2, own, "Clone", {str("stolen"), kNoOptions});
    EXPECT_EQ(othersClone.errorName, kPermissionDenied) << othersClone.describe();
    const CallResult outsiderClone = vm(users.outsider, own, "Clone", {str("outsider-copy"), kNoOptions});
    EXPECT_EQ(outsiderClone.errorName, kPermissionDenied) << outsiderClone.describe();
    EXPECT_FALSE(root->findVm("stolen").has_value());
    EXPECT_FALSE(root->findVm("outsider-copy").has_value());

    const CallResult adminClone = vm(users.admin, own, "Clone", {str("admins-copy"), kNoOptions});
    ASSERT_TRUE(adminClone.ok()) << adminClone.describe();
    EXPECT_EQ(root->owner(vmPathIn(adminClone.out)), users.admin.uid) << "a clone belongs to whoever made it";
}

std::string daemonName(const ::testing::TestParamInfo<DaemonUser>& info)
{
    return toString(info.param);
}

INSTANTIATE_TEST_SUITE_P(Authorization, ImagePermissions, ::testing::Values(DaemonUser::Root, DaemonUser::Service),
                         daemonName);

} // namespace
} // namespace hangar::it::polkit
