#include "core/ImageManager.h"

#include "core/ImageProbe.h"
#include "core/Uuid.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {
namespace {

constexpr std::size_t kMaxUsersNamed = 5;

} // namespace

std::string imageVolumeName(const std::string& id, ImageFormat format)
{
    return fmt::format("img-{}.{}", id, formatName(format));
}

ImageManager::ImageManager(Inventory& inventory, Store& store, Storage& storage, Authorizer& authorizer,
                           Executor& executor, AuditLog& audit, JobManager& jobs, QuotaManager& quotas,
                           std::uint64_t maxImportBytes)
    : m_inventory(inventory), m_store(store), m_storage(storage), m_authorizer(authorizer), m_executor(executor),
      m_audit(audit), m_jobs(jobs), m_quotas(quotas), m_maxImportBytes(maxImportBytes)
{
    m_quotas.setImageUsage([this](std::uint32_t uid) { return diskGiBOwnedBy(uid); });
}

void ImageManager::load(std::vector<ImageRecord> images)
{
    for (auto& record : images)
        add(std::move(record));
}

Image& ImageManager::add(ImageRecord record)
{
    const std::string id = record.id;
    m_byName[record.name] = id;
    auto& slot = m_byId[id];
    slot = std::make_unique<Image>(Image{std::move(record), std::nullopt});
    if (m_observer)
        m_observer->imageAdded(*slot);
    return *slot;
}

void ImageManager::drop(const std::string& id)
{
    auto it = m_byId.find(id);
    if (it == m_byId.end())
        return;
    if (m_observer)
        m_observer->imageRemoved(*it->second);
    m_byName.erase(it->second->record.name);
    m_byId.erase(it);
}

const Image* ImageManager::find(const std::string& id) const
{
    auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : it->second.get();
}

const Image* ImageManager::findByName(const std::string& name) const
{
    auto it = m_byName.find(name);
    return it == m_byName.end() ? nullptr : find(it->second);
}

const Image& ImageManager::getByName(const std::string& name) const
{
    validateName(name);
    const Image* image = findByName(name);
    if (!image)
        throw Error(ErrorCode::NotFound, fmt::format("no image named '{}'", name));
    return *image;
}

std::vector<const Image*> ImageManager::all() const
{
    std::vector<const Image*> out;
    out.reserve(m_byName.size());
    for (const auto& [name, id] : m_byName)
        out.push_back(find(id));
    return out;
}

std::uint64_t ImageManager::diskGiBOwnedBy(std::uint32_t uid) const
{
    std::uint64_t gib = 0;
    for (const auto& [id, image] : m_byId)
        if (image->record.owner == uid)
            gib += gibRoundedUp(image->record.sizeBytes);
    return gib;
}

void ImageManager::requireFreeName(const std::string& name) const
{
    if (m_byName.count(name) != 0)
        throw Error(ErrorCode::AlreadyExists, fmt::format("an image named '{}' already exists", name));
}

// --- import -----------------------------------------------------------------------------------------------------

