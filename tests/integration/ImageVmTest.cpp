// VMs and images through D-Bus on the real hangard (libvirt's test driver): VMs made from an image (UsedBy, image
// delete refused while one uses it), clones, and snapshots with the property and signal that keep a frontend current.
// The fixture: ImageFixture.h.
#include "ImageFixture.h"

#include <gtest/gtest.h>

namespace hangar::it {
namespace {

// ---- 2. VMs made from an image ---------------------------------------------------------------------------------

TEST_F(ImageTest, CreateVmFromImage_TracksUsedByAndBlocksImageDeleteUntilTheVmGoes)
{
    const std::string imagePath = goldenImage("golden", 2);
    auto& img = image(imagePath);

    const std::string child = create("child", {{"image", text("golden")}});
    EXPECT_EQ(vm(child).Image(), "golden");
    EXPECT_EQ(vm(child).DiskGiB(), 2U) << "disk_gib defaults to the image's virtual size";
    EXPECT_EQ(img.UsedBy(), std::vector<sdbus::ObjectPath>{sdbus::ObjectPath(child)});
    EXPECT_TRUE(waitFor([&] {
        const auto values = signals->valuesOf<std::vector<sdbus::ObjectPath>>(imagePath, kImageInterface, "UsedBy");
        return !values.empty() && hasPath(values.back(), child);
    })) << "UsedBy must signal the new VM";

    const std::string bigger = create("bigger", {{"image", text("golden")}, {"disk_gib", sdbus::Variant(uint64_t{5})}});
    EXPECT_EQ(vm(bigger).DiskGiB(), 5U) << "an overlay may be larger than its image";
    EXPECT_EQ(img.UsedBy().size(), 2U);

    std::string message;
    EXPECT_EQ(errorOf([&] { img.Delete({}); }, &message), "org.hangar.Hangar1.Error.Busy");
    EXPECT_TRUE(contains(message, "child") && contains(message, "bigger")) << "names the VMs: " << message;
    EXPECT_EQ(img.State(), "ready");

    vm(bigger).Delete({});
    vm(child).Delete({});
    EXPECT_TRUE(waitFor([&] {
        const auto values = signals->valuesOf<std::vector<sdbus::ObjectPath>>(imagePath, kImageInterface, "UsedBy");
        return !values.empty() && values.back().empty();
    })) << "UsedBy must signal that no VM uses the image any more";
    EXPECT_TRUE(img.UsedBy().empty());

    img.Delete({});
    EXPECT_TRUE(waitFor([&] { return signals->find("InterfacesRemoved", imagePath).has_value(); }));
    EXPECT_EQ(errorOf([&] { manager->GetImage("golden"); }), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_TRUE(manager->ListImages().empty());
    EXPECT_TRUE(waitFor([&] { return managedPathsUnder("/org/hangar/Hangar1/image/").empty(); }));
}

TEST_F(ImageTest, CreateVmFromImage_SmallerDiskIsInvalidArgumentAndUnknownImageIsNotFound)
{
    goldenImage("golden", 3);
    const std::size_t before = vmCount();
    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      create("small", {{"image", text("golden")}, {"disk_gib", sdbus::Variant(uint64_t{2})}});
                  },
                  &message),
              kInvalidArgument);
    EXPECT_TRUE(contains(message, "smaller than image 'golden'")) << message;
    EXPECT_EQ(errorOf(
                  [&] {
                      create("orphan", {{"image", text("no-such-image")}});
                  },
                  &message),
              "org.hangar.Hangar1.Error.NotFound");
    EXPECT_TRUE(contains(message, "no-such-image")) << message;
    EXPECT_EQ(errorOf([&] { create("badref", {{"image", text("Bad Name")}}); }), kInvalidArgument);
    EXPECT_EQ(vmCount(), before);
    EXPECT_TRUE(image(manager->GetImage("golden")).UsedBy().empty());
}

// ---- 3. clone --------------------------------------------------------------------------------------------------

