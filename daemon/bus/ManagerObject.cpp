#include "bus/ManagerObject.h"

#include "bus/BusSupport.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar::bus {

ManagerObject::ManagerObject(sdbus::IConnection& connection, VmManager& manager, Inventory& inventory,
                             ManagerInfo info)
    : AdaptorInterfaces(connection, kManagerPath), m_connection(connection), m_manager(manager),
      m_inventory(inventory), m_info(std::move(info))
{
    registerAdaptor();
    for (const Vm* vm : m_inventory.all())
        vmAdded(*vm);
}

ManagerObject::~ManagerObject()
{
    m_vms.clear();
    unregisterAdaptor();
}

void ManagerObject::vmAdded(const Vm& vm)
{
    m_vms[vm.record.uuid] = std::make_unique<VmObject>(m_connection, m_manager, m_inventory, vm.record.uuid);
}

void ManagerObject::vmRemoved(const Vm& vm) { m_vms.erase(vm.record.uuid); }

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
              e.outcome, e.message);
}

void ManagerObject::CreateVM(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                             std::map<std::string, sdbus::Variant> spec)
{
    Caller caller = currentCaller(getObject());
    VmSpecRequest request;
    try {
        OptionReader reader(spec, "spec");
        reader.takeAuthOptions(caller);
        request.vcpus = reader.take<std::uint32_t>("vcpus");
        request.memoryMiB = reader.take<std::uint64_t>("memory_mib");
        request.diskGiB = reader.take<std::uint64_t>("disk_gib");
        request.description = reader.take<std::string>("description");
        reader.finish();
    } catch (const Error& e) {
        return result.returnError(toBusError(e));
    }
    m_manager.create(caller, name, request, [reply = replyWith(std::move(result))](Outcome<std::string> outcome) {
        if (outcome.ok())
            reply->returnResults(sdbus::ObjectPath(vmPath(outcome.value())));
        else
            reply->returnError(toBusError(outcome.error()));
    });
}

sdbus::ObjectPath ManagerObject::GetVM(const std::string& name)
{
    return translateErrors([&] { return sdbus::ObjectPath(vmPath(m_manager.getByName(name).record.uuid)); });
}

std::vector<sdbus::Struct<std::string, std::string, std::string, uint32_t, sdbus::ObjectPath>>
ManagerObject::ListVMs(const std::map<std::string, sdbus::Variant>& filter)
{
    return translateErrors([&] {
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

std::vector<sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string, std::string, std::string,
                          std::string>>
ManagerObject::GetEvents(const std::map<std::string, sdbus::Variant>& filter)
{
    return translateErrors([&] {
        const Caller caller = currentCaller(getObject());
        EventQuery q;
        OptionReader reader(filter, "filter");
        q.vm = reader.take<std::string>("vm");
        q.uid = reader.take<std::uint32_t>("uid");
        if (auto since = reader.take<std::uint64_t>("since"))
            q.sinceUsec = static_cast<std::int64_t>(std::min<std::uint64_t>(*since, INT64_MAX));
        q.limit = reader.take<std::uint32_t>("limit");
        reader.finish();
        std::vector<sdbus::Struct<uint64_t, uint64_t, uint32_t, std::string, std::string, std::string, std::string,
                                  std::string>>
            rows;
        for (const auto& e : m_manager.events(caller, q))
            rows.emplace_back(static_cast<uint64_t>(e.id), static_cast<uint64_t>(e.timeUsec), e.uid, e.vmUuid,
                              e.vmName, e.action, e.outcome, e.message);
        return rows;
    });
}

} // namespace hangar::bus
