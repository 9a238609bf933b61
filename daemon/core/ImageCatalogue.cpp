#include "core/ImageCatalogue.h"

#include "core/Error.h"
#include "core/LoopThread.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {

std::string imageVolumeName(const std::string& id, ImageFormat format)
{
    return fmt::format("img-{}.{}", id, formatName(format));
}

Image& ImageCatalogue::add(ImageRecord record)
{
    LoopThread::assertOnLoop("ImageCatalogue::add");
    const std::string id = record.id;
    m_byName[record.name] = id;
    auto& slot = m_byId[id];
    slot = std::make_unique<Image>(Image{std::move(record), std::nullopt});
    if (m_observer)
        m_observer->imageAdded(*slot);
    return *slot;
}

void ImageCatalogue::drop(const std::string& id)
{
    LoopThread::assertOnLoop("ImageCatalogue::drop");
    auto it = m_byId.find(id);
    if (it == m_byId.end())
        return;
    if (m_observer)
        m_observer->imageRemoved(*it->second);
    m_byName.erase(it->second->record.name);
    m_byId.erase(it);
}

void ImageCatalogue::update(Image& image, ImageRecord record, ImageFields fields)
{
    LoopThread::assertOnLoop("ImageCatalogue::update");
    image.record = std::move(record);
    changed(image, fields);
}

void ImageCatalogue::changed(const Image& image, ImageFields fields)
{
    if (m_observer && fields != 0)
        m_observer->imageChanged(image, fields);
}

void ImageCatalogue::setJob(Image& image, std::optional<std::uint64_t> job)
{
    LoopThread::assertOnLoop("ImageCatalogue::setJob");
    image.job = job; // the Job object announces itself; the image has no property for it
}

Image* ImageCatalogue::find(const std::string& id)
{
    auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : it->second.get();
}

const Image* ImageCatalogue::find(const std::string& id) const
{
    auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : it->second.get();
}

const Image* ImageCatalogue::findByName(const std::string& name) const
{
    auto it = m_byName.find(name);
    return it == m_byName.end() ? nullptr : find(it->second);
}

const Image& ImageCatalogue::getByName(const std::string& name) const
{
    validateName(name);
    const Image* image = findByName(name);
    if (!image)
        throw Error(ErrorCode::NotFound, fmt::format("no image named '{}'", name));
    return *image;
}

std::vector<const Image*> ImageCatalogue::all() const
{
    std::vector<const Image*> out;
    out.reserve(m_byName.size());
    for (const auto& [name, id] : m_byName)
        out.push_back(find(id));
    return out;
}

std::uint64_t ImageCatalogue::diskGiBOwnedBy(std::uint32_t uid) const
{
    std::uint64_t gib = 0;
    for (const auto& [id, image] : m_byId)
        if (image->record.owner == uid)
            gib += gibRoundedUp(image->record.sizeBytes);
    return gib;
}

void ImageCatalogue::requireFreeName(const std::string& name) const
{
    if (m_byName.count(name) != 0)
        throw Error(ErrorCode::AlreadyExists, fmt::format("an image named '{}' already exists", name));
}

} // namespace hangar
