// The D-Bus face of one image: org.hangar.Hangar1.Image at /org/hangar/Hangar1/image/<id label>. Properties are read
// from core's ImageManager on demand; ManagerObject creates the object as core announces the image and retires it
// like a VM object (InterfacesRemoved at once, destroyed once no call on it awaits its reply; meanwhile its
// properties are the image's last values, kept at retirement).
#pragma once

#include "bus/BusSupport.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "hangar/dbus/org.hangar.Hangar1.Image.adaptor.h"

#include <optional>
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
    // The image is gone (last is what it was): as VmObject::retire.
    void retire(const Image& last, std::function<void()> onIdle);

private:
    void Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;

    std::string Name() override;
    std::string Format() override;
    std::string State() override;
    uint64_t SizeBytes() override;
    uint64_t VirtualSizeBytes() override;
    uint32_t Owner() override;
    uint64_t CreatedAt() override;
    std::string Description() override;
    std::string OS() override;
    std::string OSName() override;
    std::vector<sdbus::ObjectPath> UsedBy() override;

    // The image's record as core has it, or as it was at retirement.
    const ImageRecord& record() const;

    ImageManager& m_images;
    const Inventory& m_inventory;
    std::string m_id;
    InFlightCalls m_calls;
    std::optional<Image> m_last; // set at retirement
};

} // namespace hangar::bus
