#include "core/Inventory.h"

#include "core/LoopThread.h"

#include <algorithm>

namespace hangar {

Vm* Inventory::find(const std::string& uuid)
{
    auto it = m_byUuid.find(uuid);
    return it == m_byUuid.end() ? nullptr : it->second.get();
}

const Vm* Inventory::find(const std::string& uuid) const
{
    auto it = m_byUuid.find(uuid);
    return it == m_byUuid.end() ? nullptr : it->second.get();
}

Vm* Inventory::findByName(const std::string& name)
{
    auto it = m_byName.find(name);
    return it == m_byName.end() ? nullptr : find(it->second);
}

const Vm* Inventory::findByName(const std::string& name) const
{
    auto it = m_byName.find(name);
    return it == m_byName.end() ? nullptr : find(it->second);
}

std::vector<const Vm*> Inventory::all() const
{
    std::vector<const Vm*> out;
    out.reserve(m_byName.size());
    for (const auto& [name, uuid] : m_byName)
        out.push_back(find(uuid));
    return out;
}

std::vector<Vm*> Inventory::allMutable()
{
    std::vector<Vm*> out;
    out.reserve(m_byUuid.size());
    for (auto& [uuid, vm] : m_byUuid)
        out.push_back(vm.get());
    return out;
}

InventoryCounts Inventory::counts() const
{
    return InventoryCounts{static_cast<std::uint32_t>(m_byUuid.size()), m_running};
}

std::vector<const Vm*> Inventory::ownedBy(std::uint32_t uid) const
{
    std::vector<const Vm*> out;
    auto it = m_byOwner.find(uid);
    if (it == m_byOwner.end())
        return out;
    out.reserve(it->second.size());
    for (const auto& uuid : it->second)
        out.push_back(find(uuid));
    return out;
}

std::vector<const Vm*> Inventory::madeFrom(const std::string& imageId) const
{
    std::vector<const Vm*> out;
    if (auto it = m_byImage.find(imageId); it != m_byImage.end())
        for (const auto& uuid : it->second)
            out.push_back(find(uuid));
    return out;
}

Vm& Inventory::add(Vm vm)
{
    LoopThread::assertOnLoop("Inventory::add");
    const std::string uuid = vm.record.uuid;
    m_byName[vm.record.name] = uuid;
    m_byOwner[vm.record.owner].insert(uuid);
    if (!vm.record.image.empty())
        m_byImage[vm.record.image].insert(uuid);
    if (vm.state == VmState::Running)
        ++m_running;
    auto& slot = m_byUuid[uuid];
    slot = std::make_unique<Vm>(std::move(vm));
    if (m_observer)
        m_observer->vmAdded(*slot);
    notifyCounts();
    for (const auto& listener : m_stateListeners) // it arrives in a state (an adopted domain may be running)
        listener(*slot);
    return *slot;
}

void Inventory::remove(const std::string& uuid)
{
    LoopThread::assertOnLoop("Inventory::remove");
    auto it = m_byUuid.find(uuid);
    if (it == m_byUuid.end())
        return;
    if (m_observer)
        m_observer->vmRemoved(*it->second);
    m_byName.erase(it->second->record.name);
    if (auto owned = m_byOwner.find(it->second->record.owner); owned != m_byOwner.end()) {
        owned->second.erase(uuid);
        if (owned->second.empty())
            m_byOwner.erase(owned);
    }
    if (auto used = m_byImage.find(it->second->record.image); used != m_byImage.end()) {
        used->second.erase(uuid);
        if (used->second.empty())
            m_byImage.erase(used);
    }
    if (it->second->state == VmState::Running)
        --m_running;
    m_byUuid.erase(it);
    notifyCounts();
}

void Inventory::setState(Vm& vm, VmState state)
{
    LoopThread::assertOnLoop("Inventory::setState");
    if (vm.state == state)
        return;
    if (vm.state == VmState::Running)
        --m_running;
    if (state == VmState::Running)
        ++m_running;
    vm.state = state;
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::State));
    notifyCounts();
    for (const auto& listener : m_stateListeners)
        listener(vm);
}

