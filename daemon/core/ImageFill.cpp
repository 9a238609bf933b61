#include "core/ImageFill.h"

#include "core/CopyWatch.h"
#include "core/FaultPoints.h"
#include "core/ImageProbe.h"
#include "core/Uuid.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {
namespace {

// A new image record for caller, in phase Importing until its volume is filled.
ImageRecord newImage(const Caller& caller, const std::string& name, ImageFormat format, std::int64_t nowUsec)
{
    ImageRecord record;
    record.id = makeUuid();
    record.name = name;
    record.format = format;
    record.owner = caller.uid;
    record.createdAtUsec = nowUsec;
    record.volume = imageVolumeName(record.id, format);
    record.phase = ImagePhase::Importing;
    return record;
}

// The OS an option names: "" is none, anything else must be known to the catalogue (which it may load: on the
// loop only once loaded).
OsInfo chosenOs(const OsCatalog& catalog, const std::string& option)
{
    return option.empty() ? OsInfo{} : requireKnownOs(catalog, option, "os");
}

// What the worker found in the caller's file.
struct ProbedMedium
{
    ProbedImage image;
    OsInfo os; // as given (checked against the catalogue) or identified from an ISO; empty = none
};

Job newJob(const Caller& caller, std::string operation, bool cancelable, std::vector<JobTarget> objects)
{
    Job job;
    job.operation = std::move(operation);
    job.startedBy = caller.uid;
    job.adminAction = Action::ManageImages;
    job.cancelable = cancelable;
    job.progressValid = cancelable; // both follow from whether the copy reports as it goes
    job.objects = std::move(objects);
    return job;
}

} // namespace

