#include "core/VmCreation.h"

#include "core/CloudInit.h"
#include "core/FaultPoints.h"
#include "core/Uuid.h"
#include "core/VmLifetime.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hangar {
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

// What a VM of the image's OS needs (core/OsCatalog.h), for the figures the caller left out, within the ranges
// validateSpec allows. Nothing for an image of unknown OS.
OsResources osDefaults(ImageManager& images, const Image& image)
{
    const auto os = image.record.os.empty() ? std::nullopt : images.osCatalog().catalog().lookup(image.record.os);
    if (!os)
        return {};
    OsResources r = defaultResources(*os);
    if (r.vcpus)
        r.vcpus = std::clamp(*r.vcpus, Limits::kMinVcpus, Limits::kMaxVcpus);
    if (r.memoryMiB)
        r.memoryMiB = std::clamp(*r.memoryMiB, Limits::kMinMemoryMiB, Limits::kMaxMemoryMiB);
    if (r.diskGiB)
        r.diskGiB = std::clamp(*r.diskGiB, Limits::kMinDiskGiB, Limits::kMaxDiskGiB);
    return r;
}

// The disk size of a VM made from image: at least the image's virtual size (an overlay cannot be smaller than its
// base), by default exactly that, rounded up to whole GiB, or what its OS needs when that is more. An ISO installs
// onto a blank disk of the requested size, by default what its OS needs.
std::uint64_t diskGiBFor(const Image& image, const std::optional<std::uint64_t>& requested,
                         const std::optional<std::uint64_t>& forOs, std::uint64_t fallback)
{
    if (image.record.format == ImageFormat::Iso)
        return requested.value_or(forOs.value_or(fallback));
    const std::uint64_t minimum = std::max<std::uint64_t>(1, gibRoundedUp(image.record.virtualSizeBytes));
    if (!requested)
        return std::min(std::max(minimum, forOs.value_or(0)), Limits::kMaxDiskGiB);
    if (*requested < minimum)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("disk_gib {} is smaller than image '{}' ({} GiB); give at least {} or leave it out",
                                *requested, image.record.name, minimum, minimum));
    return *requested;
}

// Writes the VM's seed ISO into its volume: instance-id is the VM's UUID, so a clone (a new UUID) is provisioned
// again by cloud-init. On a worker.
void writeSeed(const SeedBuilder& seeds, Storage& storage, const VmRecord& record)
{
    storage.writeRaw(record.seedVolume,
                     seeds.buildIso(kSeedVolumeLabel, seedFiles(record.provisioning, record.uuid, record.name)));
}

void removeQuietly(Storage& storage, const std::string& volume)
{
    if (volume.empty())
        return;
    try {
        storage.remove(volume);
    } catch (const std::exception&) { // recovery at the next start removes it
    }
}

// ", with a cloud-init seed (users a, b; packages p, q)": names only, never keys, hashes, commands or contents.
std::string seedDetail(const Provisioning& p)
{
    if (p.empty())
        return "";
    std::string detail = ", with a cloud-init seed";
    std::vector<std::string> parts;
    if (!p.users.empty())
        parts.push_back(fmt::format("users {}", fmt::join(p.userNames(), ", ")));
    if (!p.packages.empty())
        parts.push_back(fmt::format("packages {}", fmt::join(p.packages, ", ")));
    if (!parts.empty())
        detail += fmt::format(" ({})", fmt::join(parts, "; "));
    return detail;
}

} // namespace

void VmCreation::requireSeeds(const Provisioning& provisioning) const
{
    validateProvisioning(provisioning);
    if (!provisioning.empty() && !m_ctx.seeds)
        throw Error(ErrorCode::NotSupported, "this hangard cannot write cloud-init seeds");
}

void VmCreation::addSeed(VmRecord& record, const Provisioning& provisioning)
{
    record.provisioning = provisioning;
    if (!provisioning.empty())
        record.seedVolume = seedVolumeName(record.uuid);
}

void requireFreeVmName(const Inventory& inventory, const std::string& name)
{
    if (inventory.nameTaken(name))
        throw Error(ErrorCode::AlreadyExists, fmt::format("a VM named '{}' already exists", name));
}

VmRecord VmCreation::newRecord(const Caller& caller, const std::string& name, const VmSpec& spec) const
{
    VmRecord record;
    record.uuid = makeUuid();
    record.name = name;
    record.owner = caller.uid;
    record.spec = spec;
    record.createdAtUsec = m_ctx.executor.nowUsec();
    record.host = m_ctx.hostLabel;
    record.phase = VmPhase::Creating;
    record.diskVolume = diskVolumeName(record.uuid);
    return record;
}

