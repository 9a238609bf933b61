// Images' OS identity in core (core/OsCatalog.h) with the fake catalogue: the `os` option of import and publish
// checked against the catalogue, detection from an ISO only, inheritance on publish, and CreateVM's defaults from
// the OS's resources within the ranges validateSpec allows; a catalogue still loading is waited for, on a worker.
#include "CoreFixture.h"
#include "ImageFiles.h"

namespace hangar::testing {
namespace {

OsInfo debian11()
{
    OsInfo os{"debian11", "Debian 11", "11", {}, {}};
    os.minimum = OsResources{1, 1024, 10};
    os.recommended = OsResources{2, 2048, 20};
    return os;
}

class OsIdentityTest : public CoreFixture<>
{
protected:
    OsIdentityTest()
    {
        osCatalog.add(debian11());
        osCatalog.add(OsInfo{"minimal1", "Minimal 1", "1", OsResources{std::nullopt, 256, std::nullopt}, {}});
        osCatalog.add(OsInfo{"huge1", "Huge 1", "1", {}, OsResources{100000, 100ULL << 30U, 1ULL << 30U}});
    }

    Capture<std::uint64_t> importAs(const std::string& name, const std::string& kind, std::optional<std::string> os)
    {
        Capture<std::uint64_t> r;
        images.importImage(caller(kAlice), ImportRequest{name, makeFile(kind), std::nullopt, "", std::move(os)},
                           r.done());
        executor.drain();
        return r;
    }

    std::string osOf(const std::string& name)
    {
        const Image* image = images.findByName(name);
        EXPECT_NE(image, nullptr) << name;
        return image ? image->record.os : "<none>";
    }
    std::string osNameOf(const std::string& name)
    {
        const Image* image = images.findByName(name);
        return image ? image->record.osName : "<none>";
    }

