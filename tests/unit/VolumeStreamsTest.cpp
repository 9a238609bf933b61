// virt/VolumeStreams: how an import reads the caller's file. A hole that runs to the end of the file is a hole; a
// file that shrank under the upload is an error, never a tail of zeros (lseek says ENXIO for both).
#include "virt/VolumeStreams.h"

#include "ErrorTestSupport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace hangar::virt {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20U;

// 1 MiB of data, then a hole up to size.
int sparseFile(std::uint64_t size)
{
    char path[] = "/tmp/hangar-streams-XXXXXX";
    const int fd = ::mkstemp(path);
    ::unlink(path);
    const std::string data(kMiB, 'x');
    EXPECT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    return fd;
}

TEST(VolumeStreams, DataThenAHoleToTheEnd)
{
    const int fd = sparseFile(4 * kMiB);
    const Extent first = extentAt(fd, 0, 4 * kMiB);
    EXPECT_TRUE(first.data);
    EXPECT_EQ(first.length, kMiB);
    const Extent rest = extentAt(fd, kMiB, 4 * kMiB);
    EXPECT_FALSE(rest.data) << "a hole that runs to the end of the file stays a hole";
    EXPECT_EQ(rest.length, 3 * kMiB);
    ::close(fd);
}

TEST(VolumeStreams, FileTruncatedUnderTheUploadIsAnErrorNotAHole)
{
    const int fd = sparseFile(4 * kMiB);
    ASSERT_TRUE(extentAt(fd, 0, 4 * kMiB).data);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMiB)), 0); // truncate -s 1M while it uploads
    try {
        extentAt(fd, 2 * kMiB, 4 * kMiB);
        ADD_FAILURE() << "the missing end of the file was taken for a hole";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(std::string(e.what()),
                  "the image ended after 1048576 bytes, 4194304 bytes were declared: it shrank during the import");
    }
    // Also where the shrunk file still has some of the range: only what is left up to the end is a hole.
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(3 * kMiB)), 0);
    EXPECT_EQ(testing::codeOf([&] { extentAt(fd, 2 * kMiB, 4 * kMiB); }), ErrorCode::InvalidArgument);
    ::close(fd);
}

} // namespace
} // namespace hangar::virt
