#include "core/VmManager.h"

#include "core/Uuid.h"

#include <algorithm>
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

VmManager::VmManager(Inventory& inventory, Store& store, Hypervisor& hypervisor, Storage& storage, ImageManager& images,
                     Authorizer& authorizer, Executor& executor, AuditLog& audit, QuotaManager& quotas,
                     std::string hostLabel, BootDirectory bootDir)
    : m_inventory(inventory), m_store(store), m_hypervisor(hypervisor), m_storage(storage), m_images(images),
      m_authorizer(authorizer), m_executor(executor), m_audit(audit), m_quotas(quotas),
      m_hostLabel(std::move(hostLabel)), m_bootDir(std::move(bootDir)),
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

namespace {

std::string diskVolumeName(const std::string& uuid)
{
    return "vm-" + uuid + ".qcow2";
}

void requireUsable(const Image& image)
{
    if (image.record.phase != ImagePhase::Ready)
        throw Error(ErrorCode::Busy, fmt::format("image '{}' is {}; wait until it is ready", image.record.name,
                                                 imagePhaseName(image.record.phase)));
}

// The disk size of a VM made from image: at least the image's virtual size (an overlay cannot be smaller than its
// base), by default exactly that, rounded up to whole GiB. An ISO installs onto a blank disk of the requested size.
std::uint64_t diskGiBFor(const Image& image, const std::optional<std::uint64_t>& requested, std::uint64_t fallback)
{
    if (image.record.format == ImageFormat::Iso)
        return requested.value_or(fallback);
    const std::uint64_t minimum = std::max<std::uint64_t>(1, gibRoundedUp(image.record.virtualSizeBytes));
    if (!requested)
        return std::min(minimum, Limits::kMaxDiskGiB);
    if (*requested < minimum)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("disk_gib {} is smaller than image '{}' ({} GiB); give at least {} or leave it out",
                                *requested, image.record.name, minimum, minimum));
    return *requested;
}

} // namespace

void VmManager::create(const Caller& caller, const std::string& name, const VmSpecRequest& request,
                       Done<std::string> done)
{
    VmSpec spec;
    std::string imageId;
    try {
        validateName(name);
        spec = validateSpec(request);
        if (request.image) {
            const Image& image = m_images.getByName(*request.image);
            requireUsable(image);
            imageId = image.record.id;
            spec.diskGiB = diskGiBFor(image, request.diskGiB, spec.diskGiB);
        }
        if (m_inventory.nameTaken(name))
            throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", name));
    } catch (const Error& e) {
        m_audit.failure(caller.uid, name, "create", e);
        return done(e);
    }

    m_authorizer.check(
        caller, Action::CreateVm, {{"vm", name}, {"verb", "create"}},
        [this, caller, name, spec, imageId, done](std::optional<Error> denied) {
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
            m_quotas.limitsFor(caller, [this, caller, name, spec, imageId, done](Outcome<EffectiveQuota> quota) {
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
                record.diskVolume = diskVolumeName(record.uuid);
                std::function<void(Storage&)> makeDisk;
                std::string detail;
                try {
                    if (!quota.ok())
                        throw quota.error();
                    // The name may have been taken while polkit was deciding.
                    if (m_inventory.nameTaken(name))
                        throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", name));
                    if (quota.value().limits != QuotaLimits{}) // nothing to count against for the unlimited
                        checkCreate(quota.value().limits, m_quotas.usage(caller.uid), spec);
                    const std::uint64_t capacity = spec.diskGiB * kGiB;
                    makeDisk = [disk = record.diskVolume, capacity](Storage& storage) {
                        storage.createBlank(disk, capacity);
                    };
                    if (!imageId.empty()) {
                        // It may have gone or started deleting while polkit was deciding; from here on this VM
                        // counts as its user, so it cannot be deleted under the new overlay.
                        const Image* image = m_images.find(imageId);
                        if (!image)
                            throw Error(ErrorCode::NotFound, "the image was deleted meanwhile");
                        requireUsable(*image);
                        record.image = imageId;
                        detail = fmt::format(", from image {}", image->record.name);
                        if (image->record.format == ImageFormat::Iso)
                            record.cdromVolume = image->record.volume;
                        else
                            makeDisk = [disk = record.diskVolume, base = image->record.volume,
                                        capacity](Storage& storage) { storage.createOverlay(disk, base, capacity); };
                    }
                } catch (const Error& e) {
                    m_audit.failure(caller.uid, name, "create", e);
                    return done(e);
                }
                launchCreate(caller, record, std::move(makeDisk), "create", detail, done);
            });
        });
}