void ImageManager::importImage(const Caller& caller, ImportRequest request, Done<std::uint64_t> done)
{
    try {
        validateName(request.name);
        validateDescription(request.description);
        requireFreeName(request.name);
        if (!request.fd || !*request.fd)
            throw Error(ErrorCode::InvalidArgument, "no file descriptor was passed");
    } catch (const Error& e) {
        m_audit.imageFailure(caller.uid, quoteForMessage(request.name), "image-import", e);
        return done(e);
    }
    const std::string name = request.name;
    m_authorizer.check(
        caller, Action::ManageImages, {{"image", name}, {"verb", "import"}},
        [this, caller, request = std::move(request), done](std::optional<Error> denied) {
            if (denied) {
                m_audit.imageFailure(caller.uid, request.name, "image-import", *denied);
                return done(*denied);
            }
            // Reading the caller's file may block (a slow disk, a network file system): probe on a worker.
            auto probed = std::make_shared<std::optional<ProbedImage>>();
            auto error = std::make_shared<std::optional<Error>>();
            m_executor.submit(
                [fd = request.fd, max = m_maxImportBytes, probed, error] {
                    try {
                        *probed = probeImage(fd->get(), max);
                    } catch (const std::exception& e) {
                        *error = asError(e);
                    }
                },
                [this, caller, request, probed, error, done] {
                    try {
                        if (*error)
                            throw **error;
                        const ImageFormat format = (*probed)->format;
                        if (request.expectedFormat && *request.expectedFormat != format)
                            throw Error(ErrorCode::InvalidArgument,
                                        fmt::format("the file's content is {}, not {} (the format is decided from the "
                                                    "content)",
                                                    formatName(format), formatName(*request.expectedFormat)));
                    } catch (const Error& e) {
                        m_audit.imageFailure(caller.uid, request.name, "image-import", e);
                        return done(e);
                    }
                    const ProbedImage image = **probed;
                    m_quotas.limitsFor(caller, [this, caller, request, image, done](Outcome<EffectiveQuota> quota) {
                        // From the checks to the Importing row nothing yields to the loop: parallel imports cannot
                        // overshoot the quota or take the same name.
                        try {
                            if (!quota.ok())
                                throw quota.error();
                            requireFreeName(request.name);
                            if (quota.value().limits != QuotaLimits{})
                                checkDisk(quota.value().limits, m_quotas.usage(caller.uid),
                                          gibRoundedUp(image.fileBytes));
                        } catch (const Error& e) {
                            m_audit.imageFailure(caller.uid, request.name, "image-import", e);
                            return done(e);
                        }
                        ImageRecord record;
                        record.id = makeUuid();
                        record.name = request.name;
                        record.format = image.format;
                        record.sizeBytes = image.fileBytes; // counted against the quota while it uploads
                        record.virtualSizeBytes = image.virtualBytes;
                        record.owner = caller.uid;
                        record.createdAtUsec = m_executor.nowUsec();
                        record.description = request.description;
                        record.volume = imageVolumeName(record.id, image.format);
                        record.phase = ImagePhase::Importing;

                        Job job;
                        job.operation = "import-image";
                        job.startedBy = caller.uid;
                        job.adminAction = Action::ManageImages;
                        job.cancelable = true;
                        job.progressValid = true;
                        job.totalBytes = image.fileBytes;
                        job.objects = {JobTarget{JobTarget::Kind::Image, record.id}};
                        auto work = [fd = request.fd, format = image.format, bytes = image.fileBytes,
                                     volume = record.volume](Storage& storage, const ProgressFn& progress) {
                            return storage.upload(volume, format, fd->get(), bytes, progress);
                        };
                        startFill(caller, std::move(record), std::move(job), "image-import", std::move(work),
                                  std::nullopt, done);
                    });
                });
        });
}

// --- publish ----------------------------------------------------------------------------------------------------

