#include "bus/ManagerObject.h"

#include "bus/BusSupport.h"
#include "bus/ReplyBoundary.h"
#include "bus/SpecDict.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar::bus {

ManagerObject::ManagerObject(sdbus::IConnection& connection, VmManager& manager, ImageManager& images, JobManager& jobs,
                             QuotaManager& quotas, Inventory& inventory, const StatsSampler& stats,
                             AlertMonitor& alerts, ManagerInfo info)
    : AdaptorInterfaces(connection, kManagerPath), m_connection(connection), m_manager(manager), m_images(images),
      m_jobs(jobs), m_quotas(quotas), m_inventory(inventory), m_stats(stats), m_alerts(alerts), m_info(std::move(info))
{
    registerAdaptor();
    m_callersLeaving = forgetCallersAsTheyLeave(connection);
    for (const Image* image : m_images.all())
        imageAdded(*image);
    for (const Vm* vm : m_inventory.all())
        vmAdded(*vm);
    for (const Job* job : m_jobs.all())
        jobAdded(*job);
}

ManagerObject::~ManagerObject()
{
    m_jobObjects.clear();
    m_retiredJobs.clear();
    m_vms.clear();
    m_retired.clear();
    m_imageObjects.clear();
    m_retiredImages.clear();
    unregisterAdaptor();
}

void ManagerObject::vmAdded(const Vm& vm)
{
    m_vms[vm.record.uuid] =
        std::make_unique<VmObject>(m_connection, m_manager, m_images, m_inventory, m_stats, vm.record.uuid);
    if (!vm.record.image.empty())
        usedByChanged(vm.record.image);
}

void ManagerObject::usedByChanged(const std::string& imageId)
{
    if (auto it = m_imageObjects.find(imageId); it != m_imageObjects.end())
        it->second->usedByChanged();
}

void ManagerObject::imageAdded(const Image& image)
{
    m_imageObjects[image.record.id] =
        std::make_unique<ImageObject>(m_connection, m_images, m_inventory, image.record.id);
}

void ManagerObject::imageRemoved(const Image& image)
{
    if (auto [object, destroy] = retireFrom(m_imageObjects, m_retiredImages, image.record.id); object)
        object->retire(image, std::move(destroy));
}

void ManagerObject::imageChanged(const Image& image, ImageFields fields)
{
    if (auto it = m_imageObjects.find(image.record.id); it != m_imageObjects.end())
        it->second->propertiesChanged(fields);
}

void ManagerObject::jobAdded(const Job& job)
{
    m_jobObjects[job.id] = std::make_unique<JobObject>(m_connection, m_jobs, job);
}

void ManagerObject::jobChanged(const Job& job)
{
    if (auto it = m_jobObjects.find(job.id); it != m_jobObjects.end())
        it->second->progressChanged(job);
}

void ManagerObject::jobCompleted(const Job& job, bool success, const std::string& message)
{
    if (auto [object, destroy] = retireFrom(m_jobObjects, m_retiredJobs, job.id); object)
        object->complete(job, success, message, std::move(destroy));
}

void ManagerObject::vmRemoved(const Vm& vm)
{
    if (!vm.record.image.empty())
        m_info.defer([this, image = vm.record.image] { usedByChanged(image); }); // once it is out of the index
    // Not destroyed here: this is often the very Delete call being settled, whose reply (and the in-flight count
    // after it) still needs the object. It goes from the bus now and is destroyed on a later loop turn, once no call
    // on it awaits a reply (see InFlightCalls).
    if (auto [object, destroy] = retireFrom(m_vms, m_retired, vm.record.uuid); object)
        object->retire(vm, std::move(destroy));
}

void ManagerObject::vmChanged(const Vm& vm, VmFields fields)
{
    if (auto it = m_vms.find(vm.record.uuid); it != m_vms.end())
        it->second->propertiesChanged(fields);
}

void ManagerObject::countsChanged(const InventoryCounts&)
{
    emitPropertiesChangedSignal(org::hangar::Hangar1::Manager_adaptor::INTERFACE_NAME,
                                std::vector<std::string>{"VMCount", "RunningVMCount"});
}

void ManagerObject::eventAppended(const EventRecord& e)
{
    emitEvent(static_cast<uint64_t>(e.id), static_cast<uint64_t>(e.timeUsec), e.uid, e.vmUuid, e.vmName, e.action,
              e.outcome, e.message, std::string(severityName(e.severity)));
}