void ImageFill::importImage(const Caller& caller, ImportRequest request, const Done<std::uint64_t>& done)
{
    // Until the name is known to be valid, the trail quotes it as given.
    const ImageTicketPtr ticket = ImageRunner::open(caller, "image-import", quoteForMessage(request.name), done);
    const bool valid = m_ctx.runner.attempt(ticket, [&] {
        validateName(request.name);
        validateDescription(request.description);
        if (request.os && !request.os->empty())
            requireOsIdForm(*request.os, "os"); // whether the database knows it is asked on the worker
        m_ctx.catalogue.requireFreeName(request.name);
        if (!request.fd || !*request.fd)
            throw Error(ErrorCode::InvalidArgument, "no file descriptor was passed");
    });
    if (!valid)
        return;
    ticket->imageName = request.name;
    const std::string name = request.name;
    m_ctx.runner.authorize(ticket, {{"image", name}, {"verb", "import"}}, [this, ticket, request, done] {
        // Reading the caller's file may block (a slow disk, a network file system) or never return (a stalled FUSE
        // file), and so may the OS database's first load: check the OS, probe the file and identify its OS on the
        // long-I/O pool, watched, so the caller gets an answer whatever the file does.
        auto watch = std::make_shared<std::shared_ptr<CopyWatch>>();
        const auto probe = runLong<ProbedMedium>(
            m_ctx.executor,
            [fd = request.fd, max = m_ctx.maxImportBytes, os = request.os, &catalog = m_ctx.osGate.catalog()] {
                ProbedMedium medium;
                if (os)
                    medium.os = chosenOs(catalog, *os); // before the file is read: a refusal reads nothing
                medium.image = probeImage(fd->get(), max);
                if (!os && medium.image.format == ImageFormat::Iso)
                    medium.os = catalog.identify(fd->get()).value_or(OsInfo{});
                return medium;
            },
            [this, ticket, request, done, watch](Outcome<ProbedMedium> probed) {
                if (!(*watch)->finished())
                    return; // given up on already: the caller has had the error
                const bool usable = m_ctx.runner.attempt(ticket, [&] {
                    if (!probed.ok())
                        throw probed.error();
                    const ImageFormat format = probed.value().image.format;
                    if (request.expectedFormat && *request.expectedFormat != format)
                        throw Error(ErrorCode::InvalidArgument,
                                    fmt::format("the file's content is {}, not {} (the format is decided from the "
                                                "content)",
                                                formatName(format), formatName(*request.expectedFormat)));
                    // A usable file on a backend that cannot take it: refused here, before any image or job.
                    m_ctx.storage.requireUploads();
                });
                if (!usable)
                    return;
                const ProbedImage image = probed.value().image;
                const OsInfo os = probed.value().os;
                m_ctx.quotas.limitsFor(ticket->caller, [this, ticket, request, image, os,
                                                        done](Outcome<EffectiveQuota> quota) {
                    // From the checks to the Importing row nothing yields to the loop: parallel imports cannot
                    // overshoot the quota or take the same name.
                    const bool allowed = m_ctx.runner.attempt(ticket, [&] {
                        if (!quota.ok())
                            throw quota.error();
                        m_ctx.catalogue.requireFreeName(request.name);
                        if (quota.value().limits != QuotaLimits{})
                            checkDisk(quota.value().limits, m_ctx.quotas.usage(ticket->caller.uid),
                                      gibRoundedUp(image.fileBytes));
                    });
                    if (!allowed)
                        return;
                    ImageRecord record = newImage(ticket->caller, request.name, image.format, m_ctx.executor.nowUsec());
                    record.sizeBytes = image.fileBytes; // counted against the quota while it uploads
                    record.virtualSizeBytes = image.virtualBytes;
                    record.description = request.description;
                    record.os = os.shortId;
                    record.osName = os.name;
                    Job job =
                        newJob(ticket->caller, "import-image", true, {JobTarget{JobTarget::Kind::Image, record.id}});
                    job.totalBytes = image.fileBytes;
                    auto work = [fd = request.fd, image, volume = record.volume](Storage& storage,
                                                                                 const ProgressFn& progress) {
                        auto info = storage.upload(volume, image.format, fd->get(), image.fileBytes, progress);
                        requireUnchanged(fd->get(), image); // the caller may have changed it meanwhile
                        return info;
                    };
                    start(ticket, std::move(record), std::move(job), std::move(work), nullptr, done);
                });
            });
        *watch = CopyWatch::start(m_ctx.executor, probe, nullptr, m_ctx.stallTimeout, "reading the file",
                                  [this, ticket](const Error& error) { m_ctx.runner.fail(ticket, error); });
    });
}

void ImageFill::publish(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                        const std::string& description, const std::optional<std::string>& os,
                        const Done<std::uint64_t>& done)
{
    if (!os || os->empty()) {
        publishKnownOs(caller, vmUuid, imageName, description, os, done);
        return;
    }
    // An OS named by the caller is looked up in the database, which the start-up may still be loading on a worker.
    m_ctx.osGate.whenLoaded([=, this] { publishKnownOs(caller, vmUuid, imageName, description, os, done); });
}

