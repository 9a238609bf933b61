// core/ImageProbe: the format comes from the content, and what must never become an image is refused. Files are
// built byte by byte here (the real-tool cases, qemu-img and xorriso output, are in the e2e suite).
#include "core/ImageProbe.h"

#include "core/Error.h"

#include <array>
#include <cstdio>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace hangar {
namespace {

constexpr std::uint64_t kMax = 1ULL << 40U;

class TempFile
{
public:
    explicit TempFile(const std::vector<unsigned char>& bytes, std::uint64_t size = 0)
    {
        char path[] = "/tmp/hangar-probe-XXXXXX";
        m_fd = ::mkstemp(path);
        ::unlink(path);
        EXPECT_EQ(::pwrite(m_fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
        if (size > bytes.size()) {
            EXPECT_EQ(::ftruncate(m_fd, static_cast<off_t>(size)), 0);
        }
    }
    ~TempFile() { ::close(m_fd); }
    int fd() const { return m_fd; }

private:
    int m_fd = -1;
};

void putBe(std::vector<unsigned char>& b, std::size_t at, std::uint64_t v, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i)
        b[at + i] = static_cast<unsigned char>(v >> (8 * (bytes - 1 - i)));
}

// A minimal, consistent qcow2 v3 header: 64 KiB clusters, L1 table and refcount table inside the file.
std::vector<unsigned char> qcow2Header(std::uint64_t virtualSize)
{
    std::vector<unsigned char> b(104, 0);
    putBe(b, 0, 0x514649fb, 4);
    putBe(b, 4, 3, 4);            // version
    putBe(b, 20, 16, 4);          // cluster bits
    putBe(b, 24, virtualSize, 8); // size
    putBe(b, 36, 1, 4);           // l1 entries
    putBe(b, 40, 0x30000, 8);     // l1 offset
    putBe(b, 48, 0x10000, 8);     // refcount table offset
    putBe(b, 56, 1, 4);           // refcount table clusters
    putBe(b, 100, 104, 4);        // header length
    return b;
}

std::vector<unsigned char> isoBytes(std::uint32_t blocks)
{
    std::vector<unsigned char> b(16 * 2048 + 2048, 0);
    const std::size_t pvd = 16 * 2048;
    b[pvd] = 1;
    std::copy_n("CD001", 5, b.begin() + pvd + 1);
    for (int i = 0; i < 4; ++i)
        b[pvd + 80 + i] = static_cast<unsigned char>(blocks >> (8 * i));
    b[pvd + 128] = 0x00; // 2048, little-endian
    b[pvd + 129] = 0x08;
    return b;
}

ErrorCode codeOf(int fd, std::string* message = nullptr)
{
    try {
        probeImage(fd, kMax);
    } catch (const Error& e) {
        if (message)
            *message = e.what();
        return e.code();
    }
    ADD_FAILURE() << "accepted";
    return ErrorCode::BackendFailure;
}

TEST(ImageProbe, Qcow2FromItsHeaderWithTheVirtualSize)
{
    TempFile f(qcow2Header(8ULL << 30U), 0x40000);
    const auto probed = probeImage(f.fd(), kMax);
    EXPECT_EQ(probed.format, ImageFormat::Qcow2);
    EXPECT_EQ(probed.virtualBytes, 8ULL << 30U);
    EXPECT_EQ(probed.fileBytes, 0x40000U);
}

TEST(ImageProbe, Qcow2WithABackingFileIsRefused)
{
    auto h = qcow2Header(1ULL << 30U);
    putBe(h, 8, 0x200, 8); // backing file offset
    putBe(h, 16, 10, 4);
    TempFile f(h, 0x40000);
    std::string message;
    EXPECT_EQ(codeOf(f.fd(), &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("backing file"), std::string::npos) << message;
}

TEST(ImageProbe, TruncatedQcow2IsRefused)
{
    TempFile f(qcow2Header(1ULL << 30U), 0x20000); // the L1 table at 0x30000 lies beyond the end
    std::string message;
    EXPECT_EQ(codeOf(f.fd(), &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
    const auto full = qcow2Header(1ULL << 30U);
    TempFile header(std::vector<unsigned char>(full.begin(), full.begin() + 40));
    EXPECT_EQ(codeOf(header.fd()), ErrorCode::InvalidArgument);
}

TEST(ImageProbe, EncryptedDirtyExternalDataAndUnknownVersionsAreRefused)
{
    for (auto [at, value, bytes] : {std::tuple<std::size_t, std::uint64_t, std::size_t>{32, 2, 4},
                                    {72, 1, 8},
                                    {72, 2, 8},
                                    {72, 4, 8},
                                    {72, 1ULL << 40U, 8},
                                    {4, 4, 4}}) {
        auto h = qcow2Header(1ULL << 30U);
        putBe(h, at, value, bytes);
        TempFile f(h, 0x40000);
        EXPECT_EQ(codeOf(f.fd()), ErrorCode::InvalidArgument) << "field at " << at << " = " << value;
    }
}

TEST(ImageProbe, IsoFromItsVolumeDescriptor)
{
    TempFile f(isoBytes(20), 20 * 2048);
    const auto probed = probeImage(f.fd(), kMax);
    EXPECT_EQ(probed.format, ImageFormat::Iso);
    EXPECT_EQ(probed.virtualBytes, 20U * 2048);
}

TEST(ImageProbe, TruncatedIsoIsRefused)
{
    TempFile f(isoBytes(100), 20 * 2048);
    std::string message;
    EXPECT_EQ(codeOf(f.fd(), &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(ImageProbe, AnythingElseIsRawWhenSectorAligned)
{
    TempFile f(std::vector<unsigned char>(4096, 0xab));
    EXPECT_EQ(probeImage(f.fd(), kMax).format, ImageFormat::Raw);
    TempFile odd(std::vector<unsigned char>(1000, 0xab));
    EXPECT_EQ(codeOf(odd.fd()), ErrorCode::InvalidArgument);
}

TEST(ImageProbe, EmptyOversizedAndNonFilesAreRefused)
{
    TempFile empty({});
    std::string message;
    EXPECT_EQ(codeOf(empty.fd(), &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("empty"), std::string::npos);

    TempFile big(std::vector<unsigned char>(4096, 0));
    EXPECT_THROW(probeImage(big.fd(), 1024), Error);

    const int dir = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_EQ(codeOf(dir, &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("directory"), std::string::npos) << message;
    ::close(dir);

    std::array<int, 2> sv{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv.data()), 0);
    EXPECT_EQ(codeOf(sv[0], &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("socket"), std::string::npos) << message;
    ::close(sv[0]);
    ::close(sv[1]);

    std::array<int, 2> pipe{};
    ASSERT_EQ(::pipe(pipe.data()), 0);
    EXPECT_EQ(codeOf(pipe[0], &message), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("pipe"), std::string::npos) << message;
    ::close(pipe[0]);
    ::close(pipe[1]);

    const int writeOnly = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    EXPECT_EQ(codeOf(writeOnly), ErrorCode::InvalidArgument);
    ::close(writeOnly);
}

TEST(ImageProbe, VirtualSizeOverTheLargestDiskIsRefusedWithTheMaximum)
{
    // What a header can claim and libvirt then overflows on ("numerical overflow" at every CreateVM).
    for (const std::uint64_t absurd : {1ULL << 63U, ~0ULL - 511, (65536ULL << 30U) + 512}) {
        TempFile f(qcow2Header(absurd), 0x40000);
        std::string message;
        EXPECT_EQ(codeOf(f.fd(), &message), ErrorCode::InvalidArgument) << absurd;
        EXPECT_NE(message.find("at most 70368744177664 bytes (65536 GiB"), std::string::npos) << message;
    }
    TempFile largest(qcow2Header(65536ULL << 30U), 0x40000);
    EXPECT_EQ(probeImage(largest.fd(), kMax).virtualBytes, 65536ULL << 30U) << "the largest disk_gib itself is fine";
}

TEST(ImageProbe, RequireUnchanged_AcceptsTheSameFile)
{
    TempFile f(qcow2Header(8ULL << 30U), 0x40000);
    const auto before = probeImage(f.fd(), kMax);
    EXPECT_NO_THROW(requireUnchanged(f.fd(), before));
}

TEST(ImageProbe, RequireUnchanged_RefusesATruncatedOrGrownFile)
{
    std::vector<unsigned char> raw(4096, 0x5a);
    TempFile f(raw, 1 << 20);
    const auto before = probeImage(f.fd(), kMax);
    ASSERT_EQ(::ftruncate(f.fd(), 4096), 0);
    try {
        requireUnchanged(f.fd(), before);
        ADD_FAILURE() << "a truncated file was taken for the same";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("changed during the import"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("4096 bytes"), std::string::npos) << e.what();
    }
    ASSERT_EQ(::ftruncate(f.fd(), 2 << 20), 0);
    EXPECT_THROW(requireUnchanged(f.fd(), before), Error);
}

TEST(ImageProbe, RequireUnchanged_RefusesAQcow2WhoseHeaderChanged)
{
    TempFile f(qcow2Header(8ULL << 30U), 0x40000);
    const auto before = probeImage(f.fd(), kMax);
    const auto bigger = qcow2Header(16ULL << 30U);
    ASSERT_EQ(::pwrite(f.fd(), bigger.data(), bigger.size(), 0), static_cast<ssize_t>(bigger.size()));
    EXPECT_THROW(requireUnchanged(f.fd(), before), Error);
    auto backed = qcow2Header(8ULL << 30U);
    putBe(backed, 8, 0x200, 8); // now names a backing file
    putBe(backed, 16, 10, 4);
    ASSERT_EQ(::pwrite(f.fd(), backed.data(), backed.size(), 0), static_cast<ssize_t>(backed.size()));
    try {
        requireUnchanged(f.fd(), before);
        ADD_FAILURE() << "a qcow2 that now names a backing file was taken for the same";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("backing file"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace hangar
