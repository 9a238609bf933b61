// ImageCatalogue is core's in-memory view of the images VMs are made from (loaded from the store at start-up): the
// name index, and the ImageObserver (the bus) told of every change, so an image is changed only through the methods
// below. Loop thread only (checked: core/LoopThread.h).
#pragma once

#include "core/Types.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

struct Image
{
    ImageRecord record;
    std::optional<std::uint64_t> job; // the import or publish filling it
};

enum class ImageField : std::uint32_t
{
    State = 1U << 0U,
    Sizes = 1U << 1U,
};
using ImageFields = std::uint32_t;

class ImageObserver
{
public:
    virtual ~ImageObserver() = default;
    virtual void imageAdded(const Image& image) = 0;
    // Called just before the image is dropped.
    virtual void imageRemoved(const Image& image) = 0;
    virtual void imageChanged(const Image& image, ImageFields fields) = 0;
};

class ImageCatalogue
{
public:
    void setObserver(ImageObserver* observer) { m_observer = observer; }

    Image& add(ImageRecord record);
    void drop(const std::string& id);
    // Replaces the image's record and announces fields as changed.
    void update(Image& image, ImageRecord record, ImageFields fields);
    // Announces fields as changed (when a change could not be made, the frontends read the value again).
    void changed(const Image& image, ImageFields fields);
    void setJob(Image& image, std::optional<std::uint64_t> job);

    Image* find(const std::string& id);
    const Image* find(const std::string& id) const;
    const Image* findByName(const std::string& name) const;
    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Image& getByName(const std::string& name) const;
    // Every image, ordered by name.
    std::vector<const Image*> all() const;
    // GiB (rounded up, per image) the images owned by uid take on the host, for the disk quota.
    std::uint64_t diskGiBOwnedBy(std::uint32_t uid) const;
    // Checks a new image's name is free (also among images being filled).
    void requireFreeName(const std::string& name) const;

private:
    ImageObserver* m_observer = nullptr;
    std::map<std::string, std::unique_ptr<Image>> m_byId;
    std::map<std::string, std::string> m_byName; // name -> id
};

// "img-<id>.<format>"
std::string imageVolumeName(const std::string& id, ImageFormat format);

} // namespace hangar
