// The SeedBuilder on libisofs (libburnia): an ISO 9660 image with Joliet and Rock Ridge, written into memory. A
// seed is a few KiB, so the image is built whole and handed to Storage as bytes. libisofs writes through a thread
// of its own; builds are serialized, since its global message queue is shared.
#pragma once

#include "core/SeedBuilder.h"

#include <mutex>

namespace hangar::provision {

class IsoSeedBuilder final : public SeedBuilder
{
public:
    IsoSeedBuilder();
    std::string buildIso(std::string_view volumeLabel, const std::vector<SeedFile>& files) const override;

private:
    mutable std::mutex m_mutex;
};

} // namespace hangar::provision
