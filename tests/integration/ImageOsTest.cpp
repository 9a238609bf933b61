// Images' OS identity through D-Bus on the real hangard with libvirt's test driver and the host's real libosinfo
// database (Debian 12's osinfo-db knows debian11, not debian12: the ids are whatever the installed database knows):
// the `os` option of ImportImage and VM.Publish checked against it, Image.OS and OSName of a published image, the
// inheritance by the next publish, CreateVM's defaults from libosinfo's resources, and ListOperatingSystems. The test
// driver cannot upload, so the OS of an import (given, or an installer ISO identified by libosinfo's media
// detection) is checked end to end: tests/e2e/ImageImportE2eTest.cpp.
#include "DaemonFixture.h"

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace hangar::it {
namespace {

constexpr const char* kImageInterface = "org.hangar.Hangar1.Image";
constexpr const char* kInvalidArgument = "org.hangar.Hangar1.Error.InvalidArgument";

class ImageOsTest : public ConnectedDaemonFixture
{
protected:
    std::string imageProperty(const std::string& path, const std::string& name)
    {
        auto proxy = sdbus::createProxy(*connection, "org.hangar.Hangar1", path);
        return proxy->getProperty(name).onInterface(kImageInterface).get<std::string>();
    }

    // VM.Publish with options; the new image's path once it is ready.
    std::string publish(const std::string& vmPath, const std::string& imageName, const Dict& options = {})
    {
        vm(vmPath).Publish(imageName, options);
        const std::string path = manager->GetImage(imageName);
        EXPECT_TRUE(waitFor([&] { return imageProperty(path, "State") == "ready"; })) << imageName << " not ready";
        return path;
    }

    // A raw image of 1 MiB, opened for reading.
    int rawFile()
    {
        const std::string path = dir.path() + "/disk.raw";
        std::ofstream{path};
        EXPECT_EQ(truncate(path.c_str(), 1 << 20), 0);
        return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
};

TEST_F(ImageOsTest, ImportImage_AnOsUnknownToLibosinfoIsInvalidArgumentNamingTheOption)
{
    for (const std::string& bad : std::vector<std::string>{"debian99", "Debian11", "x\x01"}) {
        std::string message;
        const int fd = rawFile();
        EXPECT_EQ(errorOf(
                      [&] {
                          manager->ImportImage("img", sdbus::UnixFd(fd), {{"os", sdbus::Variant(bad)}});
                      },
                      &message),
                  kInvalidArgument)
            << bad;
        ::close(fd);
        EXPECT_NE(message.find("option 'os'"), std::string::npos) << message;
        EXPECT_NE(message.find("osinfo-query os"), std::string::npos) << "says where the allowed ids are: " << message;
    }
    std::string message;
    const int fd = rawFile();
    EXPECT_EQ(errorOf(
                  [&] {
                      manager->ImportImage("img", sdbus::UnixFd(fd), {{"os", sdbus::Variant(11U)}});
                  },
                  &message),
              kInvalidArgument);
    ::close(fd);
    EXPECT_NE(message.find("os"), std::string::npos) << message;
    EXPECT_TRUE(manager->ListImages().empty()) << "a refused import leaves no image";
}

TEST_F(ImageOsTest, ListOperatingSystems_IsLibosinfosDatabaseSortedByShortId)
{
    auto proxy = sdbus::createProxy(*connection, "org.hangar.Hangar1", "/org/hangar/Hangar1");
    std::vector<sdbus::Struct<std::string, std::string, std::string>> systems;
    proxy->callMethod("ListOperatingSystems").onInterface("org.hangar.Hangar1.Manager").storeResultsTo(systems);
    ASSERT_GT(systems.size(), 100U) << "Debian 12's osinfo-db knows hundreds";
    EXPECT_TRUE(std::is_sorted(systems.begin(), systems.end(),
                               [](const auto& a, const auto& b) { return a.template get<0>() < b.template get<0>(); }));
    const auto debian =
        std::find_if(systems.begin(), systems.end(), [](const auto& os) { return os.template get<0>() == "debian11"; });
    ASSERT_NE(debian, systems.end());
    EXPECT_EQ(debian->get<1>(), "Debian 11");
    EXPECT_EQ(debian->get<2>(), "11");
}

TEST_F(ImageOsTest, Publish_GivesTheImageAnOsWithLibosinfosNameAndTheNextPublishInheritsIt)
{
    const std::string base = create("base", {{"disk_gib", sdbus::Variant(uint64_t{2})}});
    const std::string plain = publish(base, "plain");
    EXPECT_EQ(imageProperty(plain, "OS"), "") << "a VM made from no image has no OS";
    EXPECT_EQ(imageProperty(plain, "OSName"), "");

    std::string message;
    EXPECT_EQ(errorOf(
                  [&] {
                      vm(base).Publish("bad", {{"os", sdbus::Variant(std::string("nosuchos1"))}});
                  },
                  &message),
              kInvalidArgument);
    EXPECT_NE(message.find("option 'os'"), std::string::npos) << message;
    EXPECT_EQ(errorOf([&] { manager->GetImage("bad"); }), "org.hangar.Hangar1.Error.NotFound");

    const std::string debian = publish(base, "debian", {{"os", sdbus::Variant(std::string("debian11"))}});
    EXPECT_EQ(imageProperty(debian, "OS"), "debian11");
    EXPECT_EQ(imageProperty(debian, "OSName"), "Debian 11") << "libosinfo's name of debian11";

    // A VM from it takes debian11's resources from libosinfo (1 CPU, 1 GiB minimum; 20 GiB recommended) where the
    // caller says nothing, and what it publishes is debian11 too.
    const std::string child = create("child", {{"image", sdbus::Variant(std::string("debian"))}});
    EXPECT_EQ(vm(child).MemoryMiB(), 1024U);
    EXPECT_EQ(vm(child).DiskGiB(), 20U);
    const std::string sized = create(
        "sized", {{"image", sdbus::Variant(std::string("debian"))}, {"memory_mib", sdbus::Variant(uint64_t{300})}});
    EXPECT_EQ(vm(sized).MemoryMiB(), 300U) << "what the caller gives wins";
    const std::string inherited = publish(child, "child-image");
    EXPECT_EQ(imageProperty(inherited, "OS"), "debian11");

    // Persisted: the same after a restart.
    disconnect();
    ASSERT_EQ(daemon->stop(), 0);
    daemon.reset();
    startDaemon();
    EXPECT_EQ(imageProperty(manager->GetImage("child-image"), "OSName"), "Debian 11");
}

} // namespace
} // namespace hangar::it
