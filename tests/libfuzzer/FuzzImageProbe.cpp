// libFuzzer target: the probe of an image file (core/ImageProbe.h), the first thing ImportImage does with the
// caller's file: a qcow2 header, an ISO 9660 volume descriptor, or raw. Findings: a crash, a sanitizer report or a
// refusal other than InvalidArgument; for a file it accepts, sizes that contradict the file (fileBytes other than
// the file's size, a qcow2 virtual size past the largest disk) or a second probe of the same unchanged file that
// disagrees (requireUnchanged, run after every copy).
// Input: the file's bytes (in a memfd, as an fd passed over the bus would be).
#include "FuzzSupport.h"
#include "core/ImageProbe.h"
#include "core/Validation.h"

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace hangar;
    const int fd = memfd_create("hangar-fuzz-image", MFD_CLOEXEC);
    if (fd < 0)
        fuzz::finding("memfd_create failed");
    std::size_t written = 0;
    while (written < size) {
        const ssize_t n = write(fd, data + written, size - written);
        if (n <= 0)
            fuzz::finding("write to the memfd failed");
        written += static_cast<std::size_t>(n);
    }
    constexpr std::uint64_t kMaxBytes = 256ULL << 30; // [Images] max_import_gib's default
    ProbedImage probed;
    const bool accepted = fuzz::refusesOnlyWithInvalidArgument([&] { probed = probeImage(fd, kMaxBytes); });
    if (accepted) {
        if (probed.fileBytes != size)
            fuzz::finding("fileBytes " + std::to_string(probed.fileBytes) + " for a file of " + std::to_string(size));
        if (probed.format == ImageFormat::Qcow2 && probed.virtualBytes > Limits::kMaxDiskGiB * kGiB)
            fuzz::finding("a qcow2 accepted with a virtual size past the largest disk: " +
                          std::to_string(probed.virtualBytes));
        if (probed.format != ImageFormat::Qcow2 && probed.virtualBytes != probed.fileBytes)
            fuzz::finding("a raw or ISO image whose virtual size is not its size");
        try {
            requireUnchanged(fd, probed);
        } catch (const std::exception& e) {
            fuzz::finding(std::string("the unchanged file probes differently the second time: ") + e.what());
        }
    }
    close(fd);
    return 0;
}
