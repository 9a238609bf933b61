// The D-Bus face of one VM: org.hangar.Hangar1.VM at /org/hangar/Hangar1/vm/<uuid label>. Properties are read
// from core's Inventory on demand, methods are handed to core's VmManager and answered asynchronously. Created by
// ManagerObject when a VM appears; when it goes, ManagerObject retires the object (InterfacesRemoved at once) and
// destroys it only once every call in flight on it has been answered: sd-bus seals a reply against the method
// table of the object it was called on, so that table must outlive the reply. sdbus-c++ 1.2 frees that table when
// it takes the object off sd-bus, so a retired object stays registered until then, and GetManagedObjects still
// reads it: its properties are then the VM's last values, kept at retirement, and never an error.
#pragma once

#include "bus/BusSupport.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Stats.h"
#include "core/VmManager.h"
#include "hangar/dbus/org.hangar.Hangar1.VM.adaptor.h"

#include <optional>
#include <sdbus-c++/sdbus-c++.h>

namespace hangar::bus {

class VmObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::VM_adaptor, sdbus::ManagedObject_adaptor,
                                                       sdbus::Properties_adaptor>
{
public:
    VmObject(sdbus::IConnection& connection, VmManager& manager, ImageManager& images, Inventory& inventory,
             const StatsSampler& stats, std::string uuid);
    ~VmObject();
    VmObject(const VmObject&) = delete;
    VmObject& operator=(const VmObject&) = delete;
    VmObject(VmObject&&) = delete;
    VmObject& operator=(VmObject&&) = delete;

    void propertiesChanged(VmFields fields);
    // The VM is gone (last is what it was): announce it now; onIdle runs when no call on this object awaits its
    // reply (maybe at once).
    void retire(const Vm& last, std::function<void()> onIdle);

private:
    void Start(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Stop(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Reboot(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Pause(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Resume(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options) override;
    void Rename(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options) override;
    void OpenConsole(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options) override;
    void OpenGraphics(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options) override;
    void OpenLog(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options) override;
    bool ConsoleAttached() override;
    uint32_t GraphicsClients() override;
    void Clone(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
               std::map<std::string, sdbus::Variant> options) override;
    void CreateSnapshot(sdbus::Result<>&& result, std::string name,
                        std::map<std::string, sdbus::Variant> options) override;
    void ListSnapshots(sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, int64_t, std::string, bool>>>&&
                           result) override;
    void RevertToSnapshot(sdbus::Result<>&& result, std::string name,
                          std::map<std::string, sdbus::Variant> options) override;
    void DeleteSnapshot(sdbus::Result<>&& result, std::string name,
                        std::map<std::string, sdbus::Variant> options) override;
    void Publish(sdbus::Result<sdbus::ObjectPath>&& result, std::string imageName,
                 std::map<std::string, sdbus::Variant> options) override;

    // The guest command methods are defined in bus/VmObjectGuest.cpp.
    void Exec(sdbus::Result<sdbus::ObjectPath>&& result, std::vector<std::string> argv,
              std::map<std::string, sdbus::Variant> options) override;
    void AddUser(sdbus::Result<sdbus::ObjectPath>&& result, std::map<std::string, sdbus::Variant> user,
                 std::map<std::string, sdbus::Variant> options) override;
    void InstallPackages(sdbus::Result<sdbus::ObjectPath>&& result, std::vector<std::string> names,
                         std::map<std::string, sdbus::Variant> options) override;
    bool AgentConnected() override;
    std::vector<std::string> AddedUsers() override;
    std::vector<std::string> InstalledPackages() override;

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
    std::string GraphicsAddress() override;
    std::vector<std::string> Addresses() override;
    std::string Image() override;
    std::vector<std::string> Snapshots() override;
    bool Ephemeral() override;
    uint64_t ExpiresAt() override;
    void SetResources(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> resources) override;
    void SetExpiry(sdbus::Result<>&& result, uint64_t expiresAt,
                   std::map<std::string, sdbus::Variant> options) override;
    std::map<std::string, sdbus::Variant> GetStats() override;
    void GetProvisioning(sdbus::Result<std::map<std::string, sdbus::Variant>>&& result) override;
    std::vector<std::string> ProvisionedUsers() override;
    std::vector<std::string> ProvisionedPackages() override;

    // The VM as core has it, or as it was at retirement; NotFound only if core lost it without retiring us.
    const Vm& vm() const;
    // Reads the options every method accepts, then hands the caller and core's completion to call.
    template <typename Call> void simpleCall(sdbus::Result<>&& result, const Options& options, Call call);

    VmManager& m_manager;
    ImageManager& m_images;
    Inventory& m_inventory;
    const StatsSampler& m_stats;
    std::string m_uuid;
    InFlightCalls m_calls;
    std::optional<Vm> m_last; // set at retirement
};

} // namespace hangar::bus
