// Decides what an image file is from its content, never from a name: a qcow2 header, an ISO 9660 volume
// descriptor, or else raw data. It also refuses what must never become an image: a file descriptor that is not a
// regular file or block device, an empty or truncated file, a qcow2 that would make QEMU read another file
// (backing file, external data file) or that QEMU could not open (unknown version, encryption, marked corrupt).
// Reads only the headers (a few KiB) with pread, so the caller's file offset is untouched. The file may change
// while it is imported; requireUnchanged, after the copy, tells whether it did.
#pragma once

#include "core/Types.h"

#include <cstdint>

namespace hangar {

struct ProbedImage
{
    ImageFormat format = ImageFormat::Raw;
    std::uint64_t fileBytes = 0;    // how many bytes the import reads
    std::uint64_t virtualBytes = 0; // the disk size a guest sees
};

// Throws Error(InvalidArgument) with a message saying what is wrong and what is accepted. maxBytes is the
// configured import limit. A virtual size over the largest disk_gib (Limits::kMaxDiskGiB) is refused too: no VM
// could be made from the image.
ProbedImage probeImage(int fd, std::uint64_t maxBytes);

// Throws Error(InvalidArgument) when fd no longer probes as `before` did: another size (truncated or grown), another
// format or, for a qcow2, a header that now says another virtual size or is no longer acceptable.
void requireUnchanged(int fd, const ProbedImage& before);

} // namespace hangar
