#include "core/VmResources.h"

#include "core/FaultPoints.h"

#include <fmt/format.h>

namespace hangar {
namespace {

// What the worker got done, so the loop knows what to undo or keep.
struct ResizeResult
{
    bool domainChanged = false;
    bool diskGrown = false;
    bool undone = false; // the domain's change was undone after a later step failed
    std::optional<Error> error;
};

std::string describe(const VmSpec& spec)
{
    return fmt::format("{} vCPU, {} MiB memory, {} GiB disk", spec.vcpus, spec.memoryMiB, spec.diskGiB);
}

} // namespace

void VmResources::set(const Caller& caller, const std::string& uuid, const ResourceRequest& request, Done<> done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, VmOperation::SetResources, std::move(done));
    const Vm* vm = m_ctx.runner.findOrLose(ticket);
    if (!vm || !m_ctx.runner.attempt(ticket, [&] { validateResources(vm->record.spec, request); }))
        return;
    const bool own = vm->record.owner == caller.uid;
    m_ctx.runner.authorize(ticket, [this, ticket, request, own](Vm& vm) {
        // Like Start: the owner is held to their quota, an administrator acting on another's VM is not.
        if (!own)
            return proceed(ticket, vm, request, std::nullopt);
        m_ctx.runner.withQuota(
            ticket,
            [this, ticket, request](Vm& vm, const QuotaLimits& limits) { proceed(ticket, vm, request, limits); },
            "the VM was deleted while authorization was pending");
    });
}

void VmResources::proceed(const Ticket& ticket, Vm& vm, const ResourceRequest& request,
                          const std::optional<QuotaLimits>& limits)
{
    VmSpec next;
    const bool claimed = m_ctx.runner.claim(ticket, vm, Guard::Settled, [&](const Vm& vm) {
        if (vm.state != VmState::Stopped)
            throw vmBusy(vm, fmt::format("is {}; only a stopped VM's resources can be changed", stateName(vm.state)));
        next = validateResources(vm.record.spec, request); // again: it may have changed while polkit was asked
        if (limits && *limits != QuotaLimits{})
            checkGrow(*limits, m_ctx.quotas.usage(vm.record.owner), vm.record.spec, next);
        VmRecord intent = vm.record;
        intent.spec = next;
        m_ctx.store.updateVm(intent); // the intent, first: start-up finishes what a crash interrupts
    });
    if (!claimed)
        return;
    HANGAR_FAULT_POINT(ResourcesRowWritten);
    const VmSpec before = vm.record.spec;
    vm.record.spec = next; // counts against the quota from now on
    m_ctx.inventory.changed(vm, static_cast<VmFields>(VmField::Spec));

    m_ctx.runner.step<ResizeResult>(
        ticket,
        [&hv = m_ctx.hypervisor, &storage = m_ctx.storage, record = vm.record, before] {
            ResizeResult result;
            const VmSpec& next = record.spec;
            try {
                if (next.vcpus != before.vcpus || next.memoryMiB != before.memoryMiB) {
                    hv.setResources(record.uuid, next.vcpus, next.memoryMiB);
                    result.domainChanged = true;
                    HANGAR_FAULT_POINT(ResourcesDomainChanged);
                }
                if (next.diskGiB > before.diskGiB && !record.diskVolume.empty()) {
                    storage.resize(record.diskVolume, next.diskGiB * kGiB);
                    result.diskGrown = true;
                    HANGAR_FAULT_POINT(ResourcesDiskGrown);
                }
                hv.updateMetadata(record);
            } catch (const std::exception& e) {
                result.error = asError(e);
                if (result.domainChanged && !result.diskGrown) {
                    try {
                        hv.setResources(record.uuid, before.vcpus, before.memoryMiB);
                        result.undone = true;
                    } catch (const std::exception&) { // the row keeps the intent; start-up finishes it
                    }
                }
            }
            return result;
        },
        [this, ticket, before](Vm& vm, const Outcome<ResizeResult>& outcome) {
            const ResizeResult& result = outcome.value(); // the step catches its own errors
            if (result.error && !result.diskGrown && (!result.domainChanged || result.undone)) {
                VmRecord reverted = vm.record;
                reverted.spec = before;
                try {
                    m_ctx.store.updateVm(reverted);
                    vm.record.spec = before;
                    m_ctx.inventory.changed(vm, static_cast<VmFields>(VmField::Spec));
                } catch (const Error&) { // the row keeps the intent; start-up applies it
                }
                throw *result.error;
            }
            if (result.error) // partly done and kept: the row says the new spec, start-up completes the rest
                throw Error(result.error->code(),
                            fmt::format("{} (the VM keeps {}; hangard finishes the change at its next start)",
                                        result.error->what(), describe(vm.record.spec)));
            m_ctx.runner.succeed(
                ticket, vm.record,
                fmt::format("resources changed from {} to {}", describe(before), describe(vm.record.spec)));
        });
}

} // namespace hangar