void VmManager::launchCreate(const Caller& caller, const VmRecord& record, std::function<void(Storage&)> makeDisk,
                             std::string verb, std::string detail, Done<std::string> done)
{
    try {
        // The phase row goes first: a crash from here on is rolled back at the next start.
        m_store.insertVm(record);
    } catch (const Error& e) {
        m_audit.failure(caller.uid, record.name, verb, e);
        return done(e);
    }
    Vm vm;
    vm.record = record;
    vm.state = VmState::Creating;
    vm.operation = verb;
    m_inventory.add(std::move(vm));

    auto error = std::make_shared<std::optional<Error>>();
    m_executor.submit(
        [&hv = m_hypervisor, &storage = m_storage, record, makeDisk = std::move(makeDisk), error] {
            try {
                try {
                    makeDisk(storage);
                } catch (const Error& e) {
                    // The VM and its image exist; a volume under them that does not is the host's problem.
                    if (e.code() != ErrorCode::NotFound)
                        throw;
                    throw Error(ErrorCode::BackendFailure, e.what());
                }
                try {
                    hv.define(record);
                } catch (const std::exception&) {
                    try {
                        storage.remove(record.diskVolume);
                    } catch (const std::exception&) { // recovery at the next start removes it
                    }
                    throw;
                }
            } catch (const std::exception& e) {
                *error = asError(e);
            }
        },
        [this, caller, uuid = record.uuid, error, verb, detail, done] {
            finishCreate(caller, uuid, *error, done, verb, detail);
        });
}