TEST_F(ImageTest, Clone_OfAStoppedVmIsANewVmWithTheSameSpecAndImage)
{
    const std::string imagePath = goldenImage("golden", 2);
    const std::string source = create("origin", {{"image", text("golden")},
                                                 {"vcpus", sdbus::Variant(uint32_t{2})},
                                                 {"memory_mib", sdbus::Variant(uint64_t{768})},
                                                 {"disk_gib", sdbus::Variant(uint64_t{4})},
                                                 {"description", text("to be cloned")}});
    vm(source).CreateSnapshot("before-clone", {});
    std::string copy;
    std::string message;
    EXPECT_EQ(errorOf([&] { copy = vm(source).Clone("copy", {}); }, &message), "") << message;
    ASSERT_FALSE(copy.empty());
    EXPECT_NE(copy, source);
    EXPECT_TRUE(startsWith(copy, "/org/hangar/Hangar1/vm/")) << copy;
    auto& c = vm(copy);
    auto& s = vm(source);
    EXPECT_EQ(c.Name(), "copy");
    EXPECT_NE(c.UUID(), s.UUID());
    EXPECT_EQ(c.State(), "stopped");
    EXPECT_EQ(c.Owner(), getuid());
    EXPECT_EQ(c.VCPUs(), 2U);
    EXPECT_EQ(c.MemoryMiB(), 768U);
    EXPECT_EQ(c.DiskGiB(), 4U);
    EXPECT_EQ(c.Description(), "to be cloned");
    EXPECT_EQ(c.Image(), "golden");
    EXPECT_TRUE(c.Snapshots().empty()) << "snapshots are not cloned";
    EXPECT_TRUE(c.ListSnapshots().empty());
    EXPECT_EQ(s.Snapshots(), std::vector<std::string>{"before-clone"});
    EXPECT_EQ(manager->GetVM("copy"), copy);
    EXPECT_TRUE(hasPath(image(imagePath).UsedBy(), copy)) << "the clone uses the image too";
    EXPECT_TRUE(waitFor([&] {
        const auto values = signals->valuesOf<std::vector<sdbus::ObjectPath>>(imagePath, kImageInterface, "UsedBy");
        return !values.empty() && hasPath(values.back(), copy) && hasPath(values.back(), source);
    })) << "UsedBy must signal the clone";
    EXPECT_EQ(s.State(), "stopped");
    s.Start({}); // the source is not left Busy
    c.Start({});
    EXPECT_EQ(c.State(), "running");
}

