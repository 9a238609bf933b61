#include "bus/VmObject.h"

#include "bus/ProvisioningDict.h"
#include "bus/ReplyBoundary.h"
#include "bus/SpecDict.h"

namespace hangar::bus {
namespace {

constexpr const char* kInterface = org::hangar::Hangar1::VM_adaptor::INTERFACE_NAME;

} // namespace

VmObject::VmObject(sdbus::IConnection& connection, VmManager& manager, ImageManager& images, Inventory& inventory,
                   const StatsSampler& stats, std::string uuid)
    : AdaptorInterfaces(connection, vmPath(uuid)), m_manager(manager), m_images(images), m_inventory(inventory),
      m_stats(stats), m_uuid(std::move(uuid))
{
    registerAdaptor();
    emitInterfacesAddedSignal({kInterface});
}

VmObject::~VmObject()
{
    if (!m_calls.retired())
        emitInterfacesRemovedSignal({kInterface});
    unregisterAdaptor();
}

void VmObject::retire(const Vm& last, std::function<void()> onIdle)
{
    m_last = last;
    emitInterfacesRemovedSignal({kInterface});
    m_calls.retire(std::move(onIdle));
}

void VmObject::propertiesChanged(VmFields fields)
{
    std::vector<std::string> names;
    if (has(fields, VmField::Name))
        names.emplace_back("Name");
    if (has(fields, VmField::State))
        names.emplace_back("State");
    if (has(fields, VmField::Owner))
        names.emplace_back("Owner");
    if (has(fields, VmField::Spec))
        names.insert(names.end(), {"VCPUs", "MemoryMiB", "DiskGiB", "Description"});
    if (has(fields, VmField::Host))
        names.emplace_back("Host");
    if (has(fields, VmField::GraphicsAddress))
        names.emplace_back("GraphicsAddress");
    if (has(fields, VmField::Addresses))
        names.emplace_back("Addresses");
    if (has(fields, VmField::Snapshots))
        names.emplace_back("Snapshots");
    if (has(fields, VmField::Expiry))
        names.emplace_back("ExpiresAt");
    if (has(fields, VmField::AgentConnected))
        names.emplace_back("AgentConnected");
    if (has(fields, VmField::ConsoleAttached))
        names.emplace_back("ConsoleAttached");
    if (has(fields, VmField::GraphicsClients))
        names.emplace_back("GraphicsClients");
    if (has(fields, VmField::GuestChanges))
        names.insert(names.end(), {"AddedUsers", "InstalledPackages"});
    if (!names.empty())
        emitPropertiesChangedSignal(kInterface, names);
}

const Vm& VmObject::vm() const
{
    if (m_last)
        return *m_last;
    const Vm* vm = m_inventory.find(m_uuid);
    if (!vm) // core dropped the VM without telling the bus; never expected
        throw Error(ErrorCode::NotFound, "the VM no longer exists");
    return *vm;
}

template <typename Call> void VmObject::simpleCall(sdbus::Result<>&& result, const Options& options, Call call)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        call(caller, reply.done());
    });
}

void VmObject::Start(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this](const Caller& c, Done<> d) { m_manager.start(c, m_uuid, std::move(d)); });
}

void VmObject::Reboot(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this](const Caller& c, Done<> d) { m_manager.reboot(c, m_uuid, std::move(d)); });
}

void VmObject::Pause(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this](const Caller& c, Done<> d) { m_manager.pause(c, m_uuid, std::move(d)); });
}

void VmObject::Resume(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this](const Caller& c, Done<> d) { m_manager.resume(c, m_uuid, std::move(d)); });
}

void VmObject::Stop(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        StopOptions stop;
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        stop.force = reader.take<bool>("force").value_or(false);
        stop.timeoutSec = reader.take<std::uint32_t>("timeout_sec").value_or(0);
        reader.finish();
        m_manager.stop(caller, m_uuid, stop, reply.done());
    });
}

void VmObject::Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        DeleteOptions del;
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        del.force = reader.take<bool>("force").value_or(false);
        reader.finish();
        m_manager.remove(caller, m_uuid, del, reply.done());
    });
}

void VmObject::Rename(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.rename(c, m_uuid, name, std::move(d)); });
}

namespace {

// The message takes a duplicate; ours is closed when the last copy of the SharedFd goes, at the end of the
// completion at the latest.
sdbus::UnixFd toUnixFd(const SharedFd& fd)
{
    return sdbus::UnixFd(fd->get());
}

} // namespace

void VmObject::OpenConsole(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::UnixFd>& reply) {
        Caller caller = currentCaller(getObject());
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        const bool force = reader.take<bool>("force").value_or(false);
        reader.finish();
        m_manager.openConsole(caller, m_uuid, force, reply.done<SharedFd>(toUnixFd));
    });
}

void VmObject::OpenGraphics(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::UnixFd>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_manager.openGraphics(caller, m_uuid, reply.done<SharedFd>(toUnixFd));
    });
}

void VmObject::OpenLog(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::UnixFd>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_manager.openLog(caller, m_uuid, reply.done<SharedFd>(toUnixFd));
    });
}

bool VmObject::ConsoleAttached()
{
    return property([&] { return vm().consoleAttached; });
}

uint32_t VmObject::GraphicsClients()
{
    return property([&] { return vm().graphicsClients; });
}

