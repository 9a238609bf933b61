#include "virt/VolumeStreams.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace hangar::virt {
namespace {

// The most one message of libvirt's RPC carries: each read and send of this size is one message.
constexpr std::size_t kChunkBytes = std::size_t{256} * 1024;
// A download is asked for in windows of this size. libvirt's client queues whatever the daemon streams to it,
// without limit, also while this thread is busy sending the upload (virnetclientstream.c says so): a window bounds
// what can pile up.
constexpr std::uint64_t kDownloadWindowBytes = 64ULL * 1024 * 1024;

// qcow2 header fields (big-endian), from QEMU's docs/interop/qcow2.txt.
constexpr std::uint64_t kQcow2Magic = 0x514649fbU; // "QFI\xfb"
constexpr std::size_t kQcow2HeaderBytes = 80;      // up to and including incompatible_features
constexpr std::uint64_t kQcow2ExternalDataFile = 1ULL << 2U;

// ---- content checks ----------------------------------------------------------------------------------------------

std::uint64_t bigEndian(const std::array<unsigned char, kQcow2HeaderBytes>& h, std::size_t at, std::size_t bytes)
{
    std::uint64_t v = 0;
    for (std::size_t i = at; i < at + bytes; ++i)
        v = (v << 8U) | h[i];
    return v;
}

// The bytes sent must be what was declared: a qcow2 image exactly when qcow2 was declared (libvirt probes what a
// dir pool's files hold, and would take a "raw" image starting like a qcow2 for one), and a qcow2 image must not
// make QEMU open another file. Core probed the file, but the file may have changed since. Bytes missing from a
// short header count as zeros, as for libvirt.
void checkHeader(ImageFormat format, std::string_view first)
{
    std::array<unsigned char, kQcow2HeaderBytes> h{};
    std::memcpy(h.data(), first.data(), std::min(first.size(), h.size()));
    const bool qcow2 = bigEndian(h, 0, 4) == kQcow2Magic;
    if (format != ImageFormat::Qcow2) {
        if (qcow2)
            throw Error(ErrorCode::InvalidArgument,
                        "the image was declared " + std::string(formatName(format)) + " but is a qcow2 image");
        return;
    }
    if (!qcow2)
        throw Error(ErrorCode::InvalidArgument, "the image was declared qcow2 but does not start with a qcow2 header");
    if (bigEndian(h, 8, 8) != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the qcow2 image names a backing file; only standalone images can be uploaded");
    if (bigEndian(h, 4, 4) >= 3 && (bigEndian(h, 72, 8) & kQcow2ExternalDataFile) != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the qcow2 image keeps its data in an external file; only self-contained images can be uploaded");
}

// ---- reading the fd ----------------------------------------------------------------------------------------------

// lseek's ENXIO says there is no data from offset to the end of the file: a hole that runs to the end, or an offset
// past the end. The second is a file that shrank under the upload (a regular file's size was checked against end
// before it began): it must fail the import, not go on as zeros.
void requireNotShrunk(int fd, std::uint64_t offset, std::uint64_t end)
{
    struct stat st
    {
    };
    if (fstat(fd, &st) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("cannot read the image: ") + std::strerror(errno));
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) >= end)
        return;
    const std::uint64_t now = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : offset;
    throw Error(ErrorCode::InvalidArgument, "the image ended after " + sizeText(now) + ", " + sizeText(end) +
                                                " were declared: it shrank during the import");
}

} // namespace

Extent extentAt(int fd, std::uint64_t offset, std::uint64_t end)
{
    const auto at = static_cast<off_t>(offset);
    const off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0) {
        if (errno != ENXIO)
            return {true, end - offset}; // the file system cannot tell
        requireNotShrunk(fd, offset, end);
        return {false, end - offset};
    }
    if (data > at)
        return {false, std::min<std::uint64_t>(data, end) - offset};
    const off_t hole = lseek(fd, at, SEEK_HOLE);
    if (hole < 0 && errno == ENXIO) // the file shrank below offset between the two calls
        requireNotShrunk(fd, offset, end);
    if (hole <= at)
        return {true, end - offset};
    return {true, std::min<std::uint64_t>(hole, end) - offset};
}