TEST_F(ImageTest, Clone_OfARunningVmIsBusyAndToATakenNameIsAlreadyExists)
{
    const std::string source = create("origin");
    create("taken");
    std::string message;
    EXPECT_EQ(errorOf([&] { vm(source).Clone("taken", {}); }, &message), "org.hangar.Hangar1.Error.AlreadyExists");
    EXPECT_TRUE(contains(message, "taken")) << message;
    EXPECT_EQ(errorOf([&] { vm(source).Clone("Bad Name", {}); }), kInvalidArgument);
    vm(source).Start({});
    EXPECT_EQ(errorOf([&] { vm(source).Clone("copy", {}); }, &message), "org.hangar.Hangar1.Error.Busy");
    EXPECT_TRUE(contains(message, "running")) << message;
    EXPECT_EQ(vmCount(), 2U);
    EXPECT_EQ(errorOf([&] { manager->GetVM("copy"); }), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_EQ(vm(source).State(), "running");
}

// ---- 4. snapshots ----------------------------------------------------------------------------------------------

TEST_F(ImageTest, Snapshots_CreateListRevertDeleteKeepThePropertyAndItsSignalCurrent)
{
    const std::string path = create("snappy");
    auto& v = vm(path);
    EXPECT_TRUE(v.Snapshots().empty());
    const std::int64_t before = nowUsec();
    v.CreateSnapshot("s1", {{"description", text("first")}});
    v.CreateSnapshot("s2", {});
    const std::int64_t after = nowUsec();
    EXPECT_EQ(v.Snapshots(), (std::vector<std::string>{"s1", "s2"}));
    EXPECT_TRUE(waitFor([&] {
        const auto values = signals->valuesOf<std::vector<std::string>>(path, kVmInterface, "Snapshots");
        return values == std::vector<std::vector<std::string>>{{"s1"}, {"s1", "s2"}};
    })) << "one PropertiesChanged per snapshot taken";

    std::string message;
    EXPECT_EQ(errorOf([&] { v.CreateSnapshot("s1", {}); }, &message), "org.hangar.Hangar1.Error.AlreadyExists");
    EXPECT_TRUE(contains(message, "s1")) << message;
    EXPECT_EQ(errorOf([&] { v.CreateSnapshot("Bad Name", {}); }), kInvalidArgument);
    EXPECT_EQ(errorOf([&] { v.CreateSnapshot("s3", {{"colour", sdbus::Variant(true)}}); }), kInvalidArgument);
    EXPECT_EQ(v.Snapshots(), (std::vector<std::string>{"s1", "s2"}));

    const auto rows = v.ListSnapshots();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].get<0>(), "s1");
    EXPECT_EQ(rows[0].get<1>(), "first");
    EXPECT_EQ(rows[1].get<0>(), "s2");
    EXPECT_EQ(rows[1].get<1>(), "");
    for (const auto& row : rows) {
        // libvirt records creation times in whole seconds.
        EXPECT_GE(row.get<2>(), before - 1000000) << row.get<0>();
        EXPECT_LE(row.get<2>(), after) << row.get<0>();
        EXPECT_EQ(row.get<3>(), "stopped") << row.get<0>();
    }
    EXPECT_FALSE(rows[0].get<4>());
    EXPECT_TRUE(rows[1].get<4>()) << "the newest snapshot is the current one";

    EXPECT_EQ(errorOf([&] { v.RevertToSnapshot("nope", {}); }, &message), "org.hangar.Hangar1.Error.NotFound");
    EXPECT_TRUE(contains(message, "nope")) << message;
    EXPECT_EQ(errorOf([&] { v.DeleteSnapshot("nope", {}); }), "org.hangar.Hangar1.Error.NotFound");

    v.RevertToSnapshot("s1", {});
    const auto reverted = v.ListSnapshots();
    ASSERT_EQ(reverted.size(), 2U);
    EXPECT_TRUE(reverted[0].get<4>()) << "after a revert, s1 is current";
    EXPECT_FALSE(reverted[1].get<4>());
    EXPECT_EQ(v.State(), "stopped");

    v.DeleteSnapshot("s2", {});
    EXPECT_EQ(v.Snapshots(), std::vector<std::string>{"s1"});
    EXPECT_TRUE(waitFor([&] {
        const auto values = signals->valuesOf<std::vector<std::string>>(path, kVmInterface, "Snapshots");
        return !values.empty() && values.back() == std::vector<std::string>{"s1"};
    }));
    ASSERT_EQ(v.ListSnapshots().size(), 1U);
}

TEST_F(ImageTest, Snapshots_OfARunningVmRecordItsRunStateAndRevertBringsItBack)
{
    const std::string path = create("live");
    auto& v = vm(path);
    v.Start({});
    v.CreateSnapshot("hot", {});
    const auto rows = v.ListSnapshots();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].get<3>(), "running");
    EXPECT_EQ(v.State(), "running");

    v.Stop({{"force", sdbus::Variant(true)}});
    EXPECT_EQ(v.State(), "stopped");
    v.RevertToSnapshot("hot", {});
    EXPECT_EQ(v.State(), "running") << "a snapshot of a running VM brings back its run state";
    EXPECT_TRUE(waitFor([&] {
        const auto states = v.states();
        return !states.empty() && states.back() == "running";
    })) << ::testing::PrintToString(v.states());
}

} // namespace
} // namespace hangar::it