std::string ManagerObject::Version()
{
    return property([&] { return m_info.version; });
}
uint32_t ManagerObject::VMCount()
{
    return property([&] { return m_inventory.counts().vms; });
}
uint32_t ManagerObject::RunningVMCount()
{
    return property([&] { return m_inventory.counts().running; });
}
std::string ManagerObject::HypervisorURI()
{
    return property([&] { return m_info.hypervisorUri; });
}

void ManagerObject::CreateVM(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                             std::map<std::string, sdbus::Variant> spec)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        const VmSpecRequest request = readVmSpec(spec, caller);
        m_manager.create(caller, name, request, reply.done<std::string>([](const std::string& uuid) {
            return sdbus::ObjectPath(vmPath(uuid));
        }));
    });
}

sdbus::ObjectPath ManagerObject::GetVM(const std::string& name)
{
    return syncMethod([&] { return sdbus::ObjectPath(vmPath(m_manager.getByName(name).record.uuid)); });
}

std::vector<sdbus::Struct<std::string, std::string, std::string, uint32_t, sdbus::ObjectPath>>
ManagerObject::ListVMs(const std::map<std::string, sdbus::Variant>& filter)
{
    return syncMethod([&] {
        const Caller caller = currentCaller(getObject());
        ListFilter f;
        OptionReader reader(filter, "filter");
        f.all = reader.take<bool>("all").value_or(false);
        f.owner = reader.take<std::uint32_t>("owner");
        if (auto state = reader.take<std::string>("state")) {
            f.state = stateFromName(*state);
            if (!f.state)
                throw Error(ErrorCode::InvalidArgument,
                            fmt::format("filter key 'state' must be one of creating, stopped, running, paused, "
                                        "shutting-down, crashed, suspended, deleting, unavailable; got {}",
                                        quoteForMessage(*state)));
        }
        reader.finish();
        std::vector<sdbus::Struct<std::string, std::string, std::string, uint32_t, sdbus::ObjectPath>> rows;
        for (const Vm* vm : m_manager.list(caller, f))
            rows.emplace_back(vm->record.name, vm->record.uuid, std::string(stateName(vm->state)), vm->record.owner,
                              sdbus::ObjectPath(vmPath(vm->record.uuid)));
        return rows;
    });
}

void ManagerObject::GetEvents(
    sdbus::Result<std::vector<sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string, std::string,
                                            std::string, std::string, std::string>>>&& result,
    std::map<std::string, sdbus::Variant> filter)
{
    using Row = sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string, std::string, std::string,
                              std::string, std::string>;
    asyncMethod(std::move(result), m_calls, [&](const Reply<std::vector<Row>>& reply) {
        Caller caller = currentCaller(getObject());
        EventQuery q;
        OptionReader reader(filter, "filter");
        q.vm = reader.take<std::string>("vm");
        q.uid = reader.take<std::uint32_t>("uid");
        if (auto since = reader.take<std::uint64_t>("since"))
            q.sinceUsec = static_cast<std::int64_t>(std::min<std::uint64_t>(*since, INT64_MAX));
        q.limit = reader.take<std::uint32_t>("limit");
        if (auto severity = reader.take<std::string>("severity")) {
            q.minSeverity = severityFromName(*severity);
            if (!q.minSeverity)
                throw Error(ErrorCode::InvalidArgument,
                            fmt::format("filter key 'severity' must be info, warning or error; got {}",
                                        quoteForMessage(*severity)));
        }
        reader.finish();
        m_manager.events(caller, q, reply.done<std::vector<EventRecord>>([](const std::vector<EventRecord>& events) {
            std::vector<Row> rows;
            rows.reserve(events.size());
            for (const auto& e : events)
                rows.emplace_back(static_cast<uint64_t>(e.id), static_cast<uint64_t>(e.timeUsec), e.uid, e.vmUuid,
                                  e.vmName, e.action, e.outcome, e.message, std::string(severityName(e.severity)));
            return rows;
        }));
    });
}

namespace {

std::map<std::string, sdbus::Variant> quotaDict(const QuotaReport& r)
{
    std::map<std::string, sdbus::Variant> limits;
    putIfSet(limits, "max_vms", r.limits.maxVms);
    putIfSet(limits, "max_running", r.limits.maxRunning);
    putIfSet(limits, "max_vcpus", r.limits.maxVcpus);
    putIfSet(limits, "max_memory_mib", r.limits.maxMemoryMiB);
    putIfSet(limits, "max_disk_gib", r.limits.maxDiskGiB);
    const std::map<std::string, sdbus::Variant> usage{{"vms", sdbus::Variant(r.usage.vms)},
                                                      {"running", sdbus::Variant(r.usage.running)},
                                                      {"vcpus", sdbus::Variant(r.usage.vcpus)},
                                                      {"memory_mib", sdbus::Variant(r.usage.memoryMiB)},
                                                      {"disk_gib", sdbus::Variant(r.usage.diskGiB)}};
    return {{"limits", sdbus::Variant(limits)},
            {"usage", sdbus::Variant(usage)},
            {"source", sdbus::Variant(std::string(quotaSourceName(r.source)))}};
}

// (uid_t)-1 means "no user" to the kernel (setresuid leaves an id alone, chown leaves the owner): nobody can own a
// VM under it, so a quota for it would be a record that applies to no one.
constexpr std::uint32_t kNoUser = static_cast<std::uint32_t>(-1);

} // namespace