void VmManager::finishCreate(const Caller& caller, const std::string& uuid, std::optional<Error> error,
                             Done<std::string> done, const std::string& verb, const std::string& detail)
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
            // The domain exists but the record cannot say so: take it back out rather than orphan it.
            m_executor.submit(
                [&hv = m_hypervisor, &storage = m_storage, uuid, disk = vm->record.diskVolume] {
                    try {
                        hv.undefine(uuid);
                        storage.remove(disk);
                    } catch (const std::exception&) { // recovery at the next start removes them
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
        return fail(caller.uid, &record, verb, *error, done);
    }
    m_inventory.setState(*vm, VmState::Stopped);
    const auto& spec = vm->record.spec;
    m_audit.success(caller.uid, &vm->record, verb,
                    fmt::format("{} with {} vCPU, {} MiB memory, {} GiB disk{}{}",
                                verb == "clone" ? "cloned" : "created", spec.vcpus, spec.memoryMiB, spec.diskGiB,
                                detail, spec.kernel.empty() ? "" : ", booting kernel " + spec.kernel));
    done(uuid);
}

// --- clone ------------------------------------------------------------------------------------------------------

void VmManager::clone(const Caller& caller, const std::string& uuid, const std::string& newName, Done<std::string> done)
{
    const Vm* found = m_inventory.find(uuid);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    try {
        validateName(newName);
        if (m_inventory.nameTaken(newName))
            throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", newName));
    } catch (const Error& e) {
        return fail(caller.uid, &found->record, "clone", e, done);
    }
    authorizeVm(caller, *found, "clone", [this, caller, uuid, newName, done](std::optional<Error> denied) {
        const Vm* vm = m_inventory.find(uuid);
        if (!vm)
            return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
        if (denied)
            return fail(caller.uid, &vm->record, "clone", *denied, done);
        m_authorizer.check(
            caller, Action::CreateVm, {{"vm", newName}, {"verb", "clone"}},
            [this, caller, uuid, newName, done](std::optional<Error> denied) {
                const Vm* vm = m_inventory.find(uuid);
                if (!vm)
                    return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
                if (denied)
                    return fail(caller.uid, &vm->record, "clone", *denied, done);
                m_quotas.limitsFor(caller, [this, caller, uuid, newName, done](Outcome<EffectiveQuota> quota) {
                    Vm* source = m_inventory.find(uuid);
                    if (!source)
                        return done(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
                    try {
                        if (!quota.ok())
                            throw quota.error();
                        if (source->operation)
                            throw busy(*source, fmt::format("is busy: '{}' is in progress", *source->operation));
                        if (source->state != VmState::Stopped)
                            throw busy(*source,
                                       fmt::format("is {}; only a stopped VM can be cloned", stateName(source->state)));
                        if (source->record.diskVolume.empty())
                            throw Error(ErrorCode::NotSupported,
                                        fmt::format("VM '{}' has no disk to clone", source->record.name));
                        if (m_inventory.nameTaken(newName))
                            throw Error(ErrorCode::AlreadyExists,
                                        fmt::format("a VM named '{}' already exists", newName));
                        if (quota.value().limits != QuotaLimits{})
                            checkCreate(quota.value().limits, m_quotas.usage(caller.uid), source->record.spec);
                    } catch (const Error& e) {
                        return fail(caller.uid, &source->record, "clone", e, done);
                    }
                    VmRecord record;
                    record.uuid = makeUuid();
                    record.name = newName;
                    record.owner = caller.uid;
                    record.spec = source->record.spec;
                    record.createdAtUsec = m_executor.nowUsec();
                    record.host = m_hostLabel;
                    record.phase = VmPhase::Creating;
                    record.image = source->record.image;
                    record.cdromVolume = source->record.cdromVolume;
                    record.diskVolume = diskVolumeName(record.uuid);
                    // The source stays stopped and unchanged while its disk is read.
                    source->operation = "clone";
                    auto copy = [target = record.diskVolume, from = source->record.diskVolume](Storage& storage) {
                        storage.cloneOverlay(target, from, [](std::uint64_t) { return true; });
                    };
                    launchCreate(caller, record, std::move(copy), "clone",
                                 fmt::format(", from VM {}", source->record.name),
                                 [this, uuid, done](Outcome<std::string> outcome) {
                                     if (Vm* source = m_inventory.find(uuid); source && source->operation == "clone")
                                         source->operation.reset();
                                     done(std::move(outcome));
                                 });
                });
            });
    });
}

// --- snapshots --------------------------------------------------------------------------------------------------

VmManager::Operation VmManager::snapshotOperation(std::string verb,
                                                  std::function<DomainState(Hypervisor&, const std::string&)> work)
{
    Operation op;
    op.verb = std::move(verb);
    op.check = [](const Vm&) {};
    auto names = std::make_shared<std::vector<std::string>>();
    op.work = [work = std::move(work), names](Hypervisor& hv, const std::string& id) {
        const DomainState state = work(hv, id);
        names->clear();
        for (const auto& snapshot : hv.listSnapshots(id))
            names->push_back(snapshot.name);
        return state;
    };
    op.settle = [this, names](Vm& vm, DomainState state) {
        m_inventory.setSnapshots(vm, *names);
        applyDomainState(vm.record.uuid, state);
    };
    return op;
}

void VmManager::createSnapshot(const Caller& caller, const std::string& uuid, const std::string& name,
                               const std::string& description, Done<> done)
{
    const Vm* found = m_inventory.find(uuid);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    try {
        validateName(name);
        validateDescription(description);
    } catch (const Error& e) {
        return fail(caller.uid, &found->record, "snapshot-create", e, done);
    }
    Operation op = snapshotOperation("snapshot-create", [name, description](Hypervisor& hv, const std::string& id) {
        hv.createSnapshot(id, name, description);
        return hv.state(id);
    });
    op.done = fmt::format("took snapshot '{}'", name);
    op.check = [name](const Vm& vm) {
        if (std::find(vm.snapshots.begin(), vm.snapshots.end(), name) != vm.snapshots.end())
            throw Error(ErrorCode::AlreadyExists,
                        fmt::format("VM '{}' already has a snapshot named '{}'", vm.record.name, name));
        if (vm.record.diskVolume.empty())
            throw Error(ErrorCode::NotSupported,
                        fmt::format("VM '{}' has no disk to take a snapshot of", vm.record.name));
    };
    run(caller, uuid, std::move(op), std::move(done));
}

void VmManager::revertToSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
{
    Operation op = snapshotOperation(
        "snapshot-revert", [name](Hypervisor& hv, const std::string& id) { return hv.revertToSnapshot(id, name); });
    op.done = fmt::format("reverted to snapshot '{}'", name);
    op.check = [name](const Vm& vm) {
        if (std::find(vm.snapshots.begin(), vm.snapshots.end(), name) == vm.snapshots.end())
            throw Error(ErrorCode::NotFound,
                        fmt::format("VM '{}' has no snapshot named {}", vm.record.name, quoteForMessage(name)));
    };
    run(caller, uuid, std::move(op), std::move(done));
}

void VmManager::deleteSnapshot(const Caller& caller, const std::string& uuid, const std::string& name, Done<> done)
{
    Operation op = snapshotOperation("snapshot-delete", [name](Hypervisor& hv, const std::string& id) {
        hv.deleteSnapshot(id, name);
        return hv.state(id);
    });
    op.done = fmt::format("deleted snapshot '{}'", name);
    op.check = [name](const Vm& vm) {
        if (std::find(vm.snapshots.begin(), vm.snapshots.end(), name) == vm.snapshots.end())
            throw Error(ErrorCode::NotFound,
                        fmt::format("VM '{}' has no snapshot named {}", vm.record.name, quoteForMessage(name)));
    };
    run(caller, uuid, std::move(op), std::move(done));
}

void VmManager::listSnapshots(const std::string& uuid, Done<std::vector<SnapshotInfo>> done)
{
    if (!m_inventory.find(uuid))
        return done(Error(ErrorCode::NotFound, "no such VM"));
    auto result = std::make_shared<std::vector<SnapshotInfo>>();
    auto error = std::make_shared<std::optional<Error>>();
    m_executor.submit(
        [&hv = m_hypervisor, uuid, result, error] {
            try {
                *result = hv.listSnapshots(uuid);
            } catch (const std::exception& e) {
                *error = asError(e);
            }
        },
        [result, error, done] {
            if (*error)
                return done(**error);
            done(std::move(*result));
        });
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
        m_quotas.limitsFor(caller, [this, caller, uuid, op, done](Outcome<EffectiveQuota> quota) {
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
            checkStart(*limits, m_quotas.usage(vm->record.owner));
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
            m_audit.success(caller.uid, &vm->record, op.verb,
                            op.done.empty() ? fmt::format("state is now {}", stateName(vm->state))
                                            : fmt::format("{}; state is now {}", op.done, stateName(vm->state)));
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
        [&hv = m_hypervisor, &storage = m_storage, uuid = vm.record.uuid, disk = vm.record.diskVolume,
         force = options.force, result] {
            try {
                if (force && hv.state(uuid) != DomainState::Stopped)
                    hv.destroy(uuid);
                // The disk first: if that fails the VM is still whole and Delete can be tried again; a domain
                // whose disk is gone but whose undefine failed is tried again the same way.
                if (!disk.empty())
                    storage.remove(disk);
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