void ImageFill::publishKnownOs(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                               const std::string& description, const std::optional<std::string>& os,
                               const Done<std::uint64_t>& done)
{
    const Ticket vm = OperationRunner::open(caller, vmUuid, VmOperation::Publish, done);
    if (!m_ctx.vmRunner.findOrLose(vm))
        return;
    OsInfo chosen;
    const bool valid = m_ctx.vmRunner.attempt(vm, [&] {
        validateName(imageName);
        validateDescription(description);
        if (os)
            chosen = chosenOs(m_ctx.osGate.catalog(), *os);
        m_ctx.catalogue.requireFreeName(imageName);
    });
    if (!valid)
        return;
    const AuthDetails details{{"image", imageName}, {"vm", m_ctx.vmRunner.find(vm)->record.name}, {"verb", "publish"}};
    m_ctx.vmRunner.authorizeOnVm(vm, Action::ManageImages, details, [=, this](Vm& source) {
        const bool allowed = m_ctx.vmRunner.guard(vm, source, Guard::NotBusy, [](const Vm& source) {
            if (source.state != VmState::Stopped)
                throw vmBusy(source, fmt::format("is {}; only a stopped VM can be published", stateName(source.state)));
            if (source.record.diskVolume.empty())
                throw Error(ErrorCode::NotSupported, fmt::format("VM '{}' has no disk to publish", source.record.name));
        });
        if (!allowed)
            return;
        m_ctx.vmRunner.withQuota(vm, [=, this](Vm& source, const QuotaLimits& limits) {
            const bool stillAllowed = m_ctx.vmRunner.attempt(vm, [&] {
                m_ctx.catalogue.requireFreeName(imageName);
                if (source.operation || source.state != VmState::Stopped)
                    throw vmBusy(source, "is no longer stopped and idle");
                if (limits != QuotaLimits{})
                    checkDisk(limits, m_ctx.quotas.usage(vm->caller.uid), source.record.spec.diskGiB);
            });
            if (!stillAllowed)
                return;
            ImageRecord record = newImage(vm->caller, imageName, ImageFormat::Qcow2, m_ctx.executor.nowUsec());
            // Reserved at the VM's disk size until the copy says what it really takes.
            record.sizeBytes = source.record.spec.diskGiB * kGiB;
            record.virtualSizeBytes = source.record.spec.diskGiB * kGiB;
            record.description =
                description.empty() ? fmt::format("published from VM {}", source.record.name) : description;
            // Made from an image, the VM runs that image's OS unless the caller says otherwise.
            if (os) {
                record.os = chosen.shortId;
                record.osName = chosen.name;
            } else if (const Image* base = m_ctx.catalogue.find(source.record.image)) {
                record.os = base->record.os;
                record.osName = base->record.osName;
            }
            // libvirt copies the volume in one call that cannot be interrupted: not cancelable, no progress.
            Job job = newJob(vm->caller, "publish", false,
                             {JobTarget{JobTarget::Kind::Image, record.id}, JobTarget{JobTarget::Kind::Vm, vmUuid}});
            auto work = [from = source.record.diskVolume, volume = record.volume](Storage& storage,
                                                                                  const ProgressFn& progress) {
                return storage.flatten(volume, from, progress);
            };
            // From here the trail of a failure is the new image's.
            const ImageTicketPtr image = ImageRunner::open(vm->caller, "publish", imageName, done);
            start(image, std::move(record), std::move(job), std::move(work), vm, done);
        });
    });
}