namespace {

void readAt(int fd, char* buffer, std::size_t n, std::uint64_t offset, std::uint64_t declared)
{
    for (std::size_t done = 0; done < n;) {
        const ssize_t got = pread(fd, buffer + done, n - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw Error(ErrorCode::InvalidArgument,
                        "cannot read the image at byte " + std::to_string(offset + done) + ": " + std::strerror(errno));
        if (got == 0)
            throw Error(ErrorCode::InvalidArgument, "the image ended after " + sizeText(offset + done) + ", " +
                                                        sizeText(declared) + " were declared");
        done += static_cast<std::size_t>(got);
    }
}

} // namespace

Error cancelled()
{
    return Error(ErrorCode::Cancelled, "cancelled");
}

std::string sizeText(std::uint64_t bytes)
{
    return std::to_string(bytes) + " bytes";
}

void requireReadable(int fd, std::uint64_t size)
{
    constexpr auto kMaxSize = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
    if (size == 0 || size > kMaxSize)
        throw Error(ErrorCode::InvalidArgument,
                    "an image must have 1.." + std::to_string(kMaxSize) + " bytes, got " + std::to_string(size));
    struct stat st
    {
    };
    if (fstat(fd, &st) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("cannot read the image: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        throw Error(ErrorCode::InvalidArgument, "the image must be a regular file or a block device");
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) < size)
        throw Error(ErrorCode::InvalidArgument, "the image file holds " + sizeText(st.st_size) + ", fewer than the " +
                                                    sizeText(size) + " declared");
}

std::uint64_t physicalSize(virStorageVolPtr vol, const std::string& name)
{
    virStorageVolInfo info{};
    if (virStorageVolGetInfoFlags(vol, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
        throw storageError("read the size of volume " + name);
    return info.allocation; // with GET_PHYSICAL, allocation holds the physical size
}

// ---- the upload stream -------------------------------------------------------------------------------------------

UploadStream::UploadStream(virConnectPtr conn, virStorageVolPtr vol, std::string name, std::uint64_t length,
                           std::uint64_t denseBelow, const ProgressFn& progress)
    : m_stream(virStreamNew(conn, 0)), m_name(std::move(name)), m_length(length), m_denseBelow(denseBelow),
      m_progress(progress)
{
    if (!m_stream)
        throw storageError("open a stream to volume " + m_name);
    if (virStorageVolUpload(vol, m_stream.get(), 0, m_length, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0)
        throw storageError("upload to volume " + m_name);
}

void UploadStream::data(const char* bytes, std::size_t n)
{
    for (std::size_t sent = 0; sent < n;) {
        const int r = virStreamSend(m_stream.get(), bytes + sent, n - sent);
        if (r < 0)
            throw storageError("upload to volume " + m_name);
        sent += static_cast<std::size_t>(r);
    }
    advance(n);
}

void UploadStream::hole(std::uint64_t n)
{
    static const std::array<char, kChunkBytes> kZeros{};
    while (n > 0 && m_offset < m_denseBelow) {
        const auto zeros = std::min<std::uint64_t>({n, m_denseBelow - m_offset, kZeros.size()});
        data(kZeros.data(), static_cast<std::size_t>(zeros));
        n -= zeros;
    }
    if (n == 0)
        return;
    if (virStreamSendHole(m_stream.get(), static_cast<long long>(n), 0) < 0)
        throw storageError("upload to volume " + m_name);
    advance(n);
}

void UploadStream::finish()
{
    if (m_offset != m_length)
        throw Error(ErrorCode::BackendFailure, "the upload to volume " + m_name + " stopped after " +
                                                   sizeText(m_offset) + " of " + sizeText(m_length));
    if (virStreamFinish(m_stream.get()) < 0)
        throw storageError("complete the upload to volume " + m_name);
}

void UploadStream::advance(std::uint64_t n)
{
    m_offset += n;
    if (m_progress && !m_progress(m_offset))
        throw cancelled();
}

// ---- what feeds it -----------------------------------------------------------------------------------------------

void sendFile(int fd, std::uint64_t size, ImageFormat format, UploadStream& out)
{
    std::vector<char> buffer(kChunkBytes);
    while (out.offset() < size) {
        const std::uint64_t start = out.offset();
        const Extent extent = extentAt(fd, start, size);
        if (!extent.data) {
            if (start == 0)
                checkHeader(format, {});
            out.hole(extent.length);
            continue;
        }
        for (std::uint64_t offset = start; offset < start + extent.length; offset = out.offset()) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(start + extent.length - offset, kChunkBytes));
            readAt(fd, buffer.data(), n, offset, size);
            if (offset == 0)
                checkHeader(format, {buffer.data(), n});
            out.data(buffer.data(), n);
        }
    }
}

void sendVolume(virConnectPtr conn, virStorageVolPtr source, const std::string& sourceName, std::uint64_t length,
                UploadStream& out)
{
    std::vector<char> buffer(kChunkBytes);
    while (out.offset() < length) {
        const std::uint64_t end = std::min(length, out.offset() + kDownloadWindowBytes);
        const StreamPtr in(virStreamNew(conn, 0));
        if (!in)
            throw storageError("open a stream from volume " + sourceName);
        if (virStorageVolDownload(source, in.get(), out.offset(), end - out.offset(),
                                  VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0)
            throw storageError("download volume " + sourceName);
        for (;;) {
            const int got = virStreamRecvFlags(in.get(), buffer.data(), buffer.size(), VIR_STREAM_RECV_STOP_AT_HOLE);
            if (got == 0)
                break;
            if (got > 0) {
                out.data(buffer.data(), static_cast<std::size_t>(got));
                continue;
            }
            long long hole = 0;
            if (got != -3 || virStreamRecvHole(in.get(), &hole, 0) < 0)
                throw storageError("download volume " + sourceName);
            if (hole > 0)
                out.hole(static_cast<std::uint64_t>(hole));
        }
        if (virStreamFinish(in.get()) < 0)
            throw storageError("complete the download of volume " + sourceName);
        if (out.offset() != end)
            throw Error(ErrorCode::BackendFailure, "volume " + sourceName + " ended after " + sizeText(out.offset()) +
                                                       ", " + sizeText(length) +
                                                       " were expected: did it change during the copy?");
    }
}

} // namespace hangar::virt
