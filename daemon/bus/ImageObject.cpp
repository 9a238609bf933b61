#include "bus/ImageObject.h"

namespace hangar::bus {
namespace {

constexpr const char* kImageInterface = org::hangar::Hangar1::Image_adaptor::INTERFACE_NAME;
constexpr const char* kJobInterface = org::hangar::Hangar1::Job_adaptor::INTERFACE_NAME;

} // namespace

// --- ImageObject ------------------------------------------------------------------------------------------------

ImageObject::ImageObject(sdbus::IConnection& connection, ImageManager& images, const Inventory& inventory,
                         std::string id)
    : AdaptorInterfaces(connection, imagePath(id)), m_images(images), m_inventory(inventory), m_id(std::move(id))
{
    registerAdaptor();
    emitInterfacesAddedSignal({kImageInterface});
}

ImageObject::~ImageObject()
{
    if (!m_calls.retired())
        emitInterfacesRemovedSignal({kImageInterface});
    unregisterAdaptor();
}

void ImageObject::retire(std::function<void()> onIdle)
{
    emitInterfacesRemovedSignal({kImageInterface});
    m_calls.retire(std::move(onIdle));
}

const Image& ImageObject::image() const
{
    const Image* image = m_images.find(m_id);
    if (!image) // the object outlived its image for the length of one call
        throw toBusError(Error(ErrorCode::NotFound, "the image no longer exists"));
    return *image;
}

void ImageObject::propertiesChanged(ImageFields fields)
{
    std::vector<std::string> names;
    if ((fields & static_cast<ImageFields>(ImageField::State)) != 0)
        names.emplace_back("State");
    if ((fields & static_cast<ImageFields>(ImageField::Sizes)) != 0)
        names.insert(names.end(), {"SizeBytes", "VirtualSizeBytes"});
    if (!names.empty())
        emitPropertiesChangedSignal(kImageInterface, names);
}

void ImageObject::usedByChanged()
{
    emitPropertiesChangedSignal(kImageInterface, std::vector<std::string>{"UsedBy"});
}

std::vector<sdbus::ObjectPath> ImageObject::UsedBy()
{
    std::vector<sdbus::ObjectPath> paths;
    for (const Vm* vm : m_inventory.madeFrom(m_id))
        paths.emplace_back(vmPath(vm->record.uuid));
    return paths;
}

void ImageObject::Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    if (!readOptions(result, options, caller))
        return;
    m_calls.begin();
    m_images.remove(caller, m_id, [this, reply = replier(std::move(result))](Outcome<> outcome) {
        reply(std::move(outcome));
        m_calls.end();
    });
}

// --- JobObject --------------------------------------------------------------------------------------------------

JobObject::JobObject(sdbus::IConnection& connection, JobManager& jobs, const Job& job)
    : AdaptorInterfaces(connection, jobPath(job.id)), m_jobs(jobs), m_job(job)
{
    registerAdaptor();
    emitInterfacesAddedSignal({kJobInterface});
}

JobObject::~JobObject()
{
    if (!m_calls.retired())
        emitInterfacesRemovedSignal({kJobInterface});
    unregisterAdaptor();
}

void JobObject::progressChanged(const Job& job)
{
    m_job = job;
    emitPropertiesChangedSignal(kJobInterface, std::vector<std::string>{"Progress", "Rate", "ExpectedEndTime"});
}

void JobObject::complete(bool success, const std::string& message, std::function<void()> onIdle)
{
    emitCompleted(success, message);
    emitInterfacesRemovedSignal({kJobInterface});
    m_calls.retire(std::move(onIdle));
}

std::vector<sdbus::ObjectPath> JobObject::Objects()
{
    std::vector<sdbus::ObjectPath> paths;
    for (const auto& object : m_job.objects)
        paths.emplace_back(object.kind == hangar::JobTarget::Kind::Image ? imagePath(object.id) : vmPath(object.id));
    return paths;
}

void JobObject::Cancel(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    if (!readOptions(result, options, caller))
        return;
    m_calls.begin();
    m_jobs.cancel(caller, m_job.id, [this, reply = replier(std::move(result))](Outcome<> outcome) {
        reply(std::move(outcome));
        m_calls.end();
    });
}

} // namespace hangar::bus
