#include "bus/VmObject.h"

#include "bus/BusSupport.h"

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

void VmObject::retire(std::function<void()> onIdle)
{
    emitInterfacesRemovedSignal({kInterface});
    m_calls.retire(std::move(onIdle));
}

Done<> VmObject::tracked(sdbus::Result<>&& result)
{
    m_calls.begin();
    auto reply = replier(std::move(result));
    return [this, reply](Outcome<> outcome) {
        reply(std::move(outcome));
        m_calls.end();
    };
}

Done<SharedFd> VmObject::trackedFd(sdbus::Result<sdbus::UnixFd>&& result)
{
    m_calls.begin();
    return [this, reply = replyWith(std::move(result))](Outcome<SharedFd> outcome) {
        if (outcome.ok()) {
            // The message takes a duplicate; ours is closed when the last copy of the SharedFd goes, at the end
            // of this completion at the latest.
            reply->returnResults(sdbus::UnixFd(outcome.value()->get()));
        } else {
            reply->returnError(toBusError(outcome.error()));
        }
        m_calls.end();
    };
}

template <typename T>
Done<T> VmObject::trackedPath(sdbus::Result<sdbus::ObjectPath>&& result, std::function<std::string(const T&)> path)
{
    m_calls.begin();
    return [this, reply = replyWith(std::move(result)), path = std::move(path)](Outcome<T> outcome) {
        if (outcome.ok())
            reply->returnResults(sdbus::ObjectPath(path(outcome.value())));
        else
            reply->returnError(toBusError(outcome.error()));
        m_calls.end();
    };
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
    if (!names.empty())
        emitPropertiesChangedSignal(kInterface, names);
}

const Vm& VmObject::vm() const
{
    const Vm* vm = m_inventory.find(m_uuid);
    if (!vm) // the object outlived its VM for the length of one call; never expected
        throw toBusError(Error(ErrorCode::NotFound, "the VM no longer exists"));
    return *vm;
}

template <typename Call>
void VmObject::simpleCall(sdbus::Result<>&& result, const std::map<std::string, sdbus::Variant>& options, Call call)
{
    Caller caller = currentCaller(getObject());
    if (readOptions(result, options, caller))
        call(caller, tracked(std::move(result)));
}

void VmObject::Start(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options, [this](const Caller& c, Done<> d) { m_manager.start(c, m_uuid, d); });
}

void VmObject::Reboot(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options, [this](const Caller& c, Done<> d) { m_manager.reboot(c, m_uuid, d); });
}

void VmObject::Pause(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options, [this](const Caller& c, Done<> d) { m_manager.pause(c, m_uuid, d); });
}

void VmObject::Resume(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options, [this](const Caller& c, Done<> d) { m_manager.resume(c, m_uuid, d); });
}

void VmObject::Stop(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    StopOptions stop;
    try {
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        stop.force = reader.take<bool>("force").value_or(false);
        stop.timeoutSec = reader.take<std::uint32_t>("timeout_sec").value_or(0);
        reader.finish();
    } catch (const Error& e) {
        return result.returnError(toBusError(e));
    }
    m_manager.stop(caller, m_uuid, stop, tracked(std::move(result)));
}

void VmObject::Delete(sdbus::Result<>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    DeleteOptions del;
    try {
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        del.force = reader.take<bool>("force").value_or(false);
        reader.finish();
    } catch (const Error& e) {
        return result.returnError(toBusError(e));
    }
    m_manager.remove(caller, m_uuid, del, tracked(std::move(result)));
}

void VmObject::Rename(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.rename(c, m_uuid, name, d); });
}

void VmObject::OpenConsole(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    bool force = false;
    try {
        OptionReader reader(options, "option");
        reader.takeAuthOptions(caller);
        force = reader.take<bool>("force").value_or(false);
        reader.finish();
    } catch (const Error& e) {
        return result.returnError(toBusError(e));
    }
    m_manager.openConsole(caller, m_uuid, force, trackedFd(std::move(result)));
}

