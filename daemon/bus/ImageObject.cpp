#include "bus/ImageObject.h"

#include "bus/ReplyBoundary.h"

namespace hangar::bus {
namespace {

constexpr const char* kInterface = org::hangar::Hangar1::Image_adaptor::INTERFACE_NAME;

} // namespace

ImageObject::ImageObject(sdbus::IConnection& connection, ImageManager& images, const Inventory& inventory,
                         std::string id)
    : AdaptorInterfaces(connection, imagePath(id)), m_images(images), m_inventory(inventory), m_id(std::move(id))
{
    registerAdaptor();
    emitInterfacesAddedSignal({kInterface});
}

ImageObject::~ImageObject()
{
    if (!m_calls.retired())
        emitInterfacesRemovedSignal({kInterface});
    unregisterAdaptor();
}

void ImageObject::retire(const Image& last, std::function<void()> onIdle)
{
    m_last = last;
    emitInterfacesRemovedSignal({kInterface});
    m_calls.retire(std::move(onIdle));
}

const ImageRecord& ImageObject::record() const
{
    if (m_last)
        return m_last->record;
    const Image* image = m_images.find(m_id);
    if (!image) // core dropped the image without telling the bus; never expected
        throw Error(ErrorCode::NotFound, "the image no longer exists");
    return image->record;
}

void ImageObject::propertiesChanged(ImageFields fields)
{
    std::vector<std::string> names;
    if ((fields & static_cast<ImageFields>(ImageField::State)) != 0)
        names.emplace_back("State");
    if ((fields & static_cast<ImageFields>(ImageField::Sizes)) != 0)
        names.insert(names.end(), {"SizeBytes", "VirtualSizeBytes"});
    if (!names.empty())
        emitPropertiesChangedSignal(kInterface, names);
}

void ImageObject::usedByChanged()
{
    emitPropertiesChangedSignal(kInterface, std::vector<std::string>{"UsedBy"});
}

std::string ImageObject::Name()
{
    return property([&] { return record().name; });
}
std::string ImageObject::Format()
{
    return property([&] { return std::string(formatName(record().format)); });
}
std::string ImageObject::State()
{
    return property([&] { return std::string(imagePhaseName(record().phase)); });
}
uint64_t ImageObject::SizeBytes()
{
    return property([&] { return record().sizeBytes; });
}
uint64_t ImageObject::VirtualSizeBytes()
{
    return property([&] { return record().virtualSizeBytes; });
}
uint32_t ImageObject::Owner()
{
    return property([&] { return record().owner; });
}
uint64_t ImageObject::CreatedAt()
{
    return property([&] { return static_cast<uint64_t>(record().createdAtUsec); });
}
std::string ImageObject::Description()
{
    return property([&] { return record().description; });
}

std::string ImageObject::OS()
{
    return property([&] { return record().os; });
}
std::string ImageObject::OSName()
{
    return property([&] { return record().osName; });
}

std::vector<sdbus::ObjectPath> ImageObject::UsedBy()
{
    return property([&] {
        std::vector<sdbus::ObjectPath> paths;
        for (const Vm* vm : m_inventory.madeFrom(m_id))
            paths.emplace_back(vmPath(vm->record.uuid));
        return paths;
    });
}

void ImageObject::Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_images.remove(caller, m_id, reply.done());
    });
}

} // namespace hangar::bus
