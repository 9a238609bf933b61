#include "core/ImageProbe.h"

#include "core/Error.h"
#include "core/Validation.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <limits>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar {
namespace {

// qcow2 header fields (big-endian), from QEMU's docs/interop/qcow2.txt.
constexpr std::uint32_t kQcow2Magic = 0x514649fbU; // "QFI\xfb"
constexpr std::size_t kQcow2HeaderBytes = 104;     // version 3 header length; version 2 uses the first 72
constexpr std::uint64_t kQcow2IncompatDirty = 1ULL << 0U;
constexpr std::uint64_t kQcow2IncompatCorrupt = 1ULL << 1U;
constexpr std::uint64_t kQcow2IncompatDataFile = 1ULL << 2U;
constexpr std::uint64_t kQcow2IncompatKnown = (1ULL << 5U) - 1; // dirty, corrupt, data file, compression, ext. L2

// ISO 9660: the primary volume descriptor is sector 16 (of 2048 bytes): type 1, then "CD001".
constexpr std::uint64_t kIsoDescriptorOffset = std::uint64_t{16} * 2048;
constexpr std::size_t kIsoDescriptorBytes = 2048;

Error invalid(const std::string& message)
{
    return Error(ErrorCode::InvalidArgument, message);
}

std::uint64_t be(const unsigned char* p, std::size_t bytes)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i)
        v = (v << 8U) | p[i];
    return v;
}

std::uint64_t le(const unsigned char* p, std::size_t bytes)
{
    std::uint64_t v = 0;
    for (std::size_t i = bytes; i > 0; --i)
        v = (v << 8U) | p[i - 1];
    return v;
}

// Reads up to buf.size() bytes at offset; returns how many were there.
template <std::size_t N> std::size_t readAt(int fd, std::array<unsigned char, N>& buf, std::uint64_t offset)
{
    std::size_t got = 0;
    while (got < N) {
        const ssize_t n = ::pread(fd, buf.data() + got, N - got, static_cast<off_t>(offset + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw invalid(fmt::format("the file cannot be read: {}", std::strerror(errno)));
        }
        if (n == 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

std::uint64_t sizeOf(int fd)
{
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0)
        throw invalid(fmt::format("the file descriptor cannot be inspected: {}", std::strerror(errno)));
    const int mode = ::fcntl(fd, F_GETFL);
    if (mode < 0 || (mode & O_ACCMODE) == O_WRONLY)
        throw invalid("the file descriptor is not open for reading");
    if (S_ISREG(st.st_mode))
        return static_cast<std::uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode)) {
        std::uint64_t bytes = 0;
        if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0)
            throw invalid(fmt::format("the block device's size cannot be read: {}", std::strerror(errno)));
        return bytes;
    }
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISFIFO(st.st_mode) ? "a pipe"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                                              : "not a regular file";
    throw invalid(
        fmt::format("the file descriptor is {}; pass a regular file or a block device opened for reading", kind));
}

ProbedImage probeQcow2(const std::array<unsigned char, kQcow2HeaderBytes>& h, std::size_t got, std::uint64_t fileBytes)
{
    if (got < 72)
        throw invalid("the qcow2 image is truncated: its header is incomplete");
    const auto version = be(&h[4], 4);
    if (version != 2 && version != 3)
        throw invalid(fmt::format("the qcow2 image has version {}; versions 2 and 3 are supported", version));
    if (be(&h[8], 8) != 0)
        throw invalid("the qcow2 image has a backing file, which would make the hypervisor read a file outside the "
                      "image; import a standalone image (e.g. qemu-img convert -O qcow2 SOURCE OUT)");
    const auto clusterBits = be(&h[20], 4);
    if (clusterBits < 9 || clusterBits > 21)
        throw invalid(fmt::format("the qcow2 image has an invalid cluster size (2^{})", clusterBits));
    const auto virtualBytes = be(&h[24], 8);
    if (virtualBytes == 0)
        throw invalid("the qcow2 image has a virtual size of 0");
    if (be(&h[32], 4) != 0)
        throw invalid("the qcow2 image is encrypted; import an unencrypted image");
    if (version == 3) {
        if (got < kQcow2HeaderBytes)
            throw invalid("the qcow2 image is truncated: its header is incomplete");
        const auto incompatible = be(&h[72], 8);
        if ((incompatible & kQcow2IncompatDataFile) != 0)
            throw invalid("the qcow2 image keeps its data in an external file; import a self-contained image");
        if ((incompatible & kQcow2IncompatCorrupt) != 0)
            throw invalid("the qcow2 image is marked corrupt; repair it first (qemu-img check -r all)");
        if ((incompatible & kQcow2IncompatDirty) != 0)
            throw invalid("the qcow2 image was not closed cleanly (dirty); run qemu-img check -r all on it first");
        if ((incompatible & ~kQcow2IncompatKnown) != 0)
            throw invalid("the qcow2 image uses features this host's QEMU does not know");
    }
    const std::uint64_t clusterBytes = 1ULL << clusterBits;
    const auto l1Entries = be(&h[36], 4);
    const auto l1Offset = be(&h[40], 8);
    const auto refcountOffset = be(&h[48], 8);
    const auto refcountClusters = be(&h[56], 4);
    const auto snapshots = be(&h[60], 4);
    const auto snapshotsOffset = be(&h[64], 8);
    const auto within = [fileBytes](std::uint64_t offset, std::uint64_t bytes) {
        return offset <= fileBytes && bytes <= fileBytes - offset;
    };
    if (!within(l1Offset, l1Entries * 8) || !within(refcountOffset, refcountClusters * clusterBytes) ||
        (snapshots != 0 && !within(snapshotsOffset, 1)))
        throw invalid(fmt::format("the qcow2 image is truncated: its tables reach beyond the end of the file ({} "
                                  "bytes)",
                                  fileBytes));
    return ProbedImage{ImageFormat::Qcow2, fileBytes, virtualBytes};
}

