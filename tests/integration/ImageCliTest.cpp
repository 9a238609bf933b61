// hangarctl's image commands against the real hangard (libvirt's test driver): publish, create from an image, clone,
// snapshots and image delete, and image import's refusals, its own and hangard's. The fixture: ImageFixture.h.
#include "ImageFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

// ---- hangarctl -------------------------------------------------------------------------------------------------

class ImageCliTest : public ImageTest
{
};

TEST_F(ImageCliTest, Hangarctl_PublishCreateFromImageCloneSnapshotAndImageDelete)
{
    ASSERT_EQ(ctl({"create", "installer", "--disk", "2G"}).exitCode, 0);
    auto r = ctl({"publish", "installer", "golden"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Published VM 'installer' as image 'golden': qcow2")) << r.out;

    const Json list = ctlJson({"image", "list"});
    ASSERT_TRUE(list.is_array() && list.size() == 1) << list.dump();
    EXPECT_EQ(list[0].value("Name", ""), "golden");
    EXPECT_EQ(list[0].value("State", ""), "ready");
    EXPECT_EQ(list[0].value("Format", ""), "qcow2");
    EXPECT_EQ(list[0].value("VirtualSizeBytes", uint64_t{0}), 2 * kGiB);
    EXPECT_EQ(list[0].value("Owner", uint32_t{1}), getuid());

    ASSERT_EQ(ctl({"create", "web", "--image", "golden"}).exitCode, 0);
    const Json shown = ctlJson({"image", "show", "golden"});
    EXPECT_EQ(shown.value("UsedByNames", Json::array()), Json::array({"web"})) << shown.dump();

    r = ctl({"image", "delete", "golden"});
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "cannot delete image 'golden'") && contains(r.err, "web") && contains(r.err, "(Busy)"))
        << r.err;

    r = ctl({"snapshot", "create", "web", "clean", "--description", "fresh install"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Created snapshot 'clean' of VM 'web'.")) << r.out;
    const Json snapshots = ctlJson({"snapshot", "list", "web"});
    ASSERT_TRUE(snapshots.is_array() && snapshots.size() == 1) << snapshots.dump();
    EXPECT_EQ(snapshots[0].value("name", ""), "clean");
    EXPECT_EQ(snapshots[0].value("description", ""), "fresh install");
    EXPECT_EQ(snapshots[0].value("current", false), true);
    r = ctl({"snapshot", "revert", "web", "nope"});
    EXPECT_EQ(r.exitCode, 4) << r.err;

    r = ctl({"clone", "web", "web-copy"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "as a clone of 'web'")) << r.out;
    const Json copy = ctlJson({"status", "web-copy"});
    EXPECT_EQ(copy.value("Image", ""), "golden") << copy.dump();

    ASSERT_EQ(ctl({"start", "web"}).exitCode, 0);
    r = ctl({"clone", "web", "web-2"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "(Busy)")) << r.err;
}

TEST_F(ImageCliTest, Hangarctl_ImageImportRefusesADirectoryItselfAndReportsHangardsRefusalsAndJobFailures)
{
    std::filesystem::create_directories(file("a-directory"));
    auto r = ctl({"image", "import", file("a-directory"), "--name", "x"});
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "is a directory")) << r.err;

    const std::string cut = qcow2("cut.qcow2");
    ASSERT_EQ(truncate(cut.c_str(), 2 * 65536), 0);
    r = ctl({"image", "import", cut, "--name", "cut"});
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "truncated") && contains(r.err, "(InvalidArgument)")) << r.err;

    r = ctl({"image", "import", zeros("disk.raw", 1 << 20), "--name", "raw-disk"});
    EXPECT_EQ(r.exitCode, 1) << "the test driver cannot upload: " << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "cannot stream volume uploads") && contains(r.err, "(NotSupported)")) << r.err;
    EXPECT_TRUE(manager->ListImages().empty());
    EXPECT_EQ(ctlJson({"image", "list"}), Json::array());
}

} // namespace
} // namespace hangar::it