void VmObject::OpenGraphics(sdbus::Result<sdbus::UnixFd>&& result, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    if (!readOptions(result, options, caller))
        return;
    m_manager.openGraphics(caller, m_uuid, trackedFd(std::move(result)));
}

std::string VmObject::Name()
{
    return vm().record.name;
}
std::string VmObject::UUID()
{
    return vm().record.uuid;
}
uint32_t VmObject::Owner()
{
    return vm().record.owner;
}
std::string VmObject::State()
{
    return std::string(stateName(vm().state));
}
uint32_t VmObject::VCPUs()
{
    return vm().record.spec.vcpus;
}
uint64_t VmObject::MemoryMiB()
{
    return vm().record.spec.memoryMiB;
}
uint64_t VmObject::DiskGiB()
{
    return vm().record.spec.diskGiB;
}
std::string VmObject::Description()
{
    return vm().record.spec.description;
}
uint64_t VmObject::CreatedAt()
{
    return static_cast<uint64_t>(vm().record.createdAtUsec);
}
std::string VmObject::Host()
{
    return vm().record.host;
}
std::string VmObject::GraphicsAddress()
{
    return vm().graphicsAddress;
}

std::vector<std::string> VmObject::Addresses()
{
    return vm().addresses;
}

std::map<std::string, sdbus::Variant> VmObject::GetStats()
{
    vm(); // NotFound for a VM that is gone
    const auto stats = m_stats.stats(m_uuid);
    return stats ? statsDict(*stats) : std::map<std::string, sdbus::Variant>{};
}

void VmObject::Clone(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                     std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    if (!readOptions(result, options, caller))
        return;
    m_manager.clone(caller, m_uuid, name,
                    trackedPath<std::string>(std::move(result), [](const std::string& uuid) { return vmPath(uuid); }));
}

void VmObject::CreateSnapshot(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    std::string description;
    if (!readOptions(result, options, caller, &description))
        return;
    m_manager.createSnapshot(caller, m_uuid, name, description, tracked(std::move(result)));
}

void VmObject::ListSnapshots(
    sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, int64_t, std::string, bool>>>&& result)
{
    m_calls.begin();
    m_manager.listSnapshots(
        m_uuid, [this, reply = replyWith(std::move(result))](Outcome<std::vector<SnapshotInfo>> outcome) {
            if (outcome.ok()) {
                std::vector<sdbus::Struct<std::string, std::string, int64_t, std::string, bool>> rows;
                for (const auto& s : outcome.value())
                    rows.emplace_back(s.name, s.description, s.createdAtUsec, s.state, s.current);
                reply->returnResults(rows);
            } else {
                reply->returnError(toBusError(outcome.error()));
            }
            m_calls.end();
        });
}

void VmObject::RevertToSnapshot(sdbus::Result<>&& result, std::string name,
                                std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.revertToSnapshot(c, m_uuid, name, d); });
}

void VmObject::DeleteSnapshot(sdbus::Result<>&& result, std::string name, std::map<std::string, sdbus::Variant> options)
{
    simpleCall(std::move(result), options,
               [this, name](const Caller& c, Done<> d) { m_manager.deleteSnapshot(c, m_uuid, name, d); });
}

void VmObject::Publish(sdbus::Result<sdbus::ObjectPath>&& result, std::string imageName,
                       std::map<std::string, sdbus::Variant> options)
{
    Caller caller = currentCaller(getObject());
    std::string description;
    if (!readOptions(result, options, caller, &description))
        return;
    m_images.publish(
        caller, m_uuid, imageName, description,
        trackedPath<std::uint64_t>(std::move(result), [](const std::uint64_t& id) { return jobPath(id); }));
}

std::string VmObject::Image()
{
    const auto& id = vm().record.image;
    if (id.empty())
        return {};
    const hangar::Image* image = m_images.find(id);
    return image ? image->record.name : std::string{};
}

std::vector<std::string> VmObject::Snapshots()
{
    return vm().snapshots;
}

} // namespace hangar::bus
