// ImageRemoval: Image.Delete. Needs manage-images; Busy while a VM uses the image (naming them) or while it is being
// filled; phase Deleting is recorded before the volume goes, so a crash is finished at the next start. Loop thread
// only.
#pragma once

#include "core/ImageContext.h"

#include <string>

namespace hangar {

class ImageRemoval
{
public:
    explicit ImageRemoval(ImageContext& context) : m_ctx(context) {}

    void remove(const Caller& caller, const std::string& id, const Done<>& done);

private:
    // The guard: throws Busy while the image is being filled or deleted, or while VMs are made from it.
    void requireRemovable(const Image& image) const;

    ImageContext& m_ctx;
};

} // namespace hangar
