// Builds the ISO 9660 image of a cloud-init seed from its files. core renders the files (core/CloudInit.h) and
// stores the image as a volume (core/Storage.h); making the ISO itself is a library's job, behind this interface:
// daemon/provision/IsoSeedBuilder on libisofs. Thread-safe; called on worker threads (it may take a moment).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hangar {

struct SeedFile
{
    std::string name; // a plain file name in the image's root directory
    std::string content;
};

class SeedBuilder
{
public:
    virtual ~SeedBuilder() = default;
    // The whole image, labelled volumeLabel, with Joliet and Rock Ridge so the names read back exactly.
    // Error(BackendFailure) when the library fails.
    virtual std::string buildIso(std::string_view volumeLabel, const std::vector<SeedFile>& files) const = 0;
};

} // namespace hangar
