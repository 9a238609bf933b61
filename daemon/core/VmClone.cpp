// VmCreation::clone: the source VM goes through the pipeline as a Clone (authorized twice: on the source, then
// create-vm for the copy), stays marked while its disk is read, and the copy is launched like any new VM.
#include "core/FaultPoints.h"
#include "core/VmCreation.h"
#include "core/VmLifetime.h"

#include <fmt/format.h>

namespace hangar {

void VmCreation::clone(const Caller& caller, const std::string& uuid, const std::string& newName,
                       const Done<std::string>& done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, VmOperation::Clone, done);
    if (!m_ctx.runner.findOrLose(ticket))
        return;
    if (!m_ctx.runner.attempt(ticket, [&] {
            validateName(newName);
            requireFreeVmName(m_ctx.inventory, newName);
        }))
        return;
    m_ctx.runner.authorize(ticket, [this, ticket, newName, done](Vm&) {
        m_ctx.runner.authorizeOnVm(ticket, Action::CreateVm, {{"vm", newName}, {"verb", "clone"}}, [=, this](Vm&) {
            // A clone is a new VM: it takes from the create rate and gets a new VM's default lifetime.
            admitNewVm(m_ctx, ticket->caller, std::nullopt, [=, this](const Outcome<std::int64_t>& admitted) {
                if (!admitted.ok())
                    return m_ctx.runner.fail(ticket, admitted.error());
                cloneWithin(ticket, newName, admitted.value(), done);
            });
        });
    });
}

void VmCreation::cloneWithin(const Ticket& ticket, const std::string& newName, std::int64_t expiresAt,
                             const Done<std::string>& done)
{
    m_ctx.runner.withQuota(ticket, [=, this](Vm& source, const QuotaLimits& limits) {
        const bool claimed = m_ctx.runner.claim(ticket, source, Guard::NotBusy, [&](const Vm& source) {
            if (source.state != VmState::Stopped)
                throw vmBusy(source, fmt::format("is {}; only a stopped VM can be cloned", stateName(source.state)));
            if (source.record.diskVolume.empty())
                throw Error(ErrorCode::NotSupported, fmt::format("VM '{}' has no disk to clone", source.record.name));
            requireFreeVmName(m_ctx.inventory, newName);
            if (limits != QuotaLimits{})
                checkCreate(limits, m_ctx.quotas.usage(ticket->caller.uid), source.record.spec);
        });
        if (!claimed)
            return;
        // The source stays stopped and unchanged (marked) while its disk is read.
        VmRecord record = newRecord(ticket->caller, newName, source.record.spec);
        record.image = source.record.image;
        record.cdromVolume = source.record.cdromVolume;
        record.expiresAt = expiresAt;
        // The same provisioning in a seed of its own: its instance-id (the new UUID) makes cloud-init run again in
        // the copy.
        addSeed(record, source.record.provisioning);
        auto copy = [target = record.diskVolume, from = source.record.diskVolume](Storage& storage) {
            storage.cloneOverlay(target, from, [](std::uint64_t) {
                HANGAR_FAULT_POINT(CloneCopying); // libvirtd's upload stream is open, part of the disk copied
                return true;
            });
        };
        launch(ticket->caller, VmOperation::Clone, record, std::move(copy),
               fmt::format(", from VM {}", source.record.name), [this, ticket, done](Outcome<std::string> outcome) {
                   m_ctx.runner.release(ticket);
                   done(std::move(outcome));
               });
    });
}

} // namespace hangar
