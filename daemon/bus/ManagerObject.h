// The D-Bus face of the daemon at /org/hangar/Hangar1: org.hangar.Hangar1.Manager plus the ObjectManager that
// publishes every VM object. It observes core's Inventory and AuditLog: it creates and drops VmObjects (so
// InterfacesAdded/Removed follow every create and delete, whatever caused them), forwards property changes, and
// broadcasts each audit event as the Event signal and each alert raised or cleared as the Alert signal.
#pragma once

#include "bus/ImageObject.h"
#include "bus/JobObject.h"
#include "bus/VmObject.h"
#include "core/AlertMonitor.h"
#include "core/AuditLog.h"
#include "core/Inventory.h"
#include "core/Quota.h"
#include "core/VmManager.h"
#include "hangar/dbus/org.hangar.Hangar1.Manager.adaptor.h"

#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>

namespace hangar::bus {

struct ManagerInfo
{
    std::string version;
    std::string hypervisorUri;
    // Runs a closure on a later turn of the loop (to destroy retired VM objects outside their own call chain).
    std::function<void(std::function<void()>)> defer;
};

class ManagerObject final : public sdbus::AdaptorInterfaces<org::hangar::Hangar1::Manager_adaptor,
                                                            sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor>,
                            public InventoryObserver,
                            public ImageObserver,
                            public JobObserver,
                            public EventSink,
                            public AlertSink
{
public:
    // Publishes the manager and one VmObject per VM already in the inventory.
    ManagerObject(sdbus::IConnection& connection, VmManager& manager, ImageManager& images, JobManager& jobs,
                  QuotaManager& quotas, Inventory& inventory, const StatsSampler& stats, AlertMonitor& alerts,
                  ManagerInfo info);
    ~ManagerObject() override;
    ManagerObject(const ManagerObject&) = delete;
    ManagerObject& operator=(const ManagerObject&) = delete;
    ManagerObject(ManagerObject&&) = delete;
    ManagerObject& operator=(ManagerObject&&) = delete;

    // InventoryObserver
    void vmAdded(const Vm& vm) override;
    void vmRemoved(const Vm& vm) override;
    void vmChanged(const Vm& vm, VmFields fields) override;
    void countsChanged(const InventoryCounts& counts) override;
    // ImageObserver
    void imageAdded(const Image& image) override;
    void imageRemoved(const Image& image) override;
    void imageChanged(const Image& image, ImageFields fields) override;
    // JobObserver
    void jobAdded(const Job& job) override;
    void jobChanged(const Job& job) override;
    void jobCompleted(const Job& job, bool success, const std::string& message) override;
    // EventSink
    void eventAppended(const EventRecord& event) override;
    // AlertSink
    void alertChanged(const AlertChange& change) override;

private:
    void CreateVM(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                  std::map<std::string, sdbus::Variant> spec) override;
    sdbus::ObjectPath GetVM(const std::string& name) override;
    std::vector<sdbus::Struct<std::string, std::string, std::string, uint32_t, sdbus::ObjectPath>>
    ListVMs(const std::map<std::string, sdbus::Variant>& filter) override;
    void
    GetEvents(sdbus::Result<std::vector<sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string,
                                                      std::string, std::string, std::string, std::string>>>&& result,
              std::map<std::string, sdbus::Variant> filter) override;
    void
    GetAlerts(sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, uint64_t>>>&&
                  result) override;
    void GetQuota(sdbus::Result<std::map<std::string, sdbus::Variant>>&& result, uint32_t uid,
                  std::map<std::string, sdbus::Variant> options) override;
    void SetQuota(sdbus::Result<>&& result, uint32_t uid, std::map<std::string, sdbus::Variant> limits) override;
    std::vector<sdbus::Struct<sdbus::ObjectPath, std::map<std::string, sdbus::Variant>>> GetAllStats() override;
    void ImportImage(sdbus::Result<sdbus::ObjectPath>&& result, std::string name, sdbus::UnixFd fd,
                     std::map<std::string, sdbus::Variant> options) override;
    sdbus::ObjectPath GetImage(const std::string& name) override;
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint32_t, sdbus::ObjectPath>>
    ListImages() override;
    void ListOperatingSystems(
        sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, std::string>>>&& result) override;
    // A VM made from an image came or went: the image's UsedBy changed.
    void usedByChanged(const std::string& imageId);
    // Moves the object for key from live to retired and returns it with the closure its retire() runs once no call
    // on it awaits a reply: the closure destroys it on a later loop turn. {nullptr, {}} when there is none.
    template <typename Key, typename Object>
    std::pair<Object*, std::function<void()>> retireFrom(std::map<Key, std::unique_ptr<Object>>& live,
                                                         std::map<const Object*, std::unique_ptr<Object>>& retired,
                                                         const Key& key)
    {
        auto it = live.find(key);
        if (it == live.end())
            return {nullptr, {}};
        Object* object = it->second.get();
        retired[object] = std::move(it->second);
        live.erase(it);
        return {object, [this, &retired, object] { m_info.defer([&retired, object] { retired.erase(object); }); }};
    }

    std::string Version() override;
    uint32_t VMCount() override;
    uint32_t RunningVMCount() override;
    std::string HypervisorURI() override;

    sdbus::IConnection& m_connection;
    VmManager& m_manager;
    ImageManager& m_images;
    JobManager& m_jobs;
    QuotaManager& m_quotas;
    Inventory& m_inventory;
    const StatsSampler& m_stats;
    AlertMonitor& m_alerts;
    ManagerInfo m_info;
    InFlightCalls m_calls;        // never retired: the manager lives as long as the daemon serves
    sdbus::Slot m_callersLeaving; // forgets the remembered uid of clients that left the bus (currentCaller)
    std::map<std::string, std::unique_ptr<VmObject>> m_vms; // by uuid
    // Removed VMs whose objects still owe replies; keyed by object address (a uuid may come back, e.g. adoption).
    std::map<const VmObject*, std::unique_ptr<VmObject>> m_retired;
    std::map<std::string, std::unique_ptr<ImageObject>> m_imageObjects; // by image id
    std::map<const ImageObject*, std::unique_ptr<ImageObject>> m_retiredImages;
    std::map<std::uint64_t, std::unique_ptr<JobObject>> m_jobObjects; // by job id
    std::map<const JobObject*, std::unique_ptr<JobObject>> m_retiredJobs;
};

} // namespace hangar::bus
