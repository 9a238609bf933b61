// Images' OS identity through D-Bus on the real hangard with libvirt's test driver and the host's real libosinfo
// database (Debian 12's osinfo-db knows debian11, not debian12: the ids are whatever the installed database knows):
// the `os` option of ImportImage and VM.Publish checked against it, Image.OS and OSName of an import (seen in its
// InterfacesAdded: the test driver cannot upload, so the import then fails in its job) and of a published image,
// an installer ISO identified by libosinfo's media detection (a tiny bootable ISO made with xorriso whose volume id
// is that of Debian 11's netinst), the inheritance by the next publish, CreateVM's defaults from libosinfo's
// resources, and ListOperatingSystems.
#include "DaemonFixture.h"

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <unistd.h>

namespace hangar::it {
namespace {

constexpr const char* kImageInterface = "org.hangar.Hangar1.Image";
constexpr const char* kInvalidArgument = "org.hangar.Hangar1.Error.InvalidArgument";

using Properties = std::map<std::string, sdbus::Variant>;

class ImageOsTest : public ConnectedDaemonFixture
{
protected:
    // Subscribed before any call: an import that fails in its job is gone before a client could read it, but its
    // InterfacesAdded carries every property.
    void onConnected() override
    {
        m_added = connection->addMatch(
            "type='signal',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
            [this](sdbus::Message& message) {
                sdbus::ObjectPath path;
                std::map<std::string, Properties> interfaces;
                message >> path >> interfaces;
                const auto it = interfaces.find(kImageInterface);
                if (it == interfaces.end())
                    return;
                const std::lock_guard lock(m_mutex);
                m_images[it->second.at("Name").get<std::string>()] = it->second;
            });
    }
    void onDisconnected() override { m_added.reset(); }

    // The Image properties the image named `name` was announced with, once it was.
    Properties announced(const std::string& name)
    {
        Properties found;
        EXPECT_TRUE(waitFor([&] {
            const std::lock_guard lock(m_mutex);
            const auto it = m_images.find(name);
            if (it != m_images.end())
                found = it->second;
            return it != m_images.end();
        })) << "no InterfacesAdded for image "
            << name;
        return found;
    }

    // An ISO 9660 file with this volume id made by xorriso, bootable (El Torito, no emulation) as installers are:
    // libosinfo identifies only bootable media.
    int isoFile(const std::string& volumeId)
    {
        const std::string tree = dir.path() + "/iso-tree";
        std::filesystem::create_directories(tree);
        std::ofstream(tree + "/boot.img") << std::string(2048, '\0');
        const std::string iso = dir.path() + "/medium.iso";
        std::filesystem::remove(iso);
        const std::string command = "xorriso -as mkisofs -quiet -V '" + volumeId + "' -b boot.img -no-emul-boot -o '" +
                                    iso + "' '" + tree + "' 2>/dev/null";
        EXPECT_EQ(std::system(command.c_str()), 0) << command << " (xorriso comes from scripts/install-deps.sh)";
        return ::open(iso.c_str(), O_RDONLY | O_CLOEXEC);
    }

    std::mutex m_mutex;
    std::map<std::string, Properties> m_images;
    sdbus::Slot m_added;

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

TEST_F(ImageOsTest, ImportImage_WithAnOsGivesTheImageLibosinfosIdAndName)
{
    const int fd = rawFile();
    manager->ImportImage("bullseye", sdbus::UnixFd(fd), {{"os", sdbus::Variant(std::string("debian11"))}});
    ::close(fd);
    const Properties image = announced("bullseye");
    EXPECT_EQ(image.at("OS").get<std::string>(), "debian11");
    EXPECT_EQ(image.at("OSName").get<std::string>(), "Debian 11");

    const int none = rawFile();
    manager->ImportImage("plain", sdbus::UnixFd(none), {});
    ::close(none);
    EXPECT_EQ(announced("plain").at("OS").get<std::string>(), "") << "a raw image is not identified";
}

TEST_F(ImageOsTest, ImportImage_OfAnInstallerIsoIsIdentifiedByLibosinfosMediaDetection)
{
    const int netinst = isoFile("Debian 11.7.0 amd64 n");
    manager->ImportImage("netinst", sdbus::UnixFd(netinst), {});
    ::close(netinst);
    const Properties image = announced("netinst");
    EXPECT_EQ(image.at("Format").get<std::string>(), "iso");
    EXPECT_EQ(image.at("OS").get<std::string>(), "debian11");
    EXPECT_EQ(image.at("OSName").get<std::string>(), "Debian 11");

    const int unknown = isoFile("MY DATA DISC");
    manager->ImportImage("data", sdbus::UnixFd(unknown), {});
    ::close(unknown);
    EXPECT_EQ(announced("data").at("OS").get<std::string>(), "") << "an ISO libosinfo does not know";

    const int given = isoFile("Debian 11.7.0 amd64 n");
    manager->ImportImage("overridden", sdbus::UnixFd(given), {{"os", sdbus::Variant(std::string("debian10"))}});
    ::close(given);
    EXPECT_EQ(announced("overridden").at("OS").get<std::string>(), "debian10") << "the admin's word wins";
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