void Inventory::rename(Vm& vm, const std::string& newName)
{
    LoopThread::assertOnLoop("Inventory::rename");
    if (vm.record.name == newName)
        return;
    m_byName.erase(vm.record.name);
    vm.record.name = newName;
    m_byName[newName] = vm.record.uuid;
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::Name));
}

void Inventory::setAddresses(Vm& vm, std::vector<std::string> addresses)
{
    LoopThread::assertOnLoop("Inventory::setAddresses");
    if (vm.addresses == addresses)
        return;
    vm.addresses = std::move(addresses);
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::Addresses));
}

void Inventory::setGraphicsAddress(Vm& vm, std::string address)
{
    LoopThread::assertOnLoop("Inventory::setGraphicsAddress");
    if (vm.graphicsAddress == address)
        return;
    vm.graphicsAddress = std::move(address);
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::GraphicsAddress));
}

void Inventory::setAgentConnected(Vm& vm, bool connected)
{
    LoopThread::assertOnLoop("Inventory::setAgentConnected");
    if (vm.agentConnected == connected)
        return;
    vm.agentConnected = connected;
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::AgentConnected));
}

void Inventory::setConsoleAttached(Vm& vm, bool attached)
{
    LoopThread::assertOnLoop("Inventory::setConsoleAttached");
    if (vm.consoleAttached == attached)
        return;
    vm.consoleAttached = attached;
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::ConsoleAttached));
}

void Inventory::setGraphicsClients(Vm& vm, std::uint32_t clients)
{
    LoopThread::assertOnLoop("Inventory::setGraphicsClients");
    if (vm.graphicsClients == clients)
        return;
    vm.graphicsClients = clients;
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::GraphicsClients));
}

void Inventory::addGuestChange(Vm& vm, GuestChange change)
{
    LoopThread::assertOnLoop("Inventory::addGuestChange");
    auto& list = change.kind == GuestChange::Kind::User ? vm.record.addedUsers : vm.record.installedPackages;
    if (std::find(list.begin(), list.end(), change.name) != list.end())
        return;
    list.push_back(std::move(change.name));
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::GuestChanges));
}

void Inventory::setSnapshots(Vm& vm, std::vector<std::string> names)
{
    LoopThread::assertOnLoop("Inventory::setSnapshots");
    if (vm.snapshots == names)
        return;
    vm.snapshots = std::move(names);
    if (m_observer)
        m_observer->vmChanged(vm, static_cast<VmFields>(VmField::Snapshots));
}

void Inventory::setPhase(Vm& vm, VmPhase phase)
{
    LoopThread::assertOnLoop("Inventory::setPhase");
    if (vm.record.phase == phase)
        return;
    vm.record.phase = phase;
    changed(vm, static_cast<VmFields>(VmField::Phase));
}

void Inventory::setOperation(Vm& vm, VmOperation operation)
{
    LoopThread::assertOnLoop("Inventory::setOperation");
    if (vm.operation == operation)
        return;
    vm.operation = operation;
    changed(vm, static_cast<VmFields>(VmField::Operation));
}

void Inventory::clearOperation(Vm& vm)
{
    LoopThread::assertOnLoop("Inventory::clearOperation");
    if (!vm.operation)
        return;
    vm.operation.reset();
    changed(vm, static_cast<VmFields>(VmField::Operation));
}

void Inventory::setStopDeadline(Vm& vm, std::optional<Executor::TimerId> timer)
{
    LoopThread::assertOnLoop("Inventory::setStopDeadline");
    vm.stopDeadline = timer; // a timer, not state anyone displays: nothing to announce
}

void Inventory::changed(Vm& vm, VmFields fields)
{
    LoopThread::assertOnLoop("Inventory::changed");
    if (m_observer && fields != 0)
        m_observer->vmChanged(vm, fields);
}

void Inventory::notifyCounts()
{
    const auto now = counts();
    if (now == m_lastCounts)
        return;
    m_lastCounts = now;
    if (m_observer)
        m_observer->countsChanged(now);
}

} // namespace hangar
