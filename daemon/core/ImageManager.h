// ImageManager keeps the images VMs are made from: the in-memory catalogue (loaded from the store at start-up,
// announced to the ImageObserver, i.e. the bus), import from a caller's file descriptor and publish of a VM's disk
// (both as Jobs), and delete, which is refused while a VM depends on the image. Every image is a volume in the
// daemon's storage pool (core/Storage.h); its row is written in phase Importing before the volume exists, so a
// crash at any point is rolled back at the next start (core/Reconciler). Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "core/Outcome.h"
#include "core/Quota.h"
#include "core/Storage.h"
#include "core/Store.h"
#include "core/UniqueFd.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

struct Image
{
    ImageRecord record;
    std::optional<std::uint64_t> job; // the import or publish filling it
};

enum class ImageField : std::uint32_t
{
    State = 1U << 0U,
    Sizes = 1U << 1U,
};
using ImageFields = std::uint32_t;

class ImageObserver
{
public:
    virtual ~ImageObserver() = default;
    virtual void imageAdded(const Image& image) = 0;
    // Called just before the image is dropped.
    virtual void imageRemoved(const Image& image) = 0;
    virtual void imageChanged(const Image& image, ImageFields fields) = 0;
};

struct ImportRequest
{
    std::string name;
    SharedFd fd;
    std::optional<ImageFormat> expectedFormat;
    std::string description;
};

class ImageManager
{
public:
    ImageManager(Inventory& inventory, Store& store, Storage& storage, Authorizer& authorizer, Executor& executor,
                 AuditLog& audit, JobManager& jobs, QuotaManager& quotas, std::uint64_t maxImportBytes);

    void setObserver(ImageObserver* observer) { m_observer = observer; }
    // [Images] max_import_gib again after a configuration reload (SIGHUP): for imports that start from now on.
    void setMaxImportBytes(std::uint64_t bytes) { m_maxImportBytes = bytes; }

    // The images that are ready, after start-up recovery (core/Reconciler).
    void load(std::vector<ImageRecord> images);

    // ImportImage: validates the name and the fd's content (core/ImageProbe.h), needs manage-images, counts the
    // file against the caller's disk quota, then uploads on a worker as a Job. Done receives the job id once the
    // upload has started.
    void importImage(const Caller& caller, ImportRequest request, Done<std::uint64_t> done);
    // VM.Publish: a flattened qcow2 copy of a stopped VM's disk as a new image, as a Job.
    void publish(const Caller& caller, const std::string& vmUuid, const std::string& imageName, std::string description,
                 Done<std::uint64_t> done);
    // Image.Delete: needs manage-images; Busy while a VM uses it (naming them) or while it is being filled.
    void remove(const Caller& caller, const std::string& id, Done<> done);

    const Image* find(const std::string& id) const;
    const Image* findByName(const std::string& name) const;
    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Image& getByName(const std::string& name) const;
    // Every image, ordered by name.
    std::vector<const Image*> all() const;
    // GiB (rounded up, per image) the images owned by uid take on the host, for the disk quota.
    std::uint64_t diskGiBOwnedBy(std::uint32_t uid) const;

private:
    struct Fill; // an import or publish in flight

    // Adds the image row (phase Importing) and object, starts the job, runs work on a worker, settles.
    void startFill(const Caller& caller, ImageRecord record, Job job, std::string verb,
                   std::function<VolumeInfo(Storage&, const ProgressFn&)> work, std::optional<std::string> vmUuid,
                   Done<std::uint64_t> done);
    void settleFill(const Caller& caller, const std::string& id, const std::string& verb,
                    const std::optional<std::string>& vmUuid, const std::optional<VolumeInfo>& volume,
                    const std::optional<Error>& error);
    // Checks a new image's name is valid and free (also among images being filled).
    void requireFreeName(const std::string& name) const;
    Image& add(ImageRecord record);
    void drop(const std::string& id);

    Inventory& m_inventory;
    Store& m_store;
    Storage& m_storage;
    Authorizer& m_authorizer;
    Executor& m_executor;
    AuditLog& m_audit;
    JobManager& m_jobs;
    QuotaManager& m_quotas;
    std::uint64_t m_maxImportBytes;
    ImageObserver* m_observer = nullptr;
    std::map<std::string, std::unique_ptr<Image>> m_byId;
    std::map<std::string, std::string> m_byName; // name -> id
};

// "img-<id>.<format>"
std::string imageVolumeName(const std::string& id, ImageFormat format);

} // namespace hangar
