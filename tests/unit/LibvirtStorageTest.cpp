// LibvirtStorage against libvirt's test driver (test:///default), which keeps pools and volumes in memory and
// supports define/build/start/autostart, volume create with a backing store, create-from and delete, but not
// upload, download or GetInfoFlags: for those only the clean-up after the failure is checked here, the rest runs on
// a real libvirtd in tests/e2e/StorageTest.cpp. Each test has a pool of its own, with a raw connection open for
// checks the Storage interface does not offer (which also keeps the test driver's state alive across calls).
#include "virt/LibvirtStorage.h"

#include "ErrorTestSupport.h"
#include "core/Error.h"
#include "core/Types.h"
#include "virt/LibvirtSupport.h"
#include "virt/XmlSupport.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <optional>
#include <unistd.h>

namespace hangar::virt {
namespace {

constexpr const char* kTestUri = "test:///default";

using testing::errorOf;

class LibvirtStorageTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        static std::atomic<int> counter{0};
        const std::string id = std::to_string(getpid()) + "-" + std::to_string(++counter);
        m_poolName = "hangar-unit-" + id;
        m_poolPath = "/hangar-unit/" + id;
        initLibvirt();
        m_raw.reset(virConnectOpen(kTestUri));
        ASSERT_TRUE(m_raw);
        silenceErrors(m_raw.get());
        m_storage = std::make_unique<LibvirtStorage>(kTestUri, m_poolName, m_poolPath);
    }

    void TearDown() override
    {
        m_storage.reset();
        if (const auto pool = rawPool()) {
            if (virStoragePoolIsActive(pool.get()) == 1)
                virStoragePoolDestroy(pool.get());
            virStoragePoolUndefine(pool.get());
        }
        m_raw.reset();
    }

    StoragePoolPtr rawPool() const
    {
        return StoragePoolPtr(virStoragePoolLookupByName(m_raw.get(), m_poolName.c_str()));
    }

    std::string volumeXml(const std::string& name) const
    {
        const auto pool = rawPool();
        const StorageVolPtr vol(virStorageVolLookupByName(pool.get(), name.c_str()));
        if (!vol)
            return {};
        const CString text(virStorageVolGetXMLDesc(vol.get(), 0));
        return text ? text.get() : "";
    }

    // Defines (not starts) a pool of this test's name from XML text.
    void definePool(const std::string& text)
    {
        const StoragePoolPtr pool(virStoragePoolDefineXML(m_raw.get(), text.c_str(), 0));
        ASSERT_TRUE(pool) << lastFailure().message;
    }

    std::string m_poolName;
    std::string m_poolPath;
    ConnectPtr m_raw;
    std::unique_ptr<LibvirtStorage> m_storage;
};

TEST_F(LibvirtStorageTest, Constructor_RejectsARelativePoolPath)
{
    const auto e = errorOf([] { LibvirtStorage("test:///default", "p", "var/lib/hangar/pool"); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e->what()).find("absolute"), std::string::npos) << e->what();
}

TEST_F(LibvirtStorageTest, PoolName_IsTheOneGiven)
{
    EXPECT_EQ(m_storage->poolName(), m_poolName);
}

TEST_F(LibvirtStorageTest, EnsurePool_DefinesStartsAndAutostartsAMissingDirPool)
{
    m_storage->ensurePool();

    const auto pool = rawPool();
    ASSERT_TRUE(pool);
    EXPECT_EQ(virStoragePoolIsActive(pool.get()), 1);
    int autostart = 0;
    ASSERT_EQ(virStoragePoolGetAutostart(pool.get(), &autostart), 0);
    EXPECT_EQ(autostart, 1);
    const CString text(virStoragePoolGetXMLDesc(pool.get(), 0));
    ASSERT_TRUE(text);
    const std::string xml = text.get();
    EXPECT_NE(xml.find("<pool type='dir'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<path>" + m_poolPath + "</path>"), std::string::npos) << xml;
}

TEST_F(LibvirtStorageTest, EnsurePool_AgainKeepsThePoolAndItsVolumes)
{
    m_storage->ensurePool();
    m_storage->createBlank("disk.qcow2", kGiB);

    m_storage->ensurePool();

    EXPECT_EQ(m_storage->list(), std::vector<std::string>{"disk.qcow2"});
}

TEST_F(LibvirtStorageTest, EnsurePool_StartsThePoolWhenItIsInactive)
{
    m_storage->ensurePool();
    m_storage->createBlank("disk.qcow2", kGiB);
    ASSERT_EQ(virStoragePoolDestroy(rawPool().get()), 0);

    m_storage->ensurePool();

    EXPECT_EQ(virStoragePoolIsActive(rawPool().get()), 1);
    EXPECT_TRUE(m_storage->find("disk.qcow2"));
}

