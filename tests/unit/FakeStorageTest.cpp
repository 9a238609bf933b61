// FakeStorage behaves like LibvirtStorage where core's tests rely on it (names, taken and missing volumes, nothing
// left behind by a failed or cancelled upload, a bad fd failing), and its test controls (held calls, injected
// failures) do what they say.
#include "fakes/FakeStorage.h"

#include "ErrorTestSupport.h"
#include "core/Types.h"

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <future>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace hangar::testing {
namespace {

using namespace std::chrono_literals;

// A temporary file holding content, closed when it goes.
class TempFile
{
public:
    explicit TempFile(const std::string& content) : m_file(std::tmpfile())
    {
        if (!m_file || std::fwrite(content.data(), 1, content.size(), m_file) != content.size() ||
            std::fflush(m_file) != 0)
            throw std::runtime_error("cannot write a temporary file");
    }
    ~TempFile() { std::fclose(m_file); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    int fd() const { return fileno(m_file); }

private:
    std::FILE* m_file;
};

// The start of a qcow2 header: magic, version 3, and the virtual size at offset 24.
std::string qcow2Header(std::uint64_t virtualBytes)
{
    std::string h(512, '\0');
    h.replace(0, 4, "QFI\xfb");
    h[7] = 3;
    for (int i = 0; i < 8; ++i)
        h[24 + i] = static_cast<char>((virtualBytes >> (8 * (7 - i))) & 0xffU);
    return h;
}

TEST(FakeStorageTest, Upload_ReadsTheWholeFileAndReportsItsBytes)
{
    FakeStorage storage;
    const TempFile file(std::string(200 * 1024, 'x'));
    std::uint64_t last = 0;

    const VolumeInfo info = storage.upload("img-1.raw", ImageFormat::Raw, file.fd(), 200 * 1024, [&](auto done) {
        last = done;
        return true;
    });

    EXPECT_EQ(info, (VolumeInfo{"img-1.raw", ImageFormat::Raw, 200 * 1024, 200 * 1024, ""}));
    EXPECT_EQ(last, 200 * 1024U);
    EXPECT_EQ(storage.find("img-1.raw"), info);
}

TEST(FakeStorageTest, Upload_OfAQcow2TakesItsVirtualSizeFromTheHeader)
{
    FakeStorage storage;
    const TempFile file(qcow2Header(8 * kGiB));

    const VolumeInfo info = storage.upload("img-1.qcow2", ImageFormat::Qcow2, file.fd(), 512, {});

    EXPECT_EQ(info.capacityBytes, 8 * kGiB);
    EXPECT_EQ(info.allocationBytes, 512U);
}

TEST(FakeStorageTest, Upload_OfContentOtherThanDeclaredLeavesNoVolume)
{
    FakeStorage storage;
    const TempFile qcow2(qcow2Header(kGiB));
    const TempFile raw(std::string(512, 'r'));

    const auto asRaw = errorOf([&] { storage.upload("a", ImageFormat::Raw, qcow2.fd(), 512, {}); });
    const auto asQcow2 = errorOf([&] { storage.upload("b", ImageFormat::Qcow2, raw.fd(), 512, {}); });

    ASSERT_TRUE(asRaw && asQcow2);
    EXPECT_EQ(asRaw->code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(asQcow2->code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(storage.volumes().empty());
}

TEST(FakeStorageTest, Upload_FromABadOrShortFileFailsAndLeavesNoVolume)
{
    FakeStorage storage;
    const TempFile shortFile("abc");
    const int closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(closed, 0);
    close(closed);

    const auto bad = errorOf([&] { storage.upload("img-1.raw", ImageFormat::Raw, closed, 512, {}); });
    const auto truncated = errorOf([&] { storage.upload("img-1.raw", ImageFormat::Raw, shortFile.fd(), 512, {}); });

    ASSERT_TRUE(bad && truncated);
    EXPECT_EQ(bad->code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(bad->what()).find("Bad file descriptor"), std::string::npos) << bad->what();
    EXPECT_EQ(truncated->code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(storage.volumes().empty());
}

TEST(FakeStorageTest, Hold_StopsAnUploadHalfWayWithItsVolumeAndACancelEndsIt)
{
    FakeStorage storage;
    const TempFile file(std::string(4096, 'x'));
    std::atomic<bool> cancel{false};
    storage.hold("upload");

    auto upload = std::async(std::launch::async, [&] {
        return storage.upload("img-1.raw", ImageFormat::Raw, file.fd(), 4096, [&](auto) { return !cancel.load(); });
    });
    ASSERT_TRUE(storage.waitHeld("upload", 1, 5s));
    EXPECT_TRUE(storage.has("img-1.raw"));
    cancel = true;
    storage.release("upload");

    const auto e = errorOf([&] { upload.get(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), ErrorCode::Cancelled);
    EXPECT_FALSE(storage.has("img-1.raw"));
}

TEST(FakeStorageTest, Hold_ReleasedLetsTheCallFinish)
{
    FakeStorage storage;
    storage.createBlank("vm-1.qcow2", kGiB);
    storage.hold("flatten");

    auto flatten = std::async(std::launch::async, [&] { return storage.flatten("img-1.qcow2", "vm-1.qcow2", {}); });
    ASSERT_TRUE(storage.waitHeld("flatten", 1, 5s));
    storage.release("flatten");

    EXPECT_EQ(flatten.get(), (VolumeInfo{"img-1.qcow2", ImageFormat::Qcow2, kGiB, 0, ""}));
}

TEST(FakeStorageTest, FailNext_FailsOneCallOfThatMethod)
{
    FakeStorage storage;
    storage.failNext("createBlank", Error(ErrorCode::BackendFailure, "disk full"));

    const auto e = errorOf([&] { storage.createBlank("vm-1.qcow2", kGiB); });

    ASSERT_TRUE(e);
    EXPECT_STREQ(e->what(), "disk full");
    EXPECT_FALSE(storage.has("vm-1.qcow2"));
    EXPECT_NO_THROW(storage.createBlank("vm-1.qcow2", kGiB));
    EXPECT_EQ(storage.calls("createBlank"), 2);
}

TEST(FakeStorageTest, OverlaysAndClonesRecordTheirBacking)
{
    FakeStorage storage;
    storage.addOutside(VolumeInfo{"img-1.qcow2", ImageFormat::Qcow2, 4 * kGiB, kGiB, ""});

    const VolumeInfo overlay = storage.createOverlay("vm-1.qcow2", "img-1.qcow2", 0);
    const VolumeInfo clone = storage.cloneOverlay("vm-2.qcow2", "vm-1.qcow2", {});
    const VolumeInfo flat = storage.flatten("img-2.qcow2", "vm-1.qcow2", {});

    EXPECT_EQ(overlay.capacityBytes, 4 * kGiB);
    EXPECT_EQ(storage.backingOf("vm-1.qcow2"), "img-1.qcow2");
    EXPECT_EQ(clone.backingVolume, "img-1.qcow2");
    EXPECT_EQ(storage.backingOf("img-2.qcow2"), "");
    EXPECT_EQ(flat.capacityBytes, 4 * kGiB);
    EXPECT_EQ(storage.backingOf("vm-none.qcow2"), std::nullopt);
}

TEST(FakeStorageTest, TakenMissingAndInvalidNamesFailAsForReal)
{
    FakeStorage storage;
    storage.createBlank("vm-1.qcow2", kGiB);

    EXPECT_EQ(errorOf([&] { storage.createBlank("vm-1.qcow2", kGiB); })->code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(errorOf([&] { storage.createOverlay("vm-2.qcow2", "none", 0); })->code(), ErrorCode::NotFound);
    EXPECT_EQ(errorOf([&] { storage.createBlank("../vm.qcow2", kGiB); })->code(), ErrorCode::InvalidArgument);
    EXPECT_NO_THROW(storage.remove("none"));
    EXPECT_EQ(storage.list(), std::vector<std::string>{"vm-1.qcow2"});
}

} // namespace
} // namespace hangar::testing