// A header may claim any size up to 2^64 - 1; a VM's disk cannot be made larger than the largest disk_gib (QEMU and
// libvirt overflow on sizes near 2^63), so neither can an image a VM is made from.
ProbedImage withinDiskLimit(const ProbedImage& image)
{
    constexpr std::uint64_t kMaxBytes = Limits::kMaxDiskGiB * kGiB;
    if (image.virtualBytes > kMaxBytes)
        throw invalid(fmt::format("the {} image has a virtual size of {} bytes; at most {} bytes ({} GiB, the largest "
                                  "disk_gib of a VM) is allowed",
                                  formatName(image.format), image.virtualBytes, kMaxBytes, Limits::kMaxDiskGiB));
    return image;
}

// What the content of a readable file of fileBytes bytes is.
ProbedImage probeContent(int fd, std::uint64_t fileBytes)
{
    std::array<unsigned char, kQcow2HeaderBytes> header{};
    const std::size_t got = readAt(fd, header, 0);
    if (got >= 4 && be(header.data(), 4) == kQcow2Magic)
        return probeQcow2(header, got, fileBytes);

    std::array<unsigned char, kIsoDescriptorBytes> pvd{};
    if (fileBytes >= kIsoDescriptorOffset + kIsoDescriptorBytes &&
        readAt(fd, pvd, kIsoDescriptorOffset) == kIsoDescriptorBytes && pvd[0] == 1 &&
        std::memcmp(&pvd[1], "CD001", 5) == 0) {
        const std::uint64_t blocks = le(&pvd[80], 4);
        const std::uint64_t blockBytes = le(&pvd[128], 2);
        if (blockBytes == 0 || blocks * blockBytes > fileBytes)
            throw invalid(fmt::format("the ISO image is truncated: its volume has {} bytes, the file {}",
                                      blocks * blockBytes, fileBytes));
        return ProbedImage{ImageFormat::Iso, fileBytes, fileBytes};
    }

    if (fileBytes % 512 != 0)
        throw invalid(fmt::format("the file is neither a qcow2 nor an ISO image, and as a raw disk image its size ({} "
                                  "bytes) must be a multiple of 512",
                                  fileBytes));
    return ProbedImage{ImageFormat::Raw, fileBytes, fileBytes};
}

} // namespace

ProbedImage probeImage(int fd, std::uint64_t maxBytes)
{
    const std::uint64_t fileBytes = sizeOf(fd);
    if (fileBytes == 0)
        throw invalid("the file is empty");
    if (fileBytes > maxBytes)
        throw invalid(fmt::format("the file has {} bytes, more than the import limit of {} GiB ([Images] "
                                  "max_import_gib in hangard.conf)",
                                  fileBytes, maxBytes / kGiB));

    return withinDiskLimit(probeContent(fd, fileBytes));
}

void requireUnchanged(int fd, const ProbedImage& before)
{
    ProbedImage now;
    try {
        now = probeImage(fd, std::numeric_limits<std::uint64_t>::max()); // a grown file is told apart below
    } catch (const Error& e) {
        throw invalid(fmt::format("the file changed during the import (it was a {} image of {} bytes): {}",
                                  formatName(before.format), before.fileBytes, e.what()));
    }
    if (now.format != before.format || now.fileBytes != before.fileBytes || now.virtualBytes != before.virtualBytes)
        throw invalid(fmt::format("the file changed during the import: it was a {} image of {} bytes ({} bytes "
                                  "virtual), it is now a {} image of {} bytes ({} bytes virtual)",
                                  formatName(before.format), before.fileBytes, before.virtualBytes,
                                  formatName(now.format), now.fileBytes, now.virtualBytes));
}

} // namespace hangar