void ImageFill::start(const ImageTicketPtr& ticket, ImageRecord record, Job job, Work work, const Ticket& vm,
                      const Done<std::uint64_t>& done)
{
    // The phase row goes first: a crash from here on is rolled back at the next start.
    if (!m_ctx.runner.attempt(ticket, [&] { m_ctx.store.insertImage(record); }))
        return;
    const bool published = vm != nullptr;
    if (published)
        HANGAR_FAULT_POINT(PublishRowWritten);
    else
        HANGAR_FAULT_POINT(ImportRowWritten);
    const std::string id = record.id;
    const std::string volume = record.volume;
    Image& image = m_ctx.catalogue.add(std::move(record));
    const Job& started = m_ctx.jobs.start(std::move(job));
    m_ctx.catalogue.setJob(image, started.id);
    if (vm)
        if (Vm* source = m_ctx.vmRunner.find(vm))
            m_ctx.vmRunner.mark(vm, *source);
    // The caller's answer is the job (below); from here the job carries the outcome, and the trail records it.
    ticket->reject = [](const Error&) {};

    auto watch = std::make_shared<std::shared_ptr<CopyWatch>>();
    const auto copy = runLong<VolumeInfo>(
        m_ctx.executor,
        [&storage = m_ctx.storage, work = std::move(work), shared = started.shared, volume, published] {
            const ProgressFn progress = [shared, published](std::uint64_t bytesDone) {
                if (!published) // libvirtd's upload stream is open, part of the file in the volume
                    HANGAR_FAULT_POINT(ImportCopying);
                shared->bytesDone = bytesDone;
                return !shared->cancelRequested.load();
            };
            try {
                VolumeInfo filled = work(storage, progress);
                if (published)
                    HANGAR_FAULT_POINT(PublishVolumeCopied);
                else
                    HANGAR_FAULT_POINT(ImportVolumeFilled);
                if (shared->cancelRequested) // asked too late to stop the copy: still undo it
                    throw Error(ErrorCode::Cancelled, "cancelled");
                return filled;
            } catch (const std::exception&) {
                try {
                    storage.remove(volume);       // the storage cleans up after itself; this covers a late cancel
                } catch (const std::exception&) { // recovery at the next start removes it
                }
                throw;
            }
        },
        [this, ticket, id, vm, watch](const Outcome<VolumeInfo>& outcome) {
            if (*watch && !(*watch)->finished())
                return; // given up on already: settled with the watch's error
            settle(ticket, id, vm, outcome);
        });
    // An import reads the caller's file, which may stall; publish's copy is libvirtd's own, from our pool, and
    // reports no progress to watch.
    if (started.cancelable)
        *watch = CopyWatch::start(m_ctx.executor, copy, started.shared, m_ctx.stallTimeout, "copying the file",
                                  [this, ticket, id, vm, shared = started.shared](const Error& error) {
                                      // Should the read ever return, the copy stops there and discards its volume.
                                      shared->cancelRequested = true;
                                      settle(ticket, id, vm, error);
                                  });
    done(started.id);
}

void ImageFill::settle(const ImageTicketPtr& ticket, const std::string& id, const Ticket& vm,
                       const Outcome<VolumeInfo>& outcome)
{
    if (vm)
        m_ctx.vmRunner.release(vm);
    Image* image = m_ctx.catalogue.find(id);
    if (!image)
        return;
    const std::uint64_t jobId = image->job.value_or(0);
    m_ctx.catalogue.setJob(*image, std::nullopt);
    std::optional<Error> error;
    if (!outcome.ok())
        error = outcome.error();
    else {
        ImageRecord ready = image->record;
        ready.phase = ImagePhase::Ready;
        ready.sizeBytes = outcome.value().allocationBytes;
        ready.virtualSizeBytes = outcome.value().capacityBytes;
        try {
            m_ctx.store.updateImage(ready);
            m_ctx.catalogue.update(*image, ready,
                                   static_cast<ImageFields>(ImageField::State) |
                                       static_cast<ImageFields>(ImageField::Sizes));
        } catch (const Error& e) {
            error = e;
            m_ctx.executor.submit(
                [&storage = m_ctx.storage, name = image->record.volume] {
                    try {
                        storage.remove(name);
                    } catch (const std::exception&) { // the Importing row is rolled back at the next start
                    }
                },
                [] {});
        }
    }
    const std::string name = image->record.name;
    if (error) {
        try {
            m_ctx.store.deleteImage(id);
        } catch (const Error&) { // left in Importing: the next start removes it
        }
        m_ctx.catalogue.drop(id);
        m_ctx.runner.fail(ticket, *error);
        m_ctx.jobs.finish(jobId, false, error->what());
        return;
    }
    m_ctx.audit.imageSuccess(ticket->caller.uid, name, ticket->verb,
                             fmt::format("{} image of {} bytes ({} bytes virtual)", formatName(image->record.format),
                                         image->record.sizeBytes, image->record.virtualSizeBytes));
    if (vm) // also in the VM's own trail, so its events say what became of it
        if (const Vm* source = m_ctx.vmRunner.find(vm))
            m_ctx.vmRunner.succeed(vm, source->record, fmt::format("published as image '{}'", name));
    m_ctx.jobs.finish(jobId, true, "");
}

} // namespace hangar
