// ImageManager is the one door to the images VMs are made from, for the bus, the service and VM creation: the
// catalogue (core/ImageCatalogue, loaded from the store at start-up, announced to the ImageObserver, i.e. the bus),
// import from a caller's file descriptor and publish of a VM's disk (both as Jobs, core/ImageFill), and delete,
// which is refused while a VM depends on the image (core/ImageRemoval). Every image is a volume in the daemon's
// storage pool (core/Storage.h); its row is written in phase Importing before the volume exists, so a crash at any
// point is rolled back at the next start (core/Reconciler). A facade: the parts run through the image pipeline
// (core/ImageRunner.h). Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/ImageCatalogue.h"
#include "core/ImageContext.h"
#include "core/ImageFill.h"
#include "core/ImageRemoval.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "core/OsCatalog.h"
#include "core/Outcome.h"
#include "core/Quota.h"
#include "core/Storage.h"
#include "core/Store.h"
#include "core/UniqueFd.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hangar {

class ImageManager
{
public:
    ImageManager(Inventory& inventory, Store& store, Storage& storage, Authorizer& authorizer, Executor& executor,
                 AuditLog& audit, JobManager& jobs, QuotaManager& quotas, std::uint64_t maxImportBytes,
                 const OsCatalog& osCatalog = noOsCatalog());

    void setObserver(ImageObserver* observer) { m_ctx.catalogue.setObserver(observer); }
    // [Images] max_import_gib again after a configuration reload (SIGHUP): for imports that start from now on.
    void setMaxImportBytes(std::uint64_t bytes) { m_ctx.maxImportBytes = bytes; }
    void setStallTimeout(std::chrono::seconds timeout) { m_ctx.stallTimeout = timeout; }
    // The daemon's one JobManager, which VM jobs (core/VmGuestCommands) share with the image jobs.
    JobManager& jobs() { return m_ctx.jobs; }

    // The images that are ready, after start-up recovery (core/Reconciler).
    void load(std::vector<ImageRecord> images);

    // ImportImage: validates the name and the fd's content (core/ImageProbe.h), needs manage-images, counts the
    // file against the caller's disk quota, then uploads on a worker as a Job. Done receives the job id once the
    // upload has started. The image's OS is request.os (checked against the OS catalogue), else for an ISO what
    // the catalogue identifies on a worker, else "".
    void importImage(const Caller& caller, ImportRequest request, const Done<std::uint64_t>& done)
    {
        m_fill.importImage(caller, std::move(request), done);
    }
    // VM.Publish: a flattened qcow2 copy of a stopped VM's disk as a new image, as a Job. Its OS is os (checked
    // against the OS catalogue), else that of the VM's image.
    void publish(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                 const std::string& description, const std::optional<std::string>& os, const Done<std::uint64_t>& done)
    {
        m_fill.publish(caller, vmUuid, imageName, description, os, done);
    }
    // Image.Delete: needs manage-images; Busy while a VM uses it (naming them) or while it is being filled.
    void remove(const Caller& caller, const std::string& id, const Done<>& done) { m_removal.remove(caller, id, done); }

    const Image* find(const std::string& id) const { return m_ctx.catalogue.find(id); }
    const Image* findByName(const std::string& name) const { return m_ctx.catalogue.findByName(name); }
    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Image& getByName(const std::string& name) const { return m_ctx.catalogue.getByName(name); }
    // Every image, ordered by name.
    std::vector<const Image*> all() const { return m_ctx.catalogue.all(); }
    // What is known of operating systems (CreateVM's defaults, ListOperatingSystems), loaded off the loop: call
    // its lookups in a whenLoaded() continuation.
    OsCatalogGate& osCatalog() { return m_ctx.osGate; }
    // GiB (rounded up, per image) the images owned by uid take on the host, for the disk quota.
    std::uint64_t diskGiBOwnedBy(std::uint32_t uid) const { return m_ctx.catalogue.diskGiBOwnedBy(uid); }

private:
    ImageContext m_ctx;
    ImageFill m_fill;
    ImageRemoval m_removal;
};

} // namespace hangar
