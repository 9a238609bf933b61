// The stream half of LibvirtStorage: filling a volume just created through a sparse upload stream, either from an
// fd (data read with pread(), holes found with lseek SEEK_DATA/SEEK_HOLE) or from a sparse download stream of
// another volume, asked for in windows so that memory stays bounded; the check that the bytes uploaded are of the
// declared format; and the progress and cancel plumbing: each piece sent counts as done, holes too, and the progress
// callback may stop the upload after each one. Internal to daemon/virt.
#pragma once

#include "core/Error.h"
#include "core/Storage.h"
#include "virt/LibvirtSupport.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace hangar::virt {

// What a progress callback's "stop" becomes.
Error cancelled();
// "<bytes> bytes", for messages.
std::string sizeText(std::uint64_t bytes);

// What libvirt cannot check before a volume exists: an fd that can be read at offsets, holding at least size bytes.
void requireReadable(int fd, std::uint64_t size);

// The extent of fd starting at offset, clipped to end (the size declared): data, or a hole (lseek SEEK_DATA and
// SEEK_HOLE). Where the file system cannot tell, all of it is data. A file that now ends before end shrank under
// the upload: Error(InvalidArgument), never a hole.
struct Extent
{
    bool data = true;
    std::uint64_t length = 0;
};
Extent extentAt(int fd, std::uint64_t offset, std::uint64_t end);

// The size of the volume's file (for qcow2 not the capacity, and more than the allocation of a sparse file).
std::uint64_t physicalSize(virStorageVolPtr vol, const std::string& name);

// One sparse upload into a volume, fed in order with data and holes up to its length. Each piece counts as done
// (holes too), and progress may cancel after each. Holes below denseBelow are sent as zeros: libvirt writes a hole
// by seeking over it, which would leave the volume's previous bytes there.
class UploadStream
{
public:
    UploadStream(virConnectPtr conn, virStorageVolPtr vol, std::string name, std::uint64_t length,
                 std::uint64_t denseBelow, const ProgressFn& progress);

    std::uint64_t offset() const { return m_offset; }

    void data(const char* bytes, std::size_t n);
    void hole(std::uint64_t n);
    void finish();

private:
    void advance(std::uint64_t n);

    StreamPtr m_stream; // aborted when it goes unfinished
    std::string m_name;
    std::uint64_t m_length;
    std::uint64_t m_denseBelow;
    const ProgressFn& m_progress;
    std::uint64_t m_offset = 0;
};

// The first size bytes of fd into out. The first bytes must be of format (InvalidArgument otherwise): a qcow2 image
// exactly when qcow2 was declared, and a qcow2 image that opens no other file.
void sendFile(int fd, std::uint64_t size, ImageFormat format, UploadStream& out);

// The bytes [0, length) of the file behind source into out.
void sendVolume(virConnectPtr conn, virStorageVolPtr source, const std::string& sourceName, std::uint64_t length,
                UploadStream& out);

// Runs fill on vol, a volume just created for it; when fill throws, the volume is deleted again (whatever stream
// fill had open is gone by then) before the exception goes on. A volume that cannot be deleted is left to core's
// recovery, which removes volumes it has no record of.
template <typename Fill> void fillOrDiscard(virStorageVolPtr vol, const std::string& name, Fill&& fill)
{
    try {
        fill();
    } catch (...) {
        if (virStorageVolDelete(vol, VIR_STORAGE_VOL_DELETE_NORMAL) < 0)
            logger()->warn("cannot delete volume {} after it failed to fill: {}", name, lastFailure().message);
        throw;
    }
}

} // namespace hangar::virt
