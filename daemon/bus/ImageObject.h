// The D-Bus face of one image: org.hangar.Hangar1.Image at /org/hangar/Hangar1/image/<id label>, and of one job:
// org.hangar.Hangar1.Job at /org/hangar/Hangar1/job/<n>. Both read core's state on demand; ManagerObject creates
// them as core announces images and jobs, and retires them like VM objects (InterfacesRemoved at once, destroyed
// once no call on them awaits its reply).
#pragma once

#include "bus/BusSupport.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "hangar/dbus/org.hangar.Hangar1.Image.adaptor.h"
#include "hangar/dbus/org.hangar.Hangar1.Job.adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

namespace hangar::bus {

class ImageObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::Image_adaptor,
                                                          sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
public:
    ImageObject(sdbus::IConnection& connection, ImageManager& images, const Inventory& inventory, std::string id);
    ~ImageObject();
    ImageObject(const ImageObject&) = delete;
    ImageObject& operator=(const ImageObject&) = delete;
    ImageObject(ImageObject&&) = delete;
    ImageObject& operator=(ImageObject&&) = delete;

    void propertiesChanged(ImageFields fields);
    void usedByChanged();
    void retire(std::function<void()> onIdle);

private:
    void Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;

    std::string Name() override { return image().record.name; }
    std::string Format() override { return std::string(formatName(image().record.format)); }
    std::string State() override { return std::string(imagePhaseName(image().record.phase)); }
    uint64_t SizeBytes() override { return image().record.sizeBytes; }
    uint64_t VirtualSizeBytes() override { return image().record.virtualSizeBytes; }
    uint32_t Owner() override { return image().record.owner; }
    uint64_t CreatedAt() override { return static_cast<uint64_t>(image().record.createdAtUsec); }
    std::string Description() override { return image().record.description; }
    std::vector<sdbus::ObjectPath> UsedBy() override;

    const Image& image() const;

    ImageManager& m_images;
    const Inventory& m_inventory;
    std::string m_id;
    InFlightCalls m_calls;
};

class JobObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::Job_adaptor, sdbus::ManagedObject_adaptor,
                                                        sdbus::Properties_adaptor>
{
public:
    JobObject(sdbus::IConnection& connection, JobManager& jobs, const Job& job);
    ~JobObject();
    JobObject(const JobObject&) = delete;
    JobObject& operator=(const JobObject&) = delete;
    JobObject(JobObject&&) = delete;
    JobObject& operator=(JobObject&&) = delete;

    void progressChanged(const Job& job);
    // Sends Completed, then announces the object's removal; onIdle as for ImageObject::retire.
    void complete(bool success, const std::string& message, std::function<void()> onIdle);

private:
    void Cancel(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;

    std::string Operation() override { return m_job.operation; }
    double Progress() override { return m_job.progress; }
    bool ProgressValid() override { return m_job.progressValid; }
    uint64_t Bytes() override { return m_job.totalBytes; }
    uint64_t Rate() override { return m_job.rate; }
    uint64_t StartTime() override { return static_cast<uint64_t>(m_job.startUsec); }
    uint64_t ExpectedEndTime() override { return static_cast<uint64_t>(m_job.expectedEndUsec); }
    uint32_t StartedByUID() override { return m_job.startedBy; }
    std::vector<sdbus::ObjectPath> Objects() override;
    bool Cancelable() override { return m_job.cancelable; }

    JobManager& m_jobs;
    // A copy, refreshed on every change: the object may outlive core's job by a reply or two.
    Job m_job;
    InFlightCalls m_calls;
};

} // namespace hangar::bus
