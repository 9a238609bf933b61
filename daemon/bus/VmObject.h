// The D-Bus face of one VM: org.hangar.Hangar1.VM at /org/hangar/Hangar1/vm/<uuid label>. Properties are read
// from core's Inventory on demand, methods are handed to core's VmManager and answered asynchronously. Created and
// destroyed by ManagerObject as VMs come and go, which emits InterfacesAdded / InterfacesRemoved.
#pragma once

#include "core/Inventory.h"
#include "core/VmManager.h"
#include "hangar/dbus/org.hangar.Hangar1.VM.adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

namespace hangar::bus {

class VmObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::VM_adaptor, sdbus::ManagedObject_adaptor,
                                                       sdbus::Properties_adaptor>
{
public:
    VmObject(sdbus::IConnection& connection, VmManager& manager, Inventory& inventory, std::string uuid);
    ~VmObject();
    VmObject(const VmObject&) = delete;
    VmObject& operator=(const VmObject&) = delete;
    VmObject(VmObject&&) = delete;
    VmObject& operator=(VmObject&&) = delete;

    void propertiesChanged(VmFields fields);

private:
    void Start(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Stop(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Reboot(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Pause(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Resume(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Rename(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options) override;

    std::string Name() override;
    std::string UUID() override;
    uint32_t Owner() override;
    std::string State() override;
    uint32_t VCPUs() override;
    uint64_t MemoryMiB() override;
    uint64_t DiskGiB() override;
    std::string Description() override;
    uint64_t CreatedAt() override;
    std::string Host() override;

    const Vm& vm() const;
    // Reads the options every method accepts, then runs call(caller) and replies from its completion.
    template <typename Call>
    void simpleCall(sdbus::Result<>&& result, const std::map<std::string, sdbus::Variant>& options, Call call);

    VmManager& m_manager;
    Inventory& m_inventory;
    std::string m_uuid;
};

} // namespace hangar::bus