void ImageManager::publish(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                           std::string description, Done<std::uint64_t> done)
{
    const Vm* found = m_inventory.find(vmUuid);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    try {
        validateName(imageName);
        validateDescription(description);
        requireFreeName(imageName);
    } catch (const Error& e) {
        m_audit.failure(caller.uid, &found->record, "publish", e);
        return done(e);
    }
    m_authorizer.check(
        caller, Action::ManageImages, {{"image", imageName}, {"vm", found->record.name}, {"verb", "publish"}},
        [this, caller, vmUuid, imageName, description = std::move(description), done](std::optional<Error> denied) {
            const Vm* vm = m_inventory.find(vmUuid);
            if (!vm)
                return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
            try {
                if (denied)
                    throw *denied;
                if (vm->operation)
                    throw Error(ErrorCode::Busy, fmt::format("VM '{}' is busy: '{}' is in progress", vm->record.name,
                                                             operationName(*vm->operation)));
                if (vm->state != VmState::Stopped)
                    throw Error(ErrorCode::Busy, fmt::format("VM '{}' is {}; only a stopped VM can be published",
                                                             vm->record.name, stateName(vm->state)));
                if (vm->record.diskVolume.empty())
                    throw Error(ErrorCode::NotSupported,
                                fmt::format("VM '{}' has no disk to publish", vm->record.name));
            } catch (const Error& e) {
                m_audit.failure(caller.uid, &vm->record, "publish", e);
                return done(e);
            }
            m_quotas.limitsFor(caller, [this, caller, vmUuid, imageName, description,
                                        done](Outcome<EffectiveQuota> quota) {
                Vm* vm = m_inventory.find(vmUuid);
                if (!vm)
                    return done(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
                try {
                    if (!quota.ok())
                        throw quota.error();
                    requireFreeName(imageName);
                    if (vm->operation || vm->state != VmState::Stopped)
                        throw Error(ErrorCode::Busy,
                                    fmt::format("VM '{}' is no longer stopped and idle", vm->record.name));
                    if (quota.value().limits != QuotaLimits{})
                        checkDisk(quota.value().limits, m_quotas.usage(caller.uid), vm->record.spec.diskGiB);
                } catch (const Error& e) {
                    m_audit.failure(caller.uid, &vm->record, "publish", e);
                    return done(e);
                }
                ImageRecord record;
                record.id = makeUuid();
                record.name = imageName;
                record.format = ImageFormat::Qcow2;
                // Reserved at the VM's disk size until the copy says what it really takes.
                record.sizeBytes = vm->record.spec.diskGiB * kGiB;
                record.virtualSizeBytes = vm->record.spec.diskGiB * kGiB;
                record.owner = caller.uid;
                record.createdAtUsec = m_executor.nowUsec();
                record.description =
                    description.empty() ? fmt::format("published from VM {}", vm->record.name) : description;
                record.volume = imageVolumeName(record.id, ImageFormat::Qcow2);
                record.phase = ImagePhase::Importing;

                Job job;
                job.operation = "publish";
                job.startedBy = caller.uid;
                job.adminAction = Action::ManageImages;
                job.cancelable = false; // libvirt copies the volume in one call that cannot be interrupted
                job.progressValid = false;
                job.objects = {JobTarget{JobTarget::Kind::Image, record.id}, JobTarget{JobTarget::Kind::Vm, vmUuid}};
                auto work = [source = vm->record.diskVolume, volume = record.volume](Storage& storage,
                                                                                     const ProgressFn& progress) {
                    return storage.flatten(volume, source, progress);
                };
                startFill(caller, std::move(record), std::move(job), "publish", std::move(work), vmUuid, done);
            });
        });
}

// --- the common part of import and publish ----------------------------------------------------------------------

void ImageManager::startFill(const Caller& caller, ImageRecord record, Job job, std::string verb,
                             std::function<VolumeInfo(Storage&, const ProgressFn&)> work,
                             std::optional<std::string> vmUuid, Done<std::uint64_t> done)
{
    try {
        // The phase row goes first: a crash from here on is rolled back at the next start.
        m_store.insertImage(record);
    } catch (const Error& e) {
        m_audit.imageFailure(caller.uid, record.name, verb, e);
        return done(e);
    }
    const std::string id = record.id;
    const std::string volume = record.volume;
    Image& image = add(std::move(record));
    const Job& started = m_jobs.start(std::move(job));
    image.job = started.id;
    if (vmUuid)
        if (Vm* vm = m_inventory.find(*vmUuid))
            m_inventory.setOperation(*vm, VmOperation::Publish);

    auto result = std::make_shared<std::optional<VolumeInfo>>();
    auto error = std::make_shared<std::optional<Error>>();
    m_executor.submit(
        [&storage = m_storage, work = std::move(work), shared = started.shared, volume, result, error] {
            const ProgressFn progress = [shared](std::uint64_t bytesDone) {
                shared->bytesDone = bytesDone;
                return !shared->cancelRequested.load();
            };
            try {
                *result = work(storage, progress);
                if (shared->cancelRequested) // asked too late to stop the copy: still undo it
                    throw Error(ErrorCode::Cancelled, "cancelled");
            } catch (const std::exception& e) {
                *error = asError(e);
                try {
                    storage.remove(volume);       // the storage cleans up after itself; this covers a late cancel
                } catch (const std::exception&) { // recovery at the next start removes it
                }
            }
        },
        [this, caller, id, verb, vmUuid, result, error] { settleFill(caller, id, verb, vmUuid, *result, *error); });
    done(started.id);
}

void ImageManager::settleFill(const Caller& caller, const std::string& id, const std::string& verb,
                              const std::optional<std::string>& vmUuid, const std::optional<VolumeInfo>& volume,
                              const std::optional<Error>& failed)
{
    if (vmUuid)
        if (Vm* vm = m_inventory.find(*vmUuid); vm && vm->operation == VmOperation::Publish)
            m_inventory.clearOperation(*vm);
    auto it = m_byId.find(id);
    if (it == m_byId.end())
        return;
    Image& image = *it->second;
    const std::uint64_t jobId = image.job.value_or(0);
    image.job.reset();
    std::optional<Error> error = failed;
    if (!error && volume) {
        ImageRecord ready = image.record;
        ready.phase = ImagePhase::Ready;
        ready.sizeBytes = volume->allocationBytes;
        ready.virtualSizeBytes = volume->capacityBytes;
        try {
            m_store.updateImage(ready);
            image.record = ready;
        } catch (const Error& e) {
            error = e;
            m_executor.submit(
                [&storage = m_storage, name = image.record.volume] {
                    try {
                        storage.remove(name);
                    } catch (const std::exception&) { // the Importing row is rolled back at the next start
                    }
                },
                [] {});
        }
    }
    const std::string name = image.record.name;
    if (error) {
        try {
            m_store.deleteImage(id);
        } catch (const Error&) { // left in Importing: the next start removes it
        }
        drop(id);
        m_audit.imageFailure(caller.uid, name, verb, *error);
        m_jobs.finish(jobId, false, error->what());
        return;
    }
    if (m_observer)
        m_observer->imageChanged(image, static_cast<ImageFields>(ImageField::State) |
                                            static_cast<ImageFields>(ImageField::Sizes));
    m_audit.imageSuccess(caller.uid, name, verb,
                         fmt::format("{} image of {} bytes ({} bytes virtual)", formatName(image.record.format),
                                     image.record.sizeBytes, image.record.virtualSizeBytes));
    if (vmUuid) // also in the VM's own trail, so its events say what became of it
        if (const Vm* vm = m_inventory.find(*vmUuid))
            m_audit.success(caller.uid, &vm->record, verb, fmt::format("published as image '{}'", name));
    m_jobs.finish(jobId, true, "");
}

// --- delete -----------------------------------------------------------------------------------------------------

void ImageManager::remove(const Caller& caller, const std::string& id, Done<> done)
{
    const Image* found = find(id);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such image"));
    m_authorizer.check(
        caller, Action::ManageImages, {{"image", found->record.name}, {"verb", "delete"}},
        [this, caller, id, done](std::optional<Error> denied) {
            auto it = m_byId.find(id);
            if (it == m_byId.end())
                return done(Error(ErrorCode::NotFound, "the image was deleted while authorization was pending"));
            Image& image = *it->second;
            try {
                if (denied)
                    throw *denied;
                if (image.record.phase == ImagePhase::Importing)
                    throw Error(ErrorCode::Busy, fmt::format("image '{}' is still being filled; cancel its job first",
                                                             image.record.name));
                if (image.record.phase == ImagePhase::Deleting)
                    throw Error(ErrorCode::Busy, fmt::format("image '{}' is being deleted", image.record.name));
                if (const auto users = m_inventory.madeFrom(id); !users.empty()) {
                    std::string names;
                    for (std::size_t i = 0; i < users.size() && i < kMaxUsersNamed; ++i)
                        names += (i == 0 ? "" : ", ") + users[i]->record.name;
                    if (users.size() > kMaxUsersNamed)
                        names += fmt::format(" and {} more", users.size() - kMaxUsersNamed);
                    throw Error(ErrorCode::Busy,
                                fmt::format("image '{}' is used by {} VM{}: {}; delete {} first", image.record.name,
                                            users.size(), users.size() == 1 ? "" : "s", names,
                                            users.size() == 1 ? "it" : "them"));
                }
                ImageRecord deleting = image.record;
                deleting.phase = ImagePhase::Deleting;
                // Recorded before the volume goes: a crash from here on is finished at the next start.
                m_store.updateImage(deleting);
                image.record = deleting;
            } catch (const Error& e) {
                m_audit.imageFailure(caller.uid, image.record.name, "image-delete", e);
                return done(e);
            }
            if (m_observer)
                m_observer->imageChanged(image, static_cast<ImageFields>(ImageField::State));
            auto error = std::make_shared<std::optional<Error>>();
            m_executor.submit(
                [&storage = m_storage, volume = image.record.volume, error] {
                    try {
                        storage.remove(volume);
                    } catch (const std::exception& e) {
                        *error = asError(e);
                    }
                },
                [this, caller, id, error, done] {
                    auto it = m_byId.find(id);
                    if (it == m_byId.end())
                        return done(Error(ErrorCode::NotFound, "the image disappeared meanwhile"));
                    Image& image = *it->second;
                    const std::string name = image.record.name;
                    if (*error) {
                        ImageRecord ready = image.record;
                        ready.phase = ImagePhase::Ready;
                        try {
                            m_store.updateImage(ready);
                            image.record = ready;
                        } catch (const Error&) { // left in Deleting: the next start finishes the deletion
                        }
                        if (m_observer)
                            m_observer->imageChanged(image, static_cast<ImageFields>(ImageField::State));
                        m_audit.imageFailure(caller.uid, name, "image-delete", **error);
                        return done(**error);
                    }
                    try {
                        m_store.deleteImage(id);
                    } catch (const Error& e) { // the row stays in Deleting; the next start removes it
                        m_audit.imageFailure(caller.uid, name, "image-delete", e);
                    }
                    drop(id);
                    m_audit.imageSuccess(caller.uid, name, "image-delete", "deleted");
                    done(std::monostate{});
                });
        });
}

} // namespace hangar