void VmCreation::create(const Caller& caller, const std::string& name, const VmSpecRequest& request,
                        const Done<std::string>& done)
{
    if (!request.image) {
        createKnownOs(caller, name, request, done);
        return;
    }
    // The defaults of the image's OS come from the OS database, which the start-up may still be loading on a worker.
    m_ctx.images.osCatalog().whenLoaded([=, this] { createKnownOs(caller, name, request, done); });
}

void VmCreation::createKnownOs(const Caller& caller, const std::string& name, const VmSpecRequest& request,
                               const Done<std::string>& done)
{
    // No VM yet: failures up to the new row are recorded by the name asked for.
    const Ticket ticket = OperationRunner::open(caller, {}, VmOperation::Create, done);
    ticket->vmName = name;
    VmSpec spec;
    std::string imageId;
    const bool valid = m_ctx.runner.attempt(ticket, [&] {
        validateName(name);
        spec = validateSpec(request);
        requireSeeds(request.provisioning);
        validateTtl(request.ttlSec);
        if (request.image) {
            const Image& image = m_ctx.images.getByName(*request.image);
            requireUsable(image);
            imageId = image.record.id;
            const OsResources forOs = osDefaults(m_ctx.images, image);
            if (!request.vcpus && forOs.vcpus)
                spec.vcpus = *forOs.vcpus;
            if (!request.memoryMiB && forOs.memoryMiB)
                spec.memoryMiB = *forOs.memoryMiB;
            spec.diskGiB = diskGiBFor(image, request.diskGiB, forOs.diskGiB, spec.diskGiB);
        }
        requireFreeVmName(m_ctx.inventory, name);
    });
    if (!valid)
        return;

    m_ctx.runner.authorizeAction(ticket, Action::CreateVm, {{"vm", name}, {"verb", "create"}}, [=, this] {
        // After authorization, so that who may not create cannot probe what the boot directory holds.
        if (!m_ctx.runner.attempt(ticket, [&] { m_ctx.bootDir.requireFiles(spec); }))
            return;
        admitNewVm(m_ctx, caller, request.ttlSec, [=, this](const Outcome<std::int64_t>& admitted) {
            if (!admitted.ok())
                return m_ctx.runner.fail(ticket, admitted.error());
            reserve(ticket, caller, name, spec, imageId, request.provisioning, request.ephemeral.value_or(false),
                    admitted.value(), done);
        });
    });
}

void VmCreation::reserve(const Ticket& ticket, const Caller& caller, const std::string& name, const VmSpec& spec,
                         const std::string& imageId, const Provisioning& provisioning, bool ephemeral,
                         std::int64_t expiresAt, const Done<std::string>& done)
{
    m_ctx.quotas.limitsFor(caller, [=, this](Outcome<EffectiveQuota> quota) {
        // From here to the reservation nothing yields to the loop: the quota check and the new row that
        // counts against it are one step, so parallel creates cannot overshoot.
        VmRecord record = newRecord(caller, name, spec);
        addSeed(record, provisioning);
        record.ephemeral = ephemeral;
        record.expiresAt = expiresAt;
        std::function<void(Storage&)> makeDisk;
        std::string detail;
        const bool allowed = m_ctx.runner.attempt(ticket, [&] {
            if (!quota.ok())
                throw quota.error();
            requireFreeVmName(m_ctx.inventory, name);  // it may have been taken while polkit was deciding
            if (quota.value().limits != QuotaLimits{}) // nothing to count against for the unlimited
                checkCreate(quota.value().limits, m_ctx.quotas.usage(caller.uid), spec);
            const std::uint64_t capacity = spec.diskGiB * kGiB;
            makeDisk = [disk = record.diskVolume, capacity](Storage& storage) { storage.createBlank(disk, capacity); };
            if (!imageId.empty()) {
                // It may have gone or started deleting while polkit was deciding; from here on this VM
                // counts as its user, so it cannot be deleted under the new overlay.
                const Image* image = m_ctx.images.find(imageId);
                if (!image)
                    throw Error(ErrorCode::NotFound, "the image was deleted meanwhile");
                requireUsable(*image);
                record.image = imageId;
                detail = fmt::format(", from image {}", image->record.name);
                if (image->record.format == ImageFormat::Iso)
                    record.cdromVolume = image->record.volume;
                else
                    makeDisk = [disk = record.diskVolume, base = image->record.volume, capacity](Storage& storage) {
                        storage.createOverlay(disk, base, capacity);
                    };
            }
        });
        if (allowed)
            launch(caller, VmOperation::Create, record, std::move(makeDisk), detail + seedDetail(record.provisioning),
                   done);
    });
}

