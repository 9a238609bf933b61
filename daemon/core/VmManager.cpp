#include "core/VmManager.h"

#include "core/Uuid.h"

#include <fmt/format.h>
#include <memory>

namespace hangar {
namespace {

// The result of a hypervisor step on a worker: the state it left the domain in, or the error.
struct StepResult
{
    std::optional<DomainState> state;
    std::optional<Error> error;
};

Error busy(const Vm& vm, std::string_view why)
{
    return Error(ErrorCode::Busy, fmt::format("VM '{}' {}", vm.record.name, why));
}

bool isActive(VmState s)
{
    return s == VmState::Running || s == VmState::Paused || s == VmState::ShuttingDown || s == VmState::Suspended;
}

void requireSettled(const Vm& vm)
{
    if (vm.state == VmState::Creating || vm.state == VmState::Deleting)
        throw busy(vm, fmt::format("is {}", stateName(vm.state)));
    if (vm.state == VmState::Unavailable)
        throw busy(vm, "is unavailable: the hypervisor does not know its domain");
}

Error asError(const std::exception& e)
{
    if (const auto* he = dynamic_cast<const Error*>(&e))
        return *he;
    return Error(ErrorCode::BackendFailure, e.what());
}

} // namespace

VmState toVmState(DomainState state)
{
    switch (state) {
    case DomainState::Stopped:
        return VmState::Stopped;
    case DomainState::Running:
        return VmState::Running;
    case DomainState::Paused:
        return VmState::Paused;
    case DomainState::ShuttingDown:
        return VmState::ShuttingDown;
    case DomainState::Crashed:
        return VmState::Crashed;
    case DomainState::Suspended:
        return VmState::Suspended;
    }
    return VmState::Unavailable;
}

VmManager::VmManager(Inventory& inventory, Store& store, Hypervisor& hypervisor, Authorizer& authorizer,
                     Executor& executor, AuditLog& audit, QuotaManager& quotas, std::string hostLabel,
                     BootDirectory bootDir)
    : m_inventory(inventory), m_store(store), m_hypervisor(hypervisor), m_authorizer(authorizer), m_executor(executor),
      m_audit(audit), m_quotas(quotas), m_hostLabel(std::move(hostLabel)), m_bootDir(std::move(bootDir)),
      m_access(inventory, hypervisor, authorizer, executor, audit)
{
    m_inventory.addStateListener([this](Vm& vm) { m_access.stateChanged(vm); });
}

template <typename T>
void VmManager::fail(std::uint32_t uid, const VmRecord* vm, const std::string& verb, const Error& error,
                     const Done<T>& done)
{
    m_audit.failure(uid, vm, verb, error);
    done(error);
}

void VmManager::authorizeVm(const Caller& caller, const Vm& vm, const std::string& verb,
                            std::function<void(std::optional<Error>)> next)
{
    const Action action = vm.record.owner == caller.uid ? Action::ManageOwnVms : Action::ManageAllVms;
    m_authorizer.check(caller, action, {{"vm", vm.record.name}, {"verb", verb}}, std::move(next));
}

// --- create -----------------------------------------------------------------------------------------------------

void VmManager::create(const Caller& caller, const std::string& name, const VmSpecRequest& request,
                       Done<std::string> done)
{
    VmSpec spec;
    try {
        validateName(name);
        spec = validateSpec(request);
        if (m_inventory.nameTaken(name))
            throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", name));
    } catch (const Error& e) {
        m_audit.failure(caller.uid, name, "create", e);
        return done(e);
    }

    m_authorizer.check(
        caller, Action::CreateVm, {{"vm", name}, {"verb", "create"}},
        [this, caller, name, spec, done](std::optional<Error> denied) {
            if (denied) {
                m_audit.failure(caller.uid, name, "create", *denied);
                return done(*denied);
            }
            // After authorization, so that who may not create cannot probe what the boot directory holds.
            try {
                m_bootDir.requireFiles(spec);
            } catch (const Error& e) {
                m_audit.failure(caller.uid, name, "create", e);
                return done(e);
            }
            m_quotas.effectiveFor(caller, [this, caller, name, spec, done](Outcome<EffectiveQuota> quota) {
                // From here to the reservation nothing yields to the loop: the quota check and the new row that
                // counts against it are one step, so parallel creates cannot overshoot.
                VmRecord record;
                record.uuid = makeUuid();
                record.name = name;
                record.owner = caller.uid;
                record.spec = spec;
                record.createdAtUsec = m_executor.nowUsec();
                record.host = m_hostLabel;
                record.phase = VmPhase::Creating;
                try {
                    if (!quota.ok())
                        throw quota.error();
                    // The name may have been taken while polkit was deciding.
                    if (m_inventory.nameTaken(name))
                        throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", name));
                    if (quota.value().limits != QuotaLimits{}) // nothing to count against for the unlimited
                        checkCreate(quota.value().limits, usageOf(m_inventory, caller.uid), spec);
                    // The phase row goes first: a crash from here on is rolled back at the next start.
                    m_store.insertVm(record);
                } catch (const Error& e) {
                    m_audit.failure(caller.uid, name, "create", e);
                    return done(e);
                }
                Vm vm;
                vm.record = record;
                vm.state = VmState::Creating;
                vm.operation = "create";
                m_inventory.add(std::move(vm));

                auto error = std::make_shared<std::optional<Error>>();
                m_executor.submit(
                    [&hv = m_hypervisor, record, error] {
                        try {
                            hv.define(record);
                        } catch (const std::exception& e) {
                            *error = asError(e);
                        }
                    },
                    [this, caller, uuid = record.uuid, error, done] { finishCreate(caller, uuid, *error, done); });
            });
        });
}

void VmManager::finishCreate(const Caller& caller, const std::string& uuid, std::optional<Error> error,
                             Done<std::string> done)
{
    Vm* vm = m_inventory.find(uuid);
    if (!vm)
        return done(Error(ErrorCode::BackendFailure, "the VM disappeared while it was being created"));
    vm->operation.reset();
    if (!error) {
        try {
            vm->record.phase = VmPhase::Ready;
            m_store.updateVm(vm->record);
        } catch (const Error& e) {
            error = e;
            // The domain exists but the record cannot say so: take the domain back out rather than orphan it.
            m_executor.submit(
                [&hv = m_hypervisor, uuid] {
                    try {
                        hv.undefine(uuid);
                    } catch (const std::exception&) { // recovery at the next start undefines it
                    }
                },
                [] {});
        }
    }
    if (error) {
        const VmRecord record = vm->record;
        try {
            m_store.deleteVm(uuid);
        } catch (const Error&) { // the Creating row is rolled back at the next start
        }
        m_inventory.remove(uuid);
        return fail(caller.uid, &record, "create", *error, done);
    }
    m_inventory.setState(*vm, VmState::Stopped);
    const auto& spec = vm->record.spec;
    m_audit.success(caller.uid, &vm->record, "create",
                    fmt::format("created with {} vCPU, {} MiB memory, {} GiB disk{}", spec.vcpus, spec.memoryMiB,
                                spec.diskGiB, spec.kernel.empty() ? "" : ", booting kernel " + spec.kernel));
    done(uuid);
}

// --- lifecycle operations ---------------------------------------------------------------------------------------

void VmManager::run(const Caller& caller, const std::string& uuid, Operation op, Done<> done)
{
    const Vm* vm = m_inventory.find(uuid);
    if (!vm)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    const std::string verb = op.verb;
    const bool ownVm = vm->record.owner == caller.uid;
    authorizeVm(caller, *vm, verb, [this, caller, uuid, ownVm, op = std::move(op), done](std::optional<Error> denied) {
        const Vm* vm = m_inventory.find(uuid);
        if (!vm)
            return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
        if (denied)
            return fail(caller.uid, &vm->record, op.verb, *denied, done);
        // The owner's own starts count against their max_running; an administrator acting on someone else's VM
        // is not held to that user's quota.
        if (!op.startsVm || !ownVm)
            return proceed(caller, uuid, op, std::nullopt, done);
        m_quotas.effectiveFor(caller, [this, caller, uuid, op, done](Outcome<EffectiveQuota> quota) {
            if (!quota.ok()) {
                const Vm* vm = m_inventory.find(uuid);
                return fail(caller.uid, vm ? &vm->record : nullptr, op.verb, quota.error(), done);
            }
            proceed(caller, uuid, op, quota.value().limits, done);
        });
    });
}

void VmManager::proceed(const Caller& caller, const std::string& uuid, const Operation& op,
                        const std::optional<QuotaLimits>& limits, Done<> done)
{
    Vm* vm = m_inventory.find(uuid);
    if (!vm)
        return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
    try {
        if (vm->operation)
            throw busy(*vm, fmt::format("is busy: '{}' is in progress", *vm->operation));
        requireSettled(*vm);
        op.check(*vm);
        if (limits && limits->maxRunning)
            checkStart(*limits, usageOf(m_inventory, vm->record.owner));
    } catch (const Error& e) {
        return fail(caller.uid, &vm->record, op.verb, e, done);
    }
    vm->operation = op.verb;
    auto result = std::make_shared<StepResult>();
    m_executor.submit(
        [&hv = m_hypervisor, uuid, work = op.work, result] {
            try {
                result->state = work(hv, uuid);
            } catch (const std::exception& e) {
                result->error = asError(e);
                try {
                    result->state = hv.state(uuid);
                } catch (const std::exception&) { // keep the last known state
                }
            }
        },
        [this, caller, uuid, op, result, done] {
            Vm* vm = m_inventory.find(uuid);
            if (!vm)
                return done(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
            vm->operation.reset();
            if (result->state) {
                if (op.settle && !result->error)
                    op.settle(*vm, *result->state);
                else
                    applyDomainState(uuid, *result->state);
            }
            if (result->error)
                return fail(caller.uid, &vm->record, op.verb, *result->error, done);
            m_audit.success(caller.uid, &vm->record, op.verb, fmt::format("state is now {}", stateName(vm->state)));
            done(std::monostate{});
        });
}

void VmManager::start(const Caller& caller, const std::string& uuid, Done<> done)
{
    Operation op;
    op.verb = "start";
    op.check = [](const Vm& vm) {
        if (vm.state != VmState::Stopped && vm.state != VmState::Crashed)
            throw busy(vm, fmt::format("is {}; only a stopped or crashed VM can be started", stateName(vm.state)));
    };
    op.startsVm = true;
    op.work = [](Hypervisor& hv, const std::string& id) {
        if (hv.state(id) == DomainState::Crashed)
            hv.destroy(id); // a crashed domain is still active: clear it before booting again
        hv.start(id);
        return hv.state(id);
    };
    run(caller, uuid, std::move(op), std::move(done));
}

void VmManager::stop(const Caller& caller, const std::string& uuid, StopOptions options, Done<> done)
{
    if (options.timeoutSec > Limits::kMaxStopTimeoutSec)
        return done(Error(ErrorCode::InvalidArgument, fmt::format("timeout_sec must be 0..{}, got {}",
                                                                  Limits::kMaxStopTimeoutSec, options.timeoutSec)));
    Operation op;
    op.verb = options.force ? "force-stop" : "stop";
    op.check = [force = options.force](const Vm& vm) {
        if (vm.state == VmState::Stopped)
            throw busy(vm, "is already stopped");
        if (vm.state == VmState::ShuttingDown && !force)
            throw busy(vm, "is already shutting down; use force to power it off now");
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
                m_inventory.setState(vm, VmState::ShuttingDown);
            else
                applyDomainState(vm.record.uuid, state);
            if (timeout > 0 && isActive(vm.state))
                armStopDeadline(vm, uid, timeout);
        };
    }
    run(caller, uuid, std::move(op), std::move(done));
}

void VmManager::armStopDeadline(Vm& vm, std::uint32_t uid, std::uint32_t timeoutSec)
{
    cancelStopDeadline(vm);
    vm.stopDeadline = m_executor.schedule(std::chrono::seconds(timeoutSec), [this, uuid = vm.record.uuid, uid,
                                                                             timeoutSec] {
        Vm* vm = m_inventory.find(uuid);
        if (!vm)
            return;
        vm->stopDeadline.reset();
        if (!isActive(vm->state) || vm->operation)
            return;
        vm->operation = "force-stop";
        auto result = std::make_shared<StepResult>();
        m_executor.submit(
            [&hv = m_hypervisor, uuid, result] {
                try {
                    hv.destroy(uuid);
                    result->state = hv.state(uuid);
                } catch (const std::exception& e) {
                    result->error = asError(e);
                }
            },
            [this, uuid, uid, timeoutSec, result] {
                Vm* vm = m_inventory.find(uuid);
                if (!vm)
                    return;
                vm->operation.reset();
                if (result->state)
                    applyDomainState(uuid, *result->state);
                if (result->error)
                    m_audit.failure(uid, &vm->record, "force-stop", *result->error);
                else
                    m_audit.success(uid, &vm->record, "force-stop",
                                    fmt::format("the guest did not power off within {} s; powered off", timeoutSec));
            });
    });
}

void VmManager::cancelStopDeadline(Vm& vm)
{
    if (vm.stopDeadline) {
        m_executor.cancel(*vm.stopDeadline);
        vm.stopDeadline.reset();
    }
}

VmManager::Operation VmManager::transition(std::string verb, VmState from, std::string_view requirement,
                                           void (Hypervisor::*call)(const std::string&))
{
    Operation op;
    op.verb = std::move(verb);
    op.check = [from, requirement](const Vm& vm) {
        if (vm.state != from)
            throw busy(vm, fmt::format("is {}; {}", stateName(vm.state), requirement));
    };
    op.work = [call](Hypervisor& hv, const std::string& id) {
        (hv.*call)(id);
        return hv.state(id);
    };
    return op;
}

void VmManager::reboot(const Caller& caller, const std::string& uuid, Done<> done)
{
    run(caller, uuid, transition("reboot", VmState::Running, "only a running VM can be rebooted", &Hypervisor::reboot),
        std::move(done));
}

void VmManager::pause(const Caller& caller, const std::string& uuid, Done<> done)
{
    run(caller, uuid, transition("pause", VmState::Running, "only a running VM can be paused", &Hypervisor::suspend),
        std::move(done));
}

void VmManager::resume(const Caller& caller, const std::string& uuid, Done<> done)
{
    run(caller, uuid, transition("resume", VmState::Paused, "only a paused VM can be resumed", &Hypervisor::resume),
        std::move(done));
}

// --- delete -----------------------------------------------------------------------------------------------------

void VmManager::remove(const Caller& caller, const std::string& uuid, DeleteOptions options, Done<> done)
{
    const Vm* found = m_inventory.find(uuid);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    authorizeVm(caller, *found, "delete", [this, caller, uuid, options, done](std::optional<Error> denied) {
        Vm* vm = m_inventory.find(uuid);
        if (!vm)
            return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
        try {
            if (denied)
                throw *denied;
            if (vm->operation)
                throw busy(*vm, fmt::format("is busy: '{}' is in progress", *vm->operation));
            if (vm->state == VmState::Creating || vm->state == VmState::Deleting)
                throw busy(*vm, fmt::format("is {}", stateName(vm->state)));
            if (isActive(vm->state) && !options.force)
                throw busy(*vm, fmt::format("is {}; stop it first or delete with force", stateName(vm->state)));
        } catch (const Error& e) {
            return fail(caller.uid, &vm->record, "delete", e, done);
        }
        startRemoval(caller, *vm, options, done);
    });
}

void VmManager::startRemoval(const Caller& caller, Vm& vm, DeleteOptions options, Done<> done)
{
    const VmState before = vm.state;
    try {
        // Recorded before touching the domain: a crash from here on is finished at the next start.
        vm.record.phase = VmPhase::Deleting;
        m_store.updateVm(vm.record);
    } catch (const Error& e) {
        vm.record.phase = VmPhase::Ready;
        return fail(caller.uid, &vm.record, "delete", e, done);
    }
    cancelStopDeadline(vm);
    vm.operation = "delete";
    m_inventory.setState(vm, VmState::Deleting);

    auto result = std::make_shared<StepResult>();
    m_executor.submit(
        [&hv = m_hypervisor, uuid = vm.record.uuid, force = options.force, result] {
            try {
                if (force && hv.state(uuid) != DomainState::Stopped)
                    hv.destroy(uuid);
                hv.undefine(uuid);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::NotFound) { // a domain already gone is what we wanted
                    result->error = e;
                    try {
                        result->state = hv.state(uuid);
                    } catch (const std::exception&) {
                    }
                }
            } catch (const std::exception& e) {
                result->error = asError(e);
            }
        },
        [this, caller, uuid = vm.record.uuid, before, result, done] {
            Vm* vm = m_inventory.find(uuid);
            if (!vm)
                return done(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
            vm->operation.reset();
            if (result->error) {
                vm->record.phase = VmPhase::Ready;
                try {
                    m_store.updateVm(vm->record);
                } catch (const Error&) { // left in Deleting: the next start finishes the deletion
                }
                m_inventory.setState(*vm, result->state ? toVmState(*result->state) : before);
                return fail(caller.uid, &vm->record, "delete", *result->error, done);
            }
            const VmRecord record = vm->record;
            try {
                m_store.deleteVm(uuid);
            } catch (const Error& e) { // the row stays in Deleting; the next start removes it
                m_audit.failure(caller.uid, &record, "delete", e);
            }
            m_inventory.remove(uuid);
            m_audit.success(caller.uid, &record, "delete", "deleted");
            done(std::monostate{});
        });
}

// --- rename -----------------------------------------------------------------------------------------------------

void VmManager::rename(const Caller& caller, const std::string& uuid, const std::string& newName, Done<> done)
{
    const Vm* found = m_inventory.find(uuid);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    try {
        validateName(newName);
    } catch (const Error& e) {
        return fail(caller.uid, &found->record, "rename", e, done);
    }
    authorizeVm(caller, *found, "rename", [this, caller, uuid, newName, done](std::optional<Error> denied) {
        Vm* vm = m_inventory.find(uuid);
        if (!vm)
            return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
        const std::string oldName = vm->record.name;
        if (!denied && oldName == newName)
            return done(std::monostate{});
        try {
            if (denied)
                throw *denied;
            if (vm->operation)
                throw busy(*vm, fmt::format("is busy: '{}' is in progress", *vm->operation));
            if (vm->state == VmState::Creating || vm->state == VmState::Deleting)
                throw busy(*vm, fmt::format("is {}", stateName(vm->state)));
            if (m_inventory.nameTaken(newName))
                throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", newName));
            VmRecord renamed = vm->record;
            renamed.name = newName;
            m_store.updateVm(renamed); // the store is the authority on names; the domain's metadata follows
        } catch (const Error& e) {
            return fail(caller.uid, &vm->record, "rename", e, done);
        }
        m_inventory.rename(*vm, newName);
        vm->operation = "rename";
        auto error = std::make_shared<std::optional<Error>>();
        m_executor.submit(
            [&hv = m_hypervisor, record = vm->record, error] {
                try {
                    hv.updateMetadata(record);
                } catch (const std::exception& e) {
                    *error = asError(e);
                }
            },
            [this, caller, uuid, oldName, error, done] {
                Vm* vm = m_inventory.find(uuid);
                if (!vm)
                    return done(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
                vm->operation.reset();
                if (*error) {
                    VmRecord reverted = vm->record;
                    reverted.name = oldName;
                    try {
                        m_store.updateVm(reverted);
                        m_inventory.rename(*vm, oldName);
                    } catch (const Error&) { // keep the new name; reconciliation rewrites the metadata later
                    }
                    return fail(caller.uid, &vm->record, "rename", **error, done);
                }
                m_audit.success(caller.uid, &vm->record, "rename",
                                fmt::format("renamed from '{}' to '{}'", oldName, vm->record.name));
                done(std::monostate{});
            });
    });
}

// --- reads ------------------------------------------------------------------------------------------------------

const Vm& VmManager::getByName(const std::string& name) const
{
    validateName(name);
    const Vm* vm = m_inventory.findByName(name);
    if (!vm)
        throw Error(ErrorCode::NotFound, fmt::format("no VM named '{}'", name));
    return *vm;
}

std::vector<const Vm*> VmManager::list(const Caller& caller, const ListFilter& filter) const
{
    std::vector<const Vm*> out;
    for (const Vm* vm : m_inventory.all()) {
        if (filter.owner) {
            if (vm->record.owner != *filter.owner)
                continue;
        } else if (!filter.all && vm->record.owner != caller.uid) {
            continue;
        }
        if (filter.state && vm->state != *filter.state)
            continue;
        out.push_back(vm);
    }
    return out;
}

void VmManager::events(const Caller& caller, const EventQuery& query, Done<std::vector<EventRecord>> done)
{
    EventFilter filter;
    try {
        if (query.vm) {
            if (const Vm* vm = m_inventory.findByName(*query.vm))
                filter.vmUuid = vm->record.uuid;
            else if (looksLikeUuid(*query.vm))
                filter.vmUuid = *query.vm;
            else
                throw Error(ErrorCode::NotFound,
                            fmt::format("no VM named {} (a deleted VM's events are found by its UUID)",
                                        quoteForMessage(*query.vm)));
        }
        filter.uid = query.uid;
        filter.sinceUsec = query.sinceUsec;
        if (query.limit) {
            if (*query.limit < 1 || *query.limit > Limits::kMaxEventLimit)
                throw Error(ErrorCode::InvalidArgument,
                            fmt::format("limit must be 1..{}, got {}", Limits::kMaxEventLimit, *query.limit));
            filter.limit = *query.limit;
        }
    } catch (const Error& e) {
        return done(e);
    }
    Caller quiet = caller;
    quiet.allowInteraction = false; // reading never prompts; a non-administrator simply sees less
    m_authorizer.check(quiet, Action::ManageAllVms, {{"verb", "events"}},
                       [this, caller, filter, done](std::optional<Error> denied) mutable {
                           if (denied)
                               filter.visibleTo = caller.uid;
                           try {
                               done(m_store.events(filter));
                           } catch (const Error& e) {
                               done(e);
                           }
                       });
}

// --- hypervisor events ------------------------------------------------------------------------------------------

bool VmManager::applyDomainState(const std::string& uuid, DomainState state)
{
    Vm* vm = m_inventory.find(uuid);
    // While an operation runs, its own completion settles the state.
    if (!vm || vm->operation || vm->state == VmState::Creating || vm->state == VmState::Deleting)
        return false;
    VmState next = toVmState(state);
    // The hypervisor keeps saying "running" until a guest that was asked to power off is off.
    if (vm->state == VmState::ShuttingDown && next == VmState::Running)
        return false;
    if (!isActive(next))
        cancelStopDeadline(*vm);
    if (vm->state == next)
        return false;
    m_inventory.setState(*vm, next);
    return true;
}

void VmManager::handleHypervisorEvent(const HypervisorEvent& event)
{
    switch (event.kind) {
    case HypervisorEvent::Kind::StateChanged:
        if (applyDomainState(event.uuid, event.state)) {
            const Vm* vm = m_inventory.find(event.uuid);
            m_audit.success(0, &vm->record, "state",
                            fmt::format("the hypervisor reports the VM {}", stateName(vm->state)));
        }
        break;
    case HypervisorEvent::Kind::Undefined: {
        Vm* vm = m_inventory.find(event.uuid);
        if (!vm || vm->operation || vm->state == VmState::Creating || vm->state == VmState::Deleting)
            break;
        cancelStopDeadline(*vm);
        m_inventory.setState(*vm, VmState::Unavailable);
        m_audit.failure(0, &vm->record, "state",
                        Error(ErrorCode::NotFound, "the domain was undefined outside Hangar; the VM is unavailable "
                                                   "until the daemon reconciles (restart or reconnect)"));
        break;
    }
    case HypervisorEvent::Kind::ConnectionLost:
    case HypervisorEvent::Kind::ConnectionRestored:
        break;
    }
}

} // namespace hangar