TEST_F(LibvirtStorageTest, EnsurePool_RefusesAPoolOfThatNameAtAnotherPath)
{
    definePool("<pool type='dir'><name>" + m_poolName + "</name><target><path>/elsewhere</path></target></pool>");

    const auto e = errorOf([&] { m_storage->ensurePool(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::BackendFailure);
    EXPECT_NE(std::string(e->what()).find("/elsewhere"), std::string::npos) << e->what();
    EXPECT_NE(std::string(e->what()).find(m_poolPath), std::string::npos) << e->what();
}

TEST_F(LibvirtStorageTest, EnsurePool_RefusesAPoolOfThatNameOfAnotherType)
{
    definePool("<pool type='logical'><name>" + m_poolName + "</name><source><name>vg</name></source><target><path>" +
               m_poolPath + "</path></target></pool>");

    const auto e = errorOf([&] { m_storage->ensurePool(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::BackendFailure);
    EXPECT_NE(std::string(e->what()).find("logical"), std::string::npos) << e->what();
}

TEST_F(LibvirtStorageTest, EnsurePool_AcceptsThePathWithATrailingSlash)
{
    definePool("<pool type='dir'><name>" + m_poolName + "</name><target><path>" + m_poolPath +
               "/</path></target></pool>");

    m_storage->ensurePool();

    EXPECT_EQ(virStoragePoolIsActive(rawPool().get()), 1);
}

TEST_F(LibvirtStorageTest, Calls_BeforeThePoolExistsSaySo)
{
    const auto e = errorOf([&] { m_storage->list(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::BackendFailure);
    EXPECT_NE(std::string(e->what()).find("does not exist"), std::string::npos) << e->what();
}

TEST_F(LibvirtStorageTest, CreateBlank_MakesAnEmptyQcow2OfTheCapacity)
{
    m_storage->ensurePool();

    const VolumeInfo info = m_storage->createBlank("vm-1.qcow2", 10 * kGiB);

    EXPECT_EQ(info, (VolumeInfo{"vm-1.qcow2", ImageFormat::Qcow2, 10 * kGiB, 0, ""}));
    EXPECT_EQ(m_storage->find("vm-1.qcow2"), info);
    EXPECT_NE(volumeXml("vm-1.qcow2").find("<compat>1.1</compat>"), std::string::npos) << volumeXml("vm-1.qcow2");
}

TEST_F(LibvirtStorageTest, CreateBlank_RejectsZeroCapacity)
{
    m_storage->ensurePool();

    const auto e = errorOf([&] { m_storage->createBlank("vm-1.qcow2", 0); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(m_storage->list().empty());
}

TEST_F(LibvirtStorageTest, CreateOverlay_RecordsItsBackingVolumeAndTakesItsSize)
{
    m_storage->ensurePool();
    m_storage->createBlank("img-base.qcow2", 4 * kGiB);

    const VolumeInfo info = m_storage->createOverlay("vm-1.qcow2", "img-base.qcow2", 0);

    EXPECT_EQ(info, (VolumeInfo{"vm-1.qcow2", ImageFormat::Qcow2, 4 * kGiB, 0, "img-base.qcow2"}));
    const std::string xml = volumeXml("vm-1.qcow2");
    EXPECT_NE(xml.find("<path>" + m_poolPath + "/img-base.qcow2</path>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<backingStore>"), std::string::npos) << xml;
}

TEST_F(LibvirtStorageTest, CreateOverlay_IsAsLargeAsAskedWhenThatIsMoreThanTheBacking)
{
    m_storage->ensurePool();
    m_storage->createBlank("img-base.qcow2", 4 * kGiB);

    EXPECT_EQ(m_storage->createOverlay("bigger.qcow2", "img-base.qcow2", 20 * kGiB).capacityBytes, 20 * kGiB);
    EXPECT_EQ(m_storage->createOverlay("smaller.qcow2", "img-base.qcow2", 1 * kGiB).capacityBytes, 4 * kGiB);
}

TEST_F(LibvirtStorageTest, CreateOverlay_OfAMissingBackingIsNotFoundAndCreatesNothing)
{
    m_storage->ensurePool();

    const auto e = errorOf([&] { m_storage->createOverlay("vm-1.qcow2", "img-none.qcow2", 0); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e->what()).find("img-none.qcow2"), std::string::npos) << e->what();
    EXPECT_TRUE(m_storage->list().empty());
}

TEST_F(LibvirtStorageTest, Create_OfATakenNameIsAlreadyExistsAndKeepsTheVolume)
{
    m_storage->ensurePool();
    const VolumeInfo first = m_storage->createBlank("vm-1.qcow2", kGiB);
    m_storage->createBlank("img-base.qcow2", kGiB);

    for (const auto& attempt : std::vector<std::function<void()>>{
             [&] { m_storage->createBlank("vm-1.qcow2", 2 * kGiB); },
             [&] { m_storage->createOverlay("vm-1.qcow2", "img-base.qcow2", 0); },
             [&] { m_storage->flatten("vm-1.qcow2", "img-base.qcow2", {}); },
             [&] { m_storage->cloneOverlay("vm-1.qcow2", "img-base.qcow2", {}); },
         }) {
        const auto e = errorOf(attempt);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->code(), ErrorCode::AlreadyExists) << e->what();
    }
    EXPECT_EQ(m_storage->find("vm-1.qcow2"), first);
}

TEST_F(LibvirtStorageTest, Find_ReportsABackingOutsideThePoolByItsPath)
{
    m_storage->ensurePool();
    const std::string text = "<volume><name>foreign.qcow2</name><capacity>1048576</capacity><target><format "
                             "type='qcow2'/></target><backingStore><path>/srv/images/base.qcow2</path><format "
                             "type='qcow2'/></backingStore></volume>";
    const StorageVolPtr vol(virStorageVolCreateXML(rawPool().get(), text.c_str(), 0));
    ASSERT_TRUE(vol) << lastFailure().message;

    const auto info = m_storage->find("foreign.qcow2");

    ASSERT_TRUE(info);
    EXPECT_EQ(info->backingVolume, "/srv/images/base.qcow2");
}

TEST_F(LibvirtStorageTest, Flatten_MakesAStandaloneQcow2OfTheSourcesSize)
{
    m_storage->ensurePool();
    m_storage->createBlank("img-base.qcow2", 4 * kGiB);
    m_storage->createOverlay("vm-1.qcow2", "img-base.qcow2", 8 * kGiB);
    std::vector<std::uint64_t> reported;

    const VolumeInfo info = m_storage->flatten("img-new.qcow2", "vm-1.qcow2", [&](std::uint64_t done) {
        reported.push_back(done);
        return true;
    });

    EXPECT_EQ(info.format, ImageFormat::Qcow2);
    EXPECT_EQ(info.capacityBytes, 8 * kGiB);
    EXPECT_EQ(info.backingVolume, "");
    EXPECT_EQ(volumeXml("img-new.qcow2").find("<backingStore>"), std::string::npos) << volumeXml("img-new.qcow2");
    EXPECT_EQ(reported, (std::vector<std::uint64_t>{0, 8 * kGiB}));
}

TEST_F(LibvirtStorageTest, Flatten_CancelledBeforeItStartsCreatesNothing)
{
    m_storage->ensurePool();
    m_storage->createBlank("vm-1.qcow2", kGiB);

    const auto e =
        errorOf([&] { m_storage->flatten("img-new.qcow2", "vm-1.qcow2", [](std::uint64_t) { return false; }); });

    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::Cancelled);
    EXPECT_EQ(m_storage->list(), std::vector<std::string>{"vm-1.qcow2"});
}

TEST_F(LibvirtStorageTest, Flatten_CancelledWhenItEndsLeavesNoVolume)
{
    m_storage->ensurePool();
    m_storage->createBlank("vm-1.qcow2", kGiB);

    const auto e = errorOf(
        [&] { m_storage->flatten("img-new.qcow2", "vm-1.qcow2", [](std::uint64_t done) { return done == 0; }); });

    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::Cancelled);
    EXPECT_FALSE(m_storage->find("img-new.qcow2"));
}

TEST_F(LibvirtStorageTest, Flatten_OfAMissingSourceIsNotFound)
{
    m_storage->ensurePool();

    const auto e = errorOf([&] { m_storage->flatten("img-new.qcow2", "vm-none.qcow2", {}); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::NotFound);
}

// The test driver cannot stream: what is checked is that the failure leaves nothing behind.
TEST_F(LibvirtStorageTest, Upload_ThatTheDriverCannotStreamLeavesNoVolume)
{
    m_storage->ensurePool();
    std::FILE* file = std::tmpfile();
    ASSERT_TRUE(file);
    ASSERT_EQ(std::fputs(std::string(4096, 'x').c_str(), file), 1);
    ASSERT_EQ(std::fflush(file), 0);

    for (const ImageFormat format : {ImageFormat::Raw, ImageFormat::Qcow2, ImageFormat::Iso}) {
        const auto e = errorOf([&] { m_storage->upload("img-1", format, fileno(file), 4096, {}); });
        ASSERT_TRUE(e);
        EXPECT_EQ(e->code(), ErrorCode::NotSupported) << e->what();
        EXPECT_TRUE(m_storage->list().empty());
    }
    std::fclose(file);
}

TEST_F(LibvirtStorageTest, Upload_FromABadFdIsInvalidArgumentAndCreatesNothing)
{
    m_storage->ensurePool();
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    close(fd);

    const auto e = errorOf([&] { m_storage->upload("img-1.raw", ImageFormat::Raw, fd, 4096, {}); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e->what()).find("Bad file descriptor"), std::string::npos) << e->what();
    EXPECT_TRUE(m_storage->list().empty());
}

TEST_F(LibvirtStorageTest, Upload_OfAFileShorterThanDeclaredIsInvalidArgument)
{
    m_storage->ensurePool();
    std::FILE* file = std::tmpfile();
    ASSERT_TRUE(file);
    ASSERT_EQ(std::fputs("short", file), 1);
    ASSERT_EQ(std::fflush(file), 0);

    const auto e = errorOf([&] { m_storage->upload("img-1.raw", ImageFormat::Raw, fileno(file), 4096, {}); });
    std::fclose(file);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e->what()).find("fewer than"), std::string::npos) << e->what();
    EXPECT_TRUE(m_storage->list().empty());
}

TEST_F(LibvirtStorageTest, Upload_OfNothingIsInvalidArgument)
{
    m_storage->ensurePool();

    const auto e = errorOf([&] { m_storage->upload("img-1.raw", ImageFormat::Raw, 0, 0, {}); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::InvalidArgument);
}

TEST_F(LibvirtStorageTest, CloneOverlay_WhereTheDriverCannotStreamUsesLibvirtsCloneKeepingTheBacking)
{
    m_storage->ensurePool();
    m_storage->createBlank("img-base.qcow2", kGiB);
    m_storage->createOverlay("vm-1.qcow2", "img-base.qcow2", 0);

    const VolumeInfo copy = m_storage->cloneOverlay("vm-2.qcow2", "vm-1.qcow2", {});
    EXPECT_EQ(copy.format, ImageFormat::Qcow2);
    EXPECT_EQ(copy.backingVolume, "img-base.qcow2");
    EXPECT_EQ(copy.capacityBytes, kGiB);
    std::vector<std::string> names = m_storage->list();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"img-base.qcow2", "vm-1.qcow2", "vm-2.qcow2"}));
}

TEST_F(LibvirtStorageTest, Remove_DeletesTheVolume)
{
    m_storage->ensurePool();
    m_storage->createBlank("vm-1.qcow2", kGiB);
    m_storage->createBlank("vm-2.qcow2", kGiB);

    m_storage->remove("vm-1.qcow2");

    EXPECT_FALSE(m_storage->find("vm-1.qcow2"));
    EXPECT_EQ(m_storage->list(), std::vector<std::string>{"vm-2.qcow2"});
}

TEST_F(LibvirtStorageTest, Remove_OfAMissingVolumeIsNoError)
{
    m_storage->ensurePool();

    EXPECT_NO_THROW(m_storage->remove("vm-1.qcow2"));
}

TEST_F(LibvirtStorageTest, List_NamesEveryVolumeInOrder)
{
    m_storage->ensurePool();
    for (const char* name : {"vm-b.qcow2", "img-a.raw", "vm-a.qcow2"})
        m_storage->createBlank(name, kGiB);

    EXPECT_EQ(m_storage->list(), (std::vector<std::string>{"img-a.raw", "vm-a.qcow2", "vm-b.qcow2"}));
}

TEST_F(LibvirtStorageTest, VolumeNames_MustBeOnePathComponent)
{
    m_storage->ensurePool();
    m_storage->createBlank("ok.qcow2", kGiB);
    const std::vector<std::string> bad{
        "",        "../etc/passwd",      "a/b", "..", ".hidden", "-rf", "_x", "sp ace", std::string("nul\0l", 5),
        "é.qcow2", std::string(256, 'a')};
    for (const auto& name : bad) {
        const std::vector<std::function<void()>> calls{
            [&] { m_storage->upload(name, ImageFormat::Raw, 0, 1, {}); },
            [&] { m_storage->createBlank(name, kGiB); },
            [&] { m_storage->createOverlay(name, "ok.qcow2", 0); },
            [&] { m_storage->createOverlay("new.qcow2", name, 0); },
            [&] { m_storage->cloneOverlay(name, "ok.qcow2", {}); },
            [&] { m_storage->flatten("new.qcow2", name, {}); },
            [&] { m_storage->remove(name); },
            [&] { m_storage->find(name); },
        };
        for (const auto& call : calls) {
            const auto e = errorOf(call);
            ASSERT_TRUE(e) << "accepted \"" << name << "\"";
            EXPECT_EQ(e->code(), ErrorCode::InvalidArgument) << e->what();
        }
    }
    EXPECT_EQ(m_storage->list(), std::vector<std::string>{"ok.qcow2"});
    EXPECT_NO_THROW(m_storage->createBlank(std::string(255, 'a'), kGiB));
    EXPECT_NO_THROW(m_storage->createBlank("A-z_0.9", kGiB));
}

} // namespace
} // namespace hangar::virt
