#include "core/VmRemoval.h"

#include "core/FaultPoints.h"
#include "core/Validation.h"
#include "core/VmCreation.h"

#include <fmt/format.h>

namespace hangar {
void VmRemoval::remove(const Caller& caller, const std::string& uuid, DeleteOptions options, Done<> done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, VmOperation::Delete, std::move(done));
    if (!m_ctx.runner.findOrLose(ticket))
        return;
    m_ctx.runner.authorize(ticket, [this, ticket, options](Vm& vm) {
        const bool allowed = m_ctx.runner.guard(ticket, vm, Guard::NotInFlux, [&](const Vm& vm) {
            if (isActive(vm.state) && !options.force)
                throw vmBusy(vm, fmt::format("is {}; stop it first or delete with force", stateName(vm.state)));
        });
        if (allowed)
            startRemoval(ticket, vm, options);
    });
}

void VmRemoval::removeAsDaemon(const std::string& uuid, const std::string& reason, const Done<>& done)
{
    const Ticket ticket = OperationRunner::open(Caller{}, uuid, VmOperation::Delete, done);
    if (Vm* vm = m_ctx.runner.findOrLose(ticket); vm && m_ctx.runner.guard(ticket, *vm, Guard::Settled))
        startRemoval(ticket, *vm, DeleteOptions{true}, reason);
}

void VmRemoval::startRemoval(const Ticket& ticket, Vm& vm, DeleteOptions options, const std::string& detail)
{
    const VmState before = vm.state;
    // Recorded before touching the domain: a crash from here on is finished at the next start.
    m_ctx.inventory.setPhase(vm, VmPhase::Deleting);
    if (!m_ctx.runner.attempt(ticket, [&] { m_ctx.store.updateVm(vm.record); })) {
        m_ctx.inventory.setPhase(vm, VmPhase::Ready);
        return;
    }
    HANGAR_FAULT_POINT(DeleteRowWritten);
    m_tracker.cancelStopDeadline(vm);
    m_ctx.runner.mark(ticket, vm);
    m_ctx.inventory.setState(vm, VmState::Deleting);

    m_ctx.runner.step<DomainStepResult>(
        ticket,
        [&hv = m_ctx.hypervisor, &storage = m_ctx.storage, uuid = vm.record.uuid, disk = vm.record.diskVolume,
         seed = vm.record.seedVolume, force = options.force] {
            DomainStepResult result;
            try {
                if (force && hv.state(uuid) != DomainState::Stopped)
                    hv.destroy(uuid);
                // The disk first: if that fails the VM is still whole and Delete can be tried again; a domain
                // whose disk is gone but whose undefine failed is tried again the same way.
                if (!disk.empty())
                    storage.remove(disk);
                HANGAR_FAULT_POINT(DeleteDiskRemoved);
                if (!seed.empty())
                    storage.remove(seed);
                hv.undefine(uuid);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::NotFound) { // a domain already gone is what we wanted
                    result.error = e;
                    try {
                        result.state = hv.state(uuid);
                    } catch (const std::exception&) {
                    }
                }
            } catch (const std::exception& e) {
                result.error = asError(e);
            }
            return result;
        },
        [this, ticket, before, detail](Vm& vm, const Outcome<DomainStepResult>& outcome) {
            const DomainStepResult& result = outcome.value(); // the step catches its own errors
            if (result.error) {
                m_ctx.inventory.setPhase(vm, VmPhase::Ready);
                try {
                    m_ctx.store.updateVm(vm.record);
                } catch (const Error&) { // left in Deleting: the next start finishes the deletion
                }
                m_ctx.inventory.setState(vm, result.state ? toVmState(*result.state) : before);
                throw *result.error;
            }
            HANGAR_FAULT_POINT(DeleteUndefined);
            const VmRecord record = vm.record;
            try {
                m_ctx.store.deleteVm(record.uuid);
            } catch (const Error& e) { // the row stays in Deleting; the next start removes it
                m_ctx.audit.failure(ticket->caller.uid, &record, "delete", e);
            }
            m_ctx.inventory.remove(record.uuid);
            m_ctx.runner.succeed(ticket, record, detail);
        });
}

void VmRemoval::rename(const Caller& caller, const std::string& uuid, const std::string& newName, Done<> done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, VmOperation::Rename, std::move(done));
    if (!m_ctx.runner.findOrLose(ticket) || !m_ctx.runner.attempt(ticket, [&] { validateName(newName); }))
        return;
    m_ctx.runner.authorize(ticket, [this, ticket, newName](Vm& vm) {
        const std::string oldName = vm.record.name;
        if (oldName == newName)
            return ticket->accept();
        const bool allowed = m_ctx.runner.guard(ticket, vm, Guard::NotInFlux, [&](const Vm& vm) {
            requireFreeVmName(m_ctx.inventory, newName);
            VmRecord renamed = vm.record;
            renamed.name = newName;
            m_ctx.store.updateVm(renamed); // the store is the authority on names; the domain's metadata follows
        });
        if (!allowed)
            return;
        HANGAR_FAULT_POINT(RenameRowWritten);
        m_ctx.inventory.rename(vm, newName);
        m_ctx.runner.mark(ticket, vm);
        m_ctx.runner.step<std::monostate>(
            ticket,
            [&hv = m_ctx.hypervisor, record = vm.record] {
                hv.updateMetadata(record);
                return std::monostate{};
            },
            [this, ticket, oldName](Vm& vm, const Outcome<std::monostate>& outcome) {
                if (!outcome.ok()) {
                    VmRecord reverted = vm.record;
                    reverted.name = oldName;
                    try {
                        m_ctx.store.updateVm(reverted);
                        m_ctx.inventory.rename(vm, oldName);
                    } catch (const Error&) { // keep the new name; reconciliation rewrites the metadata later
                    }
                    throw outcome.error();
                }
                m_ctx.runner.succeed(ticket, vm.record,
                                     fmt::format("renamed from '{}' to '{}'", oldName, vm.record.name));
            });
    });
}

} // namespace hangar