void ManagerObject::GetQuota(sdbus::Result<std::map<std::string, sdbus::Variant>>&& result, uint32_t uid,
                             std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<std::map<std::string, sdbus::Variant>>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_quotas.get(caller, uid, reply.done<QuotaReport>(quotaDict));
    });
}

std::vector<sdbus::Struct<sdbus::ObjectPath, std::map<std::string, sdbus::Variant>>> ManagerObject::GetAllStats()
{
    return syncMethod([&] {
        std::vector<sdbus::Struct<sdbus::ObjectPath, std::map<std::string, sdbus::Variant>>> rows;
        for (const auto& [uuid, stats] : m_stats.all())
            rows.emplace_back(sdbus::ObjectPath(vmPath(uuid)), statsDict(stats));
        return rows;
    });
}

void ManagerObject::SetQuota(sdbus::Result<>&& result, uint32_t uid, std::map<std::string, sdbus::Variant> limits)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        QuotaChange change;
        OptionReader reader(limits, "limits");
        reader.takeAuthOptions(caller);
        change.set.maxVms = reader.take<std::uint32_t>("max_vms");
        change.set.maxRunning = reader.take<std::uint32_t>("max_running");
        change.set.maxVcpus = reader.take<std::uint32_t>("max_vcpus");
        change.set.maxMemoryMiB = reader.take<std::uint64_t>("max_memory_mib");
        change.set.maxDiskGiB = reader.take<std::uint64_t>("max_disk_gib");
        change.unset = reader.take<std::vector<std::string>>("unset").value_or(std::vector<std::string>{});
        change.reset = reader.take<bool>("reset").value_or(false);
        reader.finish();
        if (uid == kNoUser)
            throw Error(ErrorCode::InvalidArgument,
                        fmt::format("uid must be 0..{}; {} is (uid_t)-1, which means no user", kNoUser - 1, kNoUser));
        m_quotas.set(caller, uid, change, reply.done());
    });
}

void ManagerObject::ImportImage(sdbus::Result<sdbus::ObjectPath>&& result, std::string name, sdbus::UnixFd fd,
                                std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        ImportRequest request = readImportOptions(options, caller);
        request.name = std::move(name);
        // sdbus::UnixFd owns a duplicate of the received descriptor; core keeps its own for as long as the upload
        // runs.
        request.fd = std::make_shared<UniqueFd>(fd.release());
        m_images.importImage(caller, std::move(request), reply.done<std::uint64_t>([](std::uint64_t job) {
            return sdbus::ObjectPath(jobPath(job));
        }));
    });
}

sdbus::ObjectPath ManagerObject::GetImage(const std::string& name)
{
    return syncMethod([&] { return sdbus::ObjectPath(imagePath(m_images.getByName(name).record.id)); });
}

std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint32_t, sdbus::ObjectPath>>
ManagerObject::ListImages()
{
    return syncMethod([&] {
        std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint32_t, sdbus::ObjectPath>> rows;
        for (const Image* image : m_images.all())
            rows.emplace_back(image->record.name, std::string(formatName(image->record.format)),
                              image->record.virtualSizeBytes, image->record.sizeBytes, image->record.owner,
                              sdbus::ObjectPath(imagePath(image->record.id)));
        return rows;
    });
}

void ManagerObject::ListOperatingSystems(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, std::string>>>&& result)
{
    using Rows = std::vector<sdbus::Struct<std::string, std::string, std::string>>;
    asyncMethod(std::move(result), m_calls, [&](const Reply<Rows>& reply) {
        // The database may still be loading on a worker (start-up): the reply waits for it, the loop does not.
        OsCatalogGate& gate = m_images.osCatalog();
        gate.whenLoaded([&gate, reply] {
            reply.resultsOf([&] {
                Rows rows;
                for (const OsInfo& os : gate.catalog().all())
                    rows.emplace_back(os.shortId, os.name, os.version);
                return rows;
            });
        });
    });
}

} // namespace hangar::bus