void VmCreation::launch(const Caller& caller, VmOperation kind, const VmRecord& record,
                        std::function<void(Storage&)> makeDisk, const std::string& detail,
                        const Done<std::string>& done)
{
    const Ticket ticket = OperationRunner::open(caller, {}, kind, done);
    ticket->vmName = record.name;
    // The phase row goes first: a crash from here on is rolled back at the next start.
    if (!m_ctx.runner.attempt(ticket, [&] { m_ctx.store.insertVm(record); }))
        return;
    const bool clone = kind == VmOperation::Clone;
    if (clone)
        HANGAR_FAULT_POINT(CloneRowWritten);
    else
        HANGAR_FAULT_POINT(CreateRowWritten);
    ticket->uuid = record.uuid;
    ticket->accept = [done, uuid = record.uuid] { done(uuid); };
    Vm vm;
    vm.record = record;
    vm.state = VmState::Creating;
    m_ctx.runner.mark(ticket, m_ctx.inventory.add(std::move(vm)));

    m_ctx.runner.step<std::monostate>(
        ticket,
        [&hv = m_ctx.hypervisor, &storage = m_ctx.storage, seeds = m_ctx.seeds, record, clone,
         makeDisk = std::move(makeDisk)] {
            try {
                makeDisk(storage);
            } catch (const Error& e) {
                // The VM and its image exist; a volume under them that does not is the host's problem.
                if (e.code() != ErrorCode::NotFound)
                    throw;
                throw Error(ErrorCode::BackendFailure, e.what());
            }
            if (clone)
                HANGAR_FAULT_POINT(CloneVolumeCopied);
            else
                HANGAR_FAULT_POINT(CreateVolumeMade);
            try {
                // The seed's name is in the Creating row already: a crash from here on removes it at the next start.
                if (!record.seedVolume.empty()) {
                    if (!seeds)
                        throw Error(ErrorCode::NotSupported, "this hangard cannot write cloud-init seeds");
                    writeSeed(*seeds, storage, record);
                    if (!clone) // a clone's seed comes with the clone's points
                        HANGAR_FAULT_POINT(CreateSeedWritten);
                }
                hv.define(record);
                if (clone)
                    HANGAR_FAULT_POINT(CloneDefined);
                else
                    HANGAR_FAULT_POINT(CreateDefined);
            } catch (const std::exception&) {
                removeQuietly(storage, record.seedVolume);
                removeQuietly(storage, record.diskVolume);
                throw;
            }
            return std::monostate{};
        },
        [this, ticket, detail](Vm& vm, const Outcome<std::monostate>& outcome) {
            settle(ticket, vm, outcome.ok() ? std::nullopt : std::optional<Error>(outcome.error()), detail);
        },
        Error(ErrorCode::BackendFailure, "the VM disappeared while it was being created"));
}

void VmCreation::settle(const Ticket& ticket, Vm& vm, const std::optional<Error>& failed, const std::string& detail)
{
    std::optional<Error> error = failed;
    if (!error) {
        if (ticket->kind == VmOperation::Create)
            HANGAR_FAULT_POINT(CreateBeforeReady);
        try {
            m_ctx.inventory.setPhase(vm, VmPhase::Ready);
            m_ctx.store.updateVm(vm.record);
        } catch (const Error& e) {
            error = e;
            // The domain exists but the record cannot say so: take it back out rather than orphan it.
            m_ctx.executor.submit(
                [&hv = m_ctx.hypervisor, &storage = m_ctx.storage, uuid = vm.record.uuid, disk = vm.record.diskVolume,
                 seed = vm.record.seedVolume] {
                    try {
                        hv.undefine(uuid);
                        storage.remove(disk);
                        removeQuietly(storage, seed);
                    } catch (const std::exception&) { // recovery at the next start removes them
                    }
                },
                [] {});
        }
    }
    if (error) {
        const VmRecord record = vm.record;
        try {
            m_ctx.store.deleteVm(record.uuid);
        } catch (const Error&) { // the Creating row is rolled back at the next start
        }
        m_ctx.inventory.remove(record.uuid);
        return m_ctx.runner.fail(ticket, *error, &record);
    }
    m_ctx.inventory.setState(vm, VmState::Stopped);
    const auto& spec = vm.record.spec;
    m_ctx.runner.succeed(ticket, vm.record,
                         fmt::format("{} with {} vCPU, {} MiB memory, {} GiB disk{}{}",
                                     ticket->kind == VmOperation::Clone ? "cloned" : "created", spec.vcpus,
                                     spec.memoryMiB, spec.diskGiB, detail,
                                     spec.kernel.empty() ? "" : ", booting kernel " + spec.kernel));
}

} // namespace hangar
