#include "core/OperationRunner.h"

#include "core/LoopThread.h"

#include <fmt/format.h>

namespace hangar {

Error vmBusy(const Vm& vm, std::string_view why)
{
    return Error(ErrorCode::Busy, fmt::format("VM '{}' {}", vm.record.name, why));
}

Vm* OperationRunner::find(const Ticket& ticket)
{
    return ticket->uuid.empty() ? nullptr : m_inventory.find(ticket->uuid);
}

Vm* OperationRunner::findOrLose(const Ticket& ticket, const char* message)
{
    LoopThread::assertOnLoop("OperationRunner::findOrLose");
    Vm* vm = find(ticket);
    if (!vm)
        ticket->reject(Error(ErrorCode::NotFound, message));
    return vm;
}

void OperationRunner::authorize(const Ticket& ticket, std::function<void(Vm&)> next)
{
    const Vm* vm = find(ticket);
    const bool own = vm && vm->record.owner == ticket->caller.uid;
    authorizeOnVm(ticket, own ? Action::ManageOwnVms : Action::ManageAllVms,
                  {{"vm", vm ? vm->record.name : ticket->vmName}, {"verb", std::string(operationName(ticket->kind))}},
                  std::move(next));
}

void OperationRunner::authorizeAction(const Ticket& ticket, Action action, const AuthDetails& details,
                                      std::function<void()> next)
{
    LoopThread::assertOnLoop("OperationRunner::authorizeAction");
    m_authorizer.check(ticket->caller, action, details,
                       [this, ticket, next = std::move(next)](std::optional<Error> denied) {
                           if (denied)
                               return fail(ticket, *denied);
                           next();
                       });
}

void OperationRunner::authorizeOnVm(const Ticket& ticket, Action action, const AuthDetails& details,
                                    std::function<void(Vm&)> next)
{
    LoopThread::assertOnLoop("OperationRunner::authorizeOnVm");
    m_authorizer.check(ticket->caller, action, details,
                       [this, ticket, next = std::move(next)](std::optional<Error> denied) {
                           Vm* vm = findOrLose(ticket, "the VM was deleted while authorization was pending");
                           if (!vm)
                               return;
                           if (denied)
                               return fail(ticket, *denied);
                           next(*vm);
                       });
}

void OperationRunner::withQuota(const Ticket& ticket, std::function<void(Vm&, const QuotaLimits&)> next,
                                const char* lost)
{
    m_quotas.limitsFor(ticket->caller,
                       [this, ticket, next = std::move(next), lost](const Outcome<EffectiveQuota>& quota) {
                           Vm* vm = findOrLose(ticket, lost);
                           if (!vm)
                               return;
                           if (!quota.ok())
                               return fail(ticket, quota.error());
                           next(*vm, quota.value().limits);
                       });
}

bool OperationRunner::guard(const Ticket& ticket, Vm& vm, Guard level, const std::function<void(const Vm&)>& check)
{
    LoopThread::assertOnLoop("OperationRunner::guard");
    return attempt(ticket, [&] {
        if (vm.operation)
            throw vmBusy(vm, fmt::format("is busy: '{}' is in progress", operationName(*vm.operation)));
        if (level != Guard::NotBusy && (vm.state == VmState::Creating || vm.state == VmState::Deleting))
            throw vmBusy(vm, fmt::format("is {}", stateName(vm.state)));
        if (level == Guard::Settled && vm.state == VmState::Unavailable)
            throw vmBusy(vm, "is unavailable: the hypervisor cannot be reached or does not know its domain");
        if (check)
            check(vm);
    });
}

void OperationRunner::mark(const Ticket& ticket, Vm& vm)
{
    m_inventory.setOperation(vm, ticket->kind);
    ticket->marked = true;
}

bool OperationRunner::claim(const Ticket& ticket, Vm& vm, Guard level, const std::function<void(const Vm&)>& check)
{
    if (!guard(ticket, vm, level, check))
        return false;
    mark(ticket, vm);
    return true;
}

void OperationRunner::release(const Ticket& ticket)
{
    if (!ticket->marked)
        return;
    ticket->marked = false;
    if (Vm* vm = find(ticket); vm && vm->operation == ticket->kind)
        m_inventory.clearOperation(*vm);
}

void OperationRunner::succeed(const Ticket& ticket, const VmRecord& about, const std::string& message)
{
    m_audit.success(ticket->caller.uid, &about, std::string(operationName(ticket->kind)), message);
    if (ticket->accept)
        ticket->accept();
}

void OperationRunner::fail(const Ticket& ticket, const Error& error, const VmRecord* about)
{
    LoopThread::assertOnLoop("OperationRunner::fail");
    release(ticket);
    const std::string action(operationName(ticket->kind));
    if (const Vm* vm = find(ticket); !about && vm)
        about = &vm->record;
    if (about || ticket->vmName.empty())
        m_audit.failure(ticket->caller.uid, about, action, error);
    else
        m_audit.failure(ticket->caller.uid, ticket->vmName, action, error);
    ticket->reject(error);
}

bool OperationRunner::attempt(const Ticket& ticket, const std::function<void()>& fn)
{
    try {
        fn();
        return true;
    } catch (const Error& e) {
        fail(ticket, e);
        return false;
    }
}

} // namespace hangar