    VmSpec createFrom(const std::string& name, const std::string& image, VmSpecRequest spec = {})
    {
        spec.image = image;
        Capture<std::string> r;
        manager.create(caller(kAlice), name, spec, r.done());
        executor.drain();
        EXPECT_TRUE(r.ok()) << (r.outcome ? r.message() : "no outcome");
        const Vm* vm = r.ok() ? inventory.find(r.outcome->value()) : nullptr;
        return vm ? vm->record.spec : VmSpec{};
    }
};

TEST_F(OsIdentityTest, Create_WaitsForTheCatalogueToLoadOnAWorkerBeforeTakingTheOsDefaults)
{
    ASSERT_TRUE(importAs("deb-iso", "iso", "debian11").ok());
    osCatalog.unload();
    VmSpecRequest spec;
    spec.image = "deb-iso";
    Capture<std::string> r;
    manager.create(caller(kAlice), "early", spec, r.done());
    Capture<std::string> second;
    manager.create(caller(kAlice), "early2", spec, second.done());
    EXPECT_FALSE(r.outcome.has_value()) << "answered before the catalogue was loaded";
    EXPECT_FALSE(osCatalog.loaded()) << "the loop read the catalogue itself";
    EXPECT_EQ(osCatalog.loadCalls(), 0);
    executor.drain(); // the worker loads it, then both creates go on
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_TRUE(second.ok()) << second.message();
    EXPECT_EQ(osCatalog.loadCalls(), 1) << "one load for every waiting request";
    EXPECT_EQ(inventory.find(r.outcome->value())->record.spec.memoryMiB, 2048U) << "debian11's recommendation";
}

TEST_F(OsIdentityTest, PublishWithAnOs_WaitsForTheCatalogueToLoadOnAWorker)
{
    const std::string vm = create("golden");
    osCatalog.unload();
    Capture<std::uint64_t> r;
    images.publish(caller(kAlice), vm, "deb", "", std::string("debian11"), r.done());
    EXPECT_FALSE(r.outcome.has_value());
    EXPECT_FALSE(osCatalog.loaded());
    executor.drain();
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(osNameOf("deb"), "Debian 11");
}

TEST_F(OsIdentityTest, Import_AnUnknownOrMalformedOsIsInvalidArgumentNamingTheOptionAndLeavesNothing)
{
    for (const std::string& bad :
         std::vector<std::string>{"debian99", "Debian11", "debian 11", std::string(100, 'a'), "deb\x01"}) {
        const auto r = importAs("img", "iso", bad);
        ASSERT_TRUE(r.outcome.has_value());
        EXPECT_EQ(r.code(), ErrorCode::InvalidArgument) << bad;
        EXPECT_NE(r.message().find("option 'os'"), std::string::npos) << r.message();
        EXPECT_NE(r.message().find("osinfo-query os"), std::string::npos) << r.message();
        EXPECT_EQ(images.findByName("img"), nullptr);
    }
    EXPECT_TRUE(store.loadImages().empty());
    EXPECT_EQ(osCatalog.identifyCalls(), 0) << "refused before the file is read";
}

TEST_F(OsIdentityTest, Import_TheOptionWinsOverDetectionAndEmptyMeansNone)
{
    osCatalog.identifyAs("minimal1");
    ASSERT_TRUE(importAs("given", "iso", "debian11").ok());
    EXPECT_EQ(osOf("given"), "debian11");
    EXPECT_EQ(osNameOf("given"), "Debian 11") << "the name is kept with the id";
    ASSERT_TRUE(importAs("none", "iso", "").ok());
    EXPECT_EQ(osOf("none"), "");
    EXPECT_EQ(osCatalog.identifyCalls(), 0) << "nothing is detected when the caller says";
    ASSERT_TRUE(importAs("disk", "qcow2", "debian11").ok());
    EXPECT_EQ(osOf("disk"), "debian11") << "a qcow2 takes the option too";
    EXPECT_EQ(store.loadImages().at(0).os, "debian11") << "persisted";
    EXPECT_EQ(store.loadImages().at(0).osName, "Debian 11");
}

TEST_F(OsIdentityTest, Import_AnIsoIsIdentifiedAndADiskImageIsNot)
{
    osCatalog.identifyAs("debian11");
    ASSERT_TRUE(importAs("installer", "iso", std::nullopt).ok());
    EXPECT_EQ(osOf("installer"), "debian11");
    EXPECT_EQ(osNameOf("installer"), "Debian 11");
    EXPECT_EQ(osCatalog.identifyCalls(), 1);
    ASSERT_TRUE(importAs("disk", "qcow2", std::nullopt).ok());
    ASSERT_TRUE(importAs("raw", "raw", std::nullopt).ok());
    EXPECT_EQ(osOf("disk"), "");
    EXPECT_EQ(osOf("raw"), "");
    EXPECT_EQ(osCatalog.identifyCalls(), 1) << "only an ISO is an installer medium";
    osCatalog.identifyAs("");
    ASSERT_TRUE(importAs("unknown", "iso", std::nullopt).ok());
    EXPECT_EQ(osOf("unknown"), "") << "an ISO libosinfo does not know";
}

TEST_F(OsIdentityTest, Publish_InheritsTheOsOfTheVmsImageUnlessGiven)
{
    ASSERT_TRUE(importAs("base", "qcow2", "debian11").ok());
    VmSpecRequest small;
    small.vcpus = 1;
    createFrom("golden", "base", small);
    const std::string uuid = inventory.findByName("golden")->record.uuid;
    const auto publish = [&](const std::string& name, std::optional<std::string> os) {
        Capture<std::uint64_t> r;
        images.publish(caller(kAlice), uuid, name, "", std::move(os), r.done());
        executor.drain();
        return r;
    };
    ASSERT_TRUE(publish("inherited", std::nullopt).ok());
    EXPECT_EQ(osOf("inherited"), "debian11");
    EXPECT_EQ(osNameOf("inherited"), "Debian 11");
    ASSERT_TRUE(publish("other", "minimal1").ok());
    EXPECT_EQ(osOf("other"), "minimal1");
    EXPECT_EQ(osNameOf("other"), "Minimal 1");
    const auto bad = publish("bad", "nonexistent9");
    EXPECT_EQ(bad.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(bad.message().find("option 'os'"), std::string::npos) << bad.message();
    EXPECT_EQ(images.findByName("bad"), nullptr);

    const std::string plain = create("plain");
    Capture<std::uint64_t> r;
    images.publish(caller(kAlice), plain, "from-blank", "", std::nullopt, r.done());
    executor.drain();
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(osOf("from-blank"), "") << "a VM made from no image has no OS to pass on";
}

TEST_F(OsIdentityTest, Create_TakesTheOsRecommendedResourcesForWhatIsNotGiven)
{
    ASSERT_TRUE(importAs("deb-iso", "iso", "debian11").ok());
    const VmSpec fromIso = createFrom("a", "deb-iso");
    EXPECT_EQ(fromIso.vcpus, 2U);
    EXPECT_EQ(fromIso.memoryMiB, 2048U);
    EXPECT_EQ(fromIso.diskGiB, 20U);

    VmSpecRequest given;
    given.vcpus = 4;
    given.memoryMiB = 700;
    given.diskGiB = 5;
    const VmSpec explicitSpec = createFrom("b", "deb-iso", given);
    EXPECT_EQ(explicitSpec.vcpus, 4U);
    EXPECT_EQ(explicitSpec.memoryMiB, 700U);
    EXPECT_EQ(explicitSpec.diskGiB, 5U) << "what the caller gives always wins";

    // A qcow2 of 3 GiB: the disk takes the OS's 20 GiB; of 30 GiB: never smaller than the image.
    ASSERT_TRUE(importAs("deb-disk", "qcow2", "debian11").ok());
    EXPECT_EQ(createFrom("c", "deb-disk").diskGiB, 20U);
    Capture<std::uint64_t> big;
    images.importImage(caller(kAlice), ImportRequest{"big", makeFile("qcow2", 30 * kGiB), std::nullopt, "", "debian11"},
                       big.done());
    executor.drain();
    ASSERT_TRUE(big.ok()) << big.message();
    EXPECT_EQ(createFrom("d", "big").diskGiB, 30U);
}

TEST_F(OsIdentityTest, Create_FallsBackToTheMinimumAndStaysWithinTheLimits)
{
    ASSERT_TRUE(importAs("min", "iso", "minimal1").ok());
    const VmSpec minimal = createFrom("a", "min");
    EXPECT_EQ(minimal.memoryMiB, 256U) << "the minimum when no recommendation";
    EXPECT_EQ(minimal.vcpus, VmSpec{}.vcpus) << "the usual default when libosinfo gives neither";
    EXPECT_EQ(minimal.diskGiB, VmSpec{}.diskGiB);

    ASSERT_TRUE(importAs("huge", "iso", "huge1").ok());
    const VmSpec huge = createFrom("b", "huge");
    EXPECT_EQ(huge.vcpus, Limits::kMaxVcpus);
    EXPECT_EQ(huge.memoryMiB, Limits::kMaxMemoryMiB);
    EXPECT_EQ(huge.diskGiB, Limits::kMaxDiskGiB);

    ASSERT_TRUE(importAs("plain", "iso", std::nullopt).ok());
    const VmSpec plain = createFrom("c", "plain");
    EXPECT_EQ(plain, (VmSpec{VmSpec{}.vcpus, VmSpec{}.memoryMiB, VmSpec{}.diskGiB, "", "", "", ""}))
        << "no OS, no change";
}

} // namespace
} // namespace hangar::testing
