// The Storage contract: what core's images, VM disks, clones and recovery rely on, run against FakeStorage and
// LibvirtStorage on libvirt's test driver (a pool of the test's own in test:///default, removed when it ends).
//
// Covered elsewhere, because the test driver has no volume streams: a successful upload (raw, qcow2 with its
// virtual size, ISO, sparse), upload progress and cancel half-way, and cloneOverlay's stream copy are proven on a
// real libvirtd in tests/e2e/StorageTest.cpp and, for the fake, in tests/unit/FakeStorageTest.cpp. Here an
// upload is held only to its failures, which both reach before any data moves. Pool management (ensurePool on an
// existing, inactive or mismatched pool) is LibvirtStorage's alone: tests/unit/LibvirtStorageTest.cpp.
// A known difference core does not depend on: FakeStorage works before ensurePool(), LibvirtStorage fails.
#include "BackendName.h"
#include "core/Error.h"
#include "fakes/FakeStorage.h"
#include "unit/ErrorTestSupport.h"
#include "virt/LibvirtStorage.h"
#include "virt/LibvirtSupport.h"

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace hangar::contract {
namespace {

using testing::codeOf;

class FakeStorageBackend
{
public:
    static constexpr const char* kName = "Fake";
    Storage& storage() { return m_storage; }

private:
    testing::FakeStorage m_storage;
};

class LibvirtStorageBackend
{
public:
    static constexpr const char* kName = "Libvirt";
    static constexpr const char* kUri = "test:///default";

    LibvirtStorageBackend()
    {
        static std::atomic<int> counter{0};
        const std::string id = std::to_string(getpid()) + "-" + std::to_string(++counter);
        m_poolName = "hangar-contract-" + id;
        virt::initLibvirt();
        // Keeps the test driver's state alive between the storage's own connections, and removes the pool at the end.
        m_raw.reset(virConnectOpen(kUri));
        virt::silenceErrors(m_raw.get());
        m_storage = std::make_unique<virt::LibvirtStorage>(kUri, m_poolName, "/hangar-contract/" + id);
    }
    ~LibvirtStorageBackend()
    {
        m_storage.reset();
        if (const virt::StoragePoolPtr pool{virStoragePoolLookupByName(m_raw.get(), m_poolName.c_str())}) {
            if (virStoragePoolIsActive(pool.get()) == 1)
                virStoragePoolDestroy(pool.get());
            virStoragePoolUndefine(pool.get());
        }
    }
    LibvirtStorageBackend(const LibvirtStorageBackend&) = delete;
    LibvirtStorageBackend& operator=(const LibvirtStorageBackend&) = delete;
    Storage& storage() { return *m_storage; }

private:
    std::string m_poolName;
    virt::ConnectPtr m_raw;
    std::unique_ptr<virt::LibvirtStorage> m_storage;
};

template <typename Backend> class StorageContract : public ::testing::Test
{
protected:
    void SetUp() override { st().ensurePool(); }
    Storage& st() { return m_backend.storage(); }

private:
    Backend m_backend;
};
using StorageBackends = ::testing::Types<FakeStorageBackend, LibvirtStorageBackend>;
TYPED_TEST_SUITE(StorageContract, StorageBackends, BackendName);

// A temporary file of `text`, closed when it goes.
class TempFile
{
public:
    explicit TempFile(const std::string& text) : m_file(std::tmpfile())
    {
        if (m_file) {
            std::fputs(text.c_str(), m_file);
            std::fflush(m_file);
        }
    }
    ~TempFile()
    {
        if (m_file)
            std::fclose(m_file);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    int fd() const { return m_file ? fileno(m_file) : -1; }

private:
    std::FILE* m_file;
};

TYPED_TEST(StorageContract, CreateBlank_IsAnEmptyQcow2OfTheCapacityThatFindReports)
{
    const VolumeInfo info = this->st().createBlank("vm-1.qcow2", 10 * kGiB);
    EXPECT_EQ(info, (VolumeInfo{"vm-1.qcow2", ImageFormat::Qcow2, 10 * kGiB, 0, ""}));
    EXPECT_EQ(this->st().find("vm-1.qcow2"), info);
}

TYPED_TEST(StorageContract, CreateBlank_OfZeroBytesIsInvalidArgumentAndCreatesNothing)
{
    EXPECT_EQ(codeOf([&] { this->st().createBlank("vm-1.qcow2", 0); }), ErrorCode::InvalidArgument);
    EXPECT_TRUE(this->st().list().empty());
}

TYPED_TEST(StorageContract, CreateOverlay_NamesItsBackingAndIsAtLeastItsSize)
{
    this->st().createBlank("img-base.qcow2", 4 * kGiB);
    EXPECT_EQ(this->st().createOverlay("same.qcow2", "img-base.qcow2", 0),
              (VolumeInfo{"same.qcow2", ImageFormat::Qcow2, 4 * kGiB, 0, "img-base.qcow2"}));
    EXPECT_EQ(this->st().createOverlay("bigger.qcow2", "img-base.qcow2", 20 * kGiB).capacityBytes, 20 * kGiB);
    EXPECT_EQ(this->st().createOverlay("smaller.qcow2", "img-base.qcow2", kGiB).capacityBytes, 4 * kGiB);
    EXPECT_EQ(this->st().find("bigger.qcow2")->backingVolume, "img-base.qcow2");
}

TYPED_TEST(StorageContract, CreateOverlay_OfAMissingBackingIsNotFoundAndCreatesNothing)
{
    EXPECT_EQ(codeOf([&] { this->st().createOverlay("vm-1.qcow2", "img-none.qcow2", 0); }), ErrorCode::NotFound);
    EXPECT_TRUE(this->st().list().empty());
}

TYPED_TEST(StorageContract, Create_OfATakenNameIsAlreadyExistsAndKeepsTheVolume)
{
    auto& st = this->st();
    const VolumeInfo first = st.createBlank("vm-1.qcow2", kGiB);
    st.createBlank("img-base.qcow2", kGiB);
    const std::vector<std::pair<const char*, std::function<void()>>> attempts{
        {"createBlank", [&] { st.createBlank("vm-1.qcow2", 2 * kGiB); }},
        {"createOverlay", [&] { st.createOverlay("vm-1.qcow2", "img-base.qcow2", 0); }},
        {"flatten", [&] { st.flatten("vm-1.qcow2", "img-base.qcow2", {}); }},
        {"cloneOverlay", [&] { st.cloneOverlay("vm-1.qcow2", "img-base.qcow2", {}); }},
    };
    for (const auto& [name, attempt] : attempts)
        EXPECT_EQ(codeOf(attempt), ErrorCode::AlreadyExists) << name;
    EXPECT_EQ(st.find("vm-1.qcow2"), first);
}

TYPED_TEST(StorageContract, Flatten_IsAStandaloneQcow2OfTheSourcesSizeReportingProgress)
{
    auto& st = this->st();
    st.createBlank("img-base.qcow2", 4 * kGiB);
    st.createOverlay("vm-1.qcow2", "img-base.qcow2", 8 * kGiB);
    std::vector<std::uint64_t> reported;
    const VolumeInfo info = st.flatten("img-new.qcow2", "vm-1.qcow2", [&](std::uint64_t done) {
        reported.push_back(done);
        return true;
    });
    EXPECT_EQ(info.name, "img-new.qcow2");
    EXPECT_EQ(info.format, ImageFormat::Qcow2);
    EXPECT_EQ(info.capacityBytes, 8 * kGiB);
    EXPECT_EQ(info.backingVolume, "");
    EXPECT_EQ(reported, (std::vector<std::uint64_t>{0, 8 * kGiB}));
    EXPECT_EQ(st.find("img-new.qcow2"), info);
}

TYPED_TEST(StorageContract, Flatten_CancelledLeavesNoVolume)
{
    auto& st = this->st();
    st.createBlank("vm-1.qcow2", kGiB);
    EXPECT_EQ(codeOf([&] { st.flatten("img-a.qcow2", "vm-1.qcow2", [](std::uint64_t) { return false; }); }),
              ErrorCode::Cancelled);
    EXPECT_EQ(codeOf([&] { st.flatten("img-b.qcow2", "vm-1.qcow2", [](std::uint64_t done) { return done == 0; }); }),
              ErrorCode::Cancelled);
    EXPECT_EQ(st.list(), std::vector<std::string>{"vm-1.qcow2"});
}

TYPED_TEST(StorageContract, FlattenAndClone_OfAMissingSourceAreNotFound)
{
    EXPECT_EQ(codeOf([&] { this->st().flatten("img-new.qcow2", "vm-none.qcow2", {}); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { this->st().cloneOverlay("vm-2.qcow2", "vm-none.qcow2", {}); }), ErrorCode::NotFound);
    EXPECT_TRUE(this->st().list().empty());
}

TYPED_TEST(StorageContract, CloneOverlay_KeepsTheBackingAndTheSize)
{
    auto& st = this->st();
    st.createBlank("img-base.qcow2", kGiB);
    st.createOverlay("vm-1.qcow2", "img-base.qcow2", 2 * kGiB);
    const VolumeInfo copy = st.cloneOverlay("vm-2.qcow2", "vm-1.qcow2", {});
    EXPECT_EQ(copy.name, "vm-2.qcow2");
    EXPECT_EQ(copy.format, ImageFormat::Qcow2);
    EXPECT_EQ(copy.backingVolume, "img-base.qcow2");
    EXPECT_EQ(copy.capacityBytes, 2 * kGiB);
    EXPECT_EQ(st.list(), (std::vector<std::string>{"img-base.qcow2", "vm-1.qcow2", "vm-2.qcow2"}));
}

TYPED_TEST(StorageContract, CloneOverlay_OfAStandaloneVolumeIsStandalone)
{
    this->st().createBlank("vm-1.qcow2", kGiB);
    const VolumeInfo copy = this->st().cloneOverlay("vm-2.qcow2", "vm-1.qcow2", {});
    EXPECT_EQ(copy.backingVolume, "");
    EXPECT_EQ(copy.capacityBytes, kGiB);
}

TYPED_TEST(StorageContract, CloneOverlay_CancelledAtTheStartLeavesNoVolume)
{
    this->st().createBlank("vm-1.qcow2", kGiB);
    EXPECT_EQ(codeOf([&] { this->st().cloneOverlay("vm-2.qcow2", "vm-1.qcow2", [](std::uint64_t) { return false; }); }),
              ErrorCode::Cancelled);
    EXPECT_EQ(this->st().list(), std::vector<std::string>{"vm-1.qcow2"});
}

TYPED_TEST(StorageContract, Remove_DeletesTheVolumeAndAMissingOneIsNoError)
{
    auto& st = this->st();
    st.createBlank("vm-1.qcow2", kGiB);
    st.createBlank("vm-2.qcow2", kGiB);
    st.remove("vm-1.qcow2");
    EXPECT_FALSE(st.find("vm-1.qcow2"));
    EXPECT_EQ(st.list(), std::vector<std::string>{"vm-2.qcow2"});
    EXPECT_NO_THROW(st.remove("vm-1.qcow2"));
    EXPECT_NO_THROW(st.remove("never-was.qcow2"));
}

TYPED_TEST(StorageContract, Find_OfAMissingVolumeIsEmpty)
{
    EXPECT_EQ(this->st().find("vm-1.qcow2"), std::nullopt);
}

TYPED_TEST(StorageContract, List_NamesEveryVolumeInOrder)
{
    for (const char* name : {"vm-b.qcow2", "img-a.raw", "vm-a.qcow2"})
        this->st().createBlank(name, kGiB);
    EXPECT_EQ(this->st().list(), (std::vector<std::string>{"img-a.raw", "vm-a.qcow2", "vm-b.qcow2"}));
}

TYPED_TEST(StorageContract, VolumeNames_MustBeOnePathComponent)
{
    auto& st = this->st();
    st.createBlank("ok.qcow2", kGiB);
    const std::vector<std::string> bad{
        "",        "../etc/passwd",      "a/b", "..", ".hidden", "-rf", "_x", "sp ace", std::string("nul\0l", 5),
        "é.qcow2", std::string(256, 'a')};
    for (const auto& name : bad) {
        const std::vector<std::function<void()>> calls{
            [&] { st.upload(name, ImageFormat::Raw, 0, 1, {}); },
            [&] { st.createBlank(name, kGiB); },
            [&] { st.createOverlay(name, "ok.qcow2", 0); },
            [&] { st.createOverlay("new.qcow2", name, 0); },
            [&] { st.cloneOverlay(name, "ok.qcow2", {}); },
            [&] { st.flatten("new.qcow2", name, {}); },
            [&] { st.remove(name); },
            [&] { st.find(name); },
        };
        for (const auto& call : calls)
            EXPECT_EQ(codeOf(call), ErrorCode::InvalidArgument) << "\"" << name << "\"";
    }
    EXPECT_EQ(st.list(), std::vector<std::string>{"ok.qcow2"});
    EXPECT_NO_THROW(st.createBlank(std::string(255, 'a'), kGiB));
    EXPECT_NO_THROW(st.createBlank("A-z_0.9", kGiB));
}

TYPED_TEST(StorageContract, Upload_FromABadFdIsInvalidArgumentAndCreatesNothing)
{
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_EQ(codeOf([&] { this->st().upload("img-1.raw", ImageFormat::Raw, fd, 4096, {}); }),
              ErrorCode::InvalidArgument);
    EXPECT_TRUE(this->st().list().empty());
}

TYPED_TEST(StorageContract, Upload_OfAFileShorterThanDeclaredIsInvalidArgumentAndCreatesNothing)
{
    const TempFile file("short");
    ASSERT_GE(file.fd(), 0);
    EXPECT_EQ(codeOf([&] { this->st().upload("img-1.raw", ImageFormat::Raw, file.fd(), 4096, {}); }),
              ErrorCode::InvalidArgument);
    EXPECT_TRUE(this->st().list().empty());
}

TYPED_TEST(StorageContract, Upload_OfNothingIsInvalidArgument)
{
    EXPECT_EQ(codeOf([&] { this->st().upload("img-1.raw", ImageFormat::Raw, 0, 0, {}); }), ErrorCode::InvalidArgument);
    EXPECT_TRUE(this->st().list().empty());
}

} // namespace
} // namespace hangar::contract
