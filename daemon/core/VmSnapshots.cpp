#include "core/VmSnapshots.h"

#include "core/FaultPoints.h"
#include "core/Validation.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>

namespace hangar {
namespace {

bool hasSnapshot(const Vm& vm, const std::string& name)
{
    return std::find(vm.snapshots.begin(), vm.snapshots.end(), name) != vm.snapshots.end();
}

void requireSnapshot(const Vm& vm, const std::string& name)
{
    if (!hasSnapshot(vm, name))
        throw Error(ErrorCode::NotFound,
                    fmt::format("VM '{}' has no snapshot named {}", vm.record.name, quoteForMessage(name)));
}

} // namespace

LifecycleOperation VmSnapshots::operation(VmOperation kind,
                                          std::function<DomainState(Hypervisor&, const std::string&)> work)
{
    LifecycleOperation op;
    op.kind = kind;
    auto names = std::make_shared<std::vector<std::string>>();
    op.work = [work = std::move(work), names](Hypervisor& hv, const std::string& id) {
        const DomainState state = work(hv, id);
        names->clear();
        for (const auto& snapshot : hv.listSnapshots(id))
            names->push_back(snapshot.name);
        return state;
    };
    op.settle = [this, names](Vm& vm, DomainState state) {
        m_ctx.inventory.setSnapshots(vm, *names);
        m_tracker.applyDomainState(vm.record.uuid, state);
    };
    return op;
}

void VmSnapshots::create(const Caller& caller, const std::string& uuid, const std::string& name,
                         const std::string& description, Done<> done)
{
    LifecycleOperation op =
        operation(VmOperation::SnapshotCreate, [name, description](Hypervisor& hv, const std::string& id) {
            hv.createSnapshot(id, name, description);
            HANGAR_FAULT_POINT(SnapshotCreateTaken);
            return hv.state(id);
        });
    op.validate = [name, description](const Vm&) {
        validateName(name);
        validateDescription(description);
    };
    op.done = fmt::format("took snapshot '{}'", name);
    op.check = [name](const Vm& vm) {
        if (hasSnapshot(vm, name))
            throw Error(ErrorCode::AlreadyExists,
                        fmt::format("VM '{}' already has a snapshot named '{}'", vm.record.name, name));
        if (vm.record.diskVolume.empty())
            throw Error(ErrorCode::NotSupported,
                        fmt::format("VM '{}' has no disk to take a snapshot of", vm.record.name));
    };
    m_lifecycle.run(caller, uuid, std::move(op), std::move(done));
}

void VmSnapshots::revert(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
{
    LifecycleOperation op = operation(VmOperation::SnapshotRevert, [name](Hypervisor& hv, const std::string& id) {
        const DomainState state = hv.revertToSnapshot(id, name);
        HANGAR_FAULT_POINT(SnapshotRevertReverted);
        return state;
    });
    op.done = fmt::format("reverted to snapshot '{}'", name);
    op.check = [name](const Vm& vm) { requireSnapshot(vm, name); };
    m_lifecycle.run(caller, uuid, std::move(op), std::move(done));
}

void VmSnapshots::remove(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
{
    LifecycleOperation op = operation(VmOperation::SnapshotDelete, [name](Hypervisor& hv, const std::string& id) {
        hv.deleteSnapshot(id, name);
        HANGAR_FAULT_POINT(SnapshotDeleteDeleted);
        return hv.state(id);
    });
    op.done = fmt::format("deleted snapshot '{}'", name);
    op.check = [name](const Vm& vm) { requireSnapshot(vm, name); };
    m_lifecycle.run(caller, uuid, std::move(op), std::move(done));
}

void VmSnapshots::list(const std::string& uuid, const Done<std::vector<SnapshotInfo>>& done)
{
    if (!m_ctx.inventory.find(uuid))
        return done(Error(ErrorCode::NotFound, "no such VM"));
    runOnWorker<std::vector<SnapshotInfo>>(
        m_ctx.executor, [&hv = m_ctx.hypervisor, uuid] { return hv.listSnapshots(uuid); },
        [done](Outcome<std::vector<SnapshotInfo>> result) { done(std::move(result)); });
}

} // namespace hangar