std::string VmObject::Name()
{
    return property([&] { return vm().record.name; });
}
std::string VmObject::UUID()
{
    return property([&] { return vm().record.uuid; });
}
uint32_t VmObject::Owner()
{
    return property([&] { return vm().record.owner; });
}
std::string VmObject::State()
{
    return property([&] { return std::string(stateName(vm().state)); });
}
uint32_t VmObject::VCPUs()
{
    return property([&] { return vm().record.spec.vcpus; });
}
uint64_t VmObject::MemoryMiB()
{
    return property([&] { return vm().record.spec.memoryMiB; });
}
uint64_t VmObject::DiskGiB()
{
    return property([&] { return vm().record.spec.diskGiB; });
}
std::string VmObject::Description()
{
    return property([&] { return vm().record.spec.description; });
}
uint64_t VmObject::CreatedAt()
{
    return property([&] { return static_cast<uint64_t>(vm().record.createdAtUsec); });
}
std::string VmObject::Host()
{
    return property([&] { return vm().record.host; });
}
std::string VmObject::GraphicsAddress()
{
    return property([&] { return vm().graphicsAddress; });
}

std::vector<std::string> VmObject::Addresses()
{
    return property([&] { return vm().addresses; });
}

std::map<std::string, sdbus::Variant> VmObject::GetStats()
{
    return syncMethod([&] {
        if (m_last)
            throw Error(ErrorCode::NotFound, "the VM no longer exists");
        vm(); // NotFound for a VM that is gone
        const auto stats = m_stats.stats(m_uuid);
        return stats ? statsDict(*stats) : std::map<std::string, sdbus::Variant>{};
    });
}

void VmObject::Clone(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                     std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        readOptions(options, caller);
        m_manager.clone(caller, m_uuid, name, reply.done<std::string>([](const std::string& uuid) {
            return sdbus::ObjectPath(vmPath(uuid));
        }));
    });
}

void VmObject::CreateSnapshot(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        std::string description;
        readOptions(options, caller, &description);
        m_manager.createSnapshot(caller, m_uuid, name, description, reply.done());
    });
}

void VmObject::ListSnapshots(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, int64_t, std::string, bool>>>&& result)
{
    using Row = sdbus::Struct<std::string, std::string, int64_t, std::string, bool>;
    asyncMethod(std::move(result), m_calls, [&](const Reply<std::vector<Row>>& reply) {
        m_manager.listSnapshots(m_uuid, reply.done<std::vector<SnapshotInfo>>([](const auto& snapshots) {
            std::vector<Row> rows;
            rows.reserve(snapshots.size());
            for (const auto& s : snapshots)
                rows.emplace_back(s.name, s.description, s.createdAtUsec, s.state, s.current);
            return rows;
        }));
    });
}

void VmObject::RevertToSnapshot(sdbus::Result<>&& result, std::string name,
                                std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.revertToSnapshot(c, m_uuid, name, std::move(d)); });
}

void VmObject::DeleteSnapshot(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.deleteSnapshot(c, m_uuid, name, std::move(d)); });
}

void VmObject::Publish(sdbus::Result<sdbus::ObjectPath>&& result, std::string imageName,
                       std::map<std::string, sdbus::Variant> options)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<sdbus::ObjectPath>& reply) {
        Caller caller = currentCaller(getObject());
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        std::string description = reader.take<std::string>("description").value_or("");
        std::optional<std::string> os = reader.take<std::string>("os");
        reader.finish();
        m_images.publish(caller, m_uuid, imageName, description, os,
                         reply.done<std::uint64_t>([](std::uint64_t id) { return sdbus::ObjectPath(jobPath(id)); }));
    });
}

std::string VmObject::Image()
{
    return property([&] {
        const auto& id = vm().record.image;
        const hangar::Image* image = id.empty() ? nullptr : m_images.find(id);
        return image ? image->record.name : std::string{};
    });
}

void VmObject::GetProvisioning(sdbus::Result<std::map<std::string, sdbus::Variant>>&& result)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<std::map<std::string, sdbus::Variant>>& reply) {
        m_manager.provisioning(currentCaller(getObject()), m_uuid, reply.done<Provisioning>(provisioningDict));
    });
}

std::vector<std::string> VmObject::ProvisionedUsers()
{
    return property([&] { return vm().record.provisioning.userNames(); });
}

std::vector<std::string> VmObject::ProvisionedPackages()
{
    return property([&] { return vm().record.provisioning.packages; });
}

std::vector<std::string> VmObject::Snapshots()
{
    return property([&] { return vm().snapshots; });
}

bool VmObject::Ephemeral()
{
    return property([&] { return vm().record.ephemeral; });
}

uint64_t VmObject::ExpiresAt()
{
    return property([&] { return static_cast<uint64_t>(vm().record.expiresAt); });
}

void VmObject::SetResources(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> resources)
{
    asyncMethod(std::move(result), m_calls, [&](const Reply<>& reply) {
        Caller caller = currentCaller(getObject());
        const ResourceRequest request = readResources(resources, caller);
        m_manager.setResources(caller, m_uuid, request, reply.done());
    });
}

void VmObject::SetExpiry(sdbus::Result<>&& result, uint64_t expiresAt, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options, [this, expiresAt](const Caller& c, Done<> d) {
        // Beyond INT64_MAX is also beyond the 10 years core allows: clamped so core says so.
        const auto at = static_cast<std::int64_t>(std::min<uint64_t>(expiresAt, INT64_MAX));
        m_manager.setExpiry(c, m_uuid, at, std::move(d));
    });
}

} // namespace hangar::bus
