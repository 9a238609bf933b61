#include "core/VmLifecycle.h"

#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {
LifecycleOperation transition(VmOperation kind, VmState from, std::string_view requirement,
                              void (Hypervisor::*call)(const std::string&))
{
    LifecycleOperation op;
    op.kind = kind;
    op.check = [from, requirement](const Vm& vm) {
        if (vm.state != from)
            throw vmBusy(vm, fmt::format("is {}; {}", stateName(vm.state), requirement));
    };
    op.work = [call](Hypervisor& hv, const std::string& id) {
        (hv.*call)(id);
        return hv.state(id);
    };
    return op;
}

LifecycleOperation startOperation()
{
    LifecycleOperation op;
    op.kind = VmOperation::Start;
    op.check = [](const Vm& vm) {
        if (vm.state != VmState::Stopped && vm.state != VmState::Crashed)
            throw vmBusy(vm, fmt::format("is {}; only a stopped or crashed VM can be started", stateName(vm.state)));
    };
    op.startsVm = true;
    op.work = [](Hypervisor& hv, const std::string& id) {
        if (hv.state(id) == DomainState::Crashed)
            hv.destroy(id); // a crashed domain is still active: clear it before booting again
        hv.start(id);
        return hv.state(id);
    };
    return op;
}

void VmLifecycle::run(const Caller& caller, const std::string& uuid, LifecycleOperation op, Done<> done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, op.kind, std::move(done));
    const Vm* vm = m_ctx.runner.findOrLose(ticket);
    if (!vm || (op.validate && !m_ctx.runner.attempt(ticket, [&] { op.validate(*vm); })))
        return;
    const bool ownVm = vm->record.owner == caller.uid;
    m_ctx.runner.authorize(ticket, [this, ticket, ownVm, op = std::move(op)](Vm& vm) {
        // The owner's own starts count against their max_running; an administrator acting on someone else's VM
        // is not held to that user's quota.
        if (!op.startsVm || !ownVm)
            return proceed(ticket, vm, op, std::nullopt);
        m_ctx.runner.withQuota(
            ticket, [this, ticket, op](Vm& vm, const QuotaLimits& limits) { proceed(ticket, vm, op, limits); },
            "the VM was deleted while authorization was pending");
    });
}

void VmLifecycle::proceed(const Ticket& ticket, Vm& vm, const LifecycleOperation& op,
                          const std::optional<QuotaLimits>& limits)
{
    const bool claimed = m_ctx.runner.claim(ticket, vm, Guard::Settled, [&](const Vm& vm) {
        op.check(vm);
        if (limits && limits->maxRunning)
            checkStart(*limits, m_ctx.quotas.usage(vm.record.owner));
    });
    if (!claimed)
        return;
    m_ctx.runner.step<DomainStepResult>(
        ticket,
        [&hv = m_ctx.hypervisor, uuid = ticket->uuid, work = op.work] {
            DomainStepResult result;
            try {
                result.state = work(hv, uuid);
            } catch (const std::exception& e) {
                result.error = asError(e);
                try {
                    result.state = hv.state(uuid);
                } catch (const std::exception&) { // keep the last known state
                }
            }
            return result;
        },
        [this, ticket, op](Vm& vm, const Outcome<DomainStepResult>& outcome) {
            const DomainStepResult& result = outcome.value(); // the step catches its own errors
            if (result.state) {
                if (op.settle && !result.error)
                    op.settle(vm, *result.state);
                else
                    m_tracker.applyDomainState(vm.record.uuid, *result.state);
            }
            if (result.error)
                throw *result.error;
            m_ctx.runner.succeed(ticket, vm.record,
                                 op.done.empty() ? fmt::format("state is now {}", stateName(vm.state))
                                                 : fmt::format("{}; state is now {}", op.done, stateName(vm.state)));
        });
}

// --- stop and its deadline --------------------------------------------------------------------------------------

void VmLifecycle::stop(const Caller& caller, const std::string& uuid, StopOptions options, Done<> done)
{
    if (options.timeoutSec > Limits::kMaxStopTimeoutSec)
        return done(Error(ErrorCode::InvalidArgument, fmt::format("timeout_sec must be 0..{}, got {}",
                                                                  Limits::kMaxStopTimeoutSec, options.timeoutSec)));
    LifecycleOperation op;
    op.kind = options.force ? VmOperation::ForceStop : VmOperation::Stop;
    op.check = [force = options.force](const Vm& vm) {
        if (vm.state == VmState::Stopped)
            throw vmBusy(vm, "is already stopped");
        if (vm.state == VmState::ShuttingDown && !force)
            throw vmBusy(vm, "is already shutting down; use force to power it off now");
    };
    op.work = [force = options.force](Hypervisor& hv, const std::string& id) {
        if (force)
            hv.destroy(id);
        else
            hv.shutdown(id);
        return hv.state(id);
    };
    if (!options.force) {
        op.settle = [this, uid = caller.uid, timeout = options.timeoutSec](Vm& vm, DomainState state) {
            // Until the guest is off the hypervisor still says "running"; our State says what was asked.
            if (state == DomainState::Running)
                m_ctx.inventory.setState(vm, VmState::ShuttingDown);
            else
                m_tracker.applyDomainState(vm.record.uuid, state);
            if (timeout > 0 && isActive(vm.state))
                armStopDeadline(vm, uid, timeout);
        };
    }
    run(caller, uuid, std::move(op), std::move(done));
}

void VmLifecycle::armStopDeadline(Vm& vm, std::uint32_t uid, std::uint32_t timeoutSec)
{
    m_tracker.cancelStopDeadline(vm);
    m_ctx.inventory.setStopDeadline(
        vm, m_ctx.executor.schedule(std::chrono::seconds(timeoutSec), [this, uuid = vm.record.uuid, uid, timeoutSec] {
            stopDeadlineReached(uuid, uid, timeoutSec);
        }));
}

void VmLifecycle::stopDeadlineReached(const std::string& uuid, std::uint32_t uid, std::uint32_t timeoutSec)
{
    Caller daemon;
    daemon.uid = uid; // recorded as the caller who asked for the deadline
    const Ticket ticket = OperationRunner::open<std::monostate>(daemon, uuid, VmOperation::ForceStop, [](auto) {});
    Vm* vm = m_ctx.runner.find(ticket);
    if (!vm)
        return;
    m_ctx.inventory.setStopDeadline(*vm, std::nullopt);
    if (!isActive(vm->state) || vm->operation) // it powered off meanwhile, or something else is under way
        return;
    m_ctx.runner.mark(ticket, *vm);
    m_ctx.runner.step<DomainState>(
        ticket,
        [&hv = m_ctx.hypervisor, uuid] {
            hv.destroy(uuid);
            return hv.state(uuid);
        },
        [this, ticket, timeoutSec](Vm& vm, const Outcome<DomainState>& state) {
            if (!state.ok())
                throw state.error();
            m_tracker.applyDomainState(vm.record.uuid, state.value());
            m_ctx.runner.succeed(ticket, vm.record,
                                 fmt::format("the guest did not power off within {} s; powered off", timeoutSec));
        });
}

} // namespace hangar
