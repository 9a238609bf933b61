// Storage is the daemon's storage pool: images and VM disks are volumes in one libvirt storage pool, created and
// changed only through libvirt's storage API (volume create with a backing store, upload through a stream,
// clone), never by hand-rolled file copies. The real implementation is virt/LibvirtStorage; tests/fakes/FakeStorage
// serves core's unit tests. Volumes are addressed by name inside the pool, never by a caller's path.
//
// Like the Hypervisor, every method is synchronous, thread-safe and may block: core calls it from worker threads
// through the Executor. Failures are hangar::Error: NotFound for a missing volume, AlreadyExists for a taken name,
// Cancelled when a progress callback asked to stop, InvalidArgument when the content is not what was declared,
// BackendFailure otherwise.
#pragma once

#include "core/Types.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

struct VolumeInfo
{
    std::string name;
    ImageFormat format = ImageFormat::Raw;
    std::uint64_t capacityBytes = 0;   // the size a guest sees (qcow2 virtual size)
    std::uint64_t allocationBytes = 0; // what the file occupies on the host
    std::string backingVolume;         // name of the volume it is an overlay of, "" when standalone

    bool operator==(const VolumeInfo&) const = default;
};

// Called on the worker thread with the bytes done so far (of the total the call knows); return false to cancel.
using ProgressFn = std::function<bool(std::uint64_t bytesDone)>;

class Storage
{
public:
    virtual ~Storage() = default;

    virtual std::string poolName() const = 0;

    // Makes the pool usable: defines it if missing (a dir pool at the configured path), builds, starts and marks it
    // autostart; starts and refreshes it when it exists but is inactive.
    virtual void ensurePool() = 0;

    // A new volume `name` of `format` holding the first `size` bytes of fd (read from offset 0, the fd's own
    // offset is not used). Holes in fd stay holes (sparse stream). progress is called as data moves; when it
    // returns false the upload stops with Error(Cancelled). On any failure the volume is deleted again.
    virtual VolumeInfo upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                              const ProgressFn& progress) = 0;

    // Throws Error(NotSupported), saying which driver can, when this backend cannot upload at all (libvirt's test
    // driver keeps no volume contents): asked before an import starts its job, so the caller is refused up front.
    virtual void requireUploads() const = 0;

    // A new raw volume holding bytes, built in memory (a cloud-init seed ISO of a few KiB). On a driver that cannot
    // upload into a volume (libvirt's test driver, which keeps no volume contents at all) the volume gets the bytes'
    // size and no content. On any other failure the volume is deleted again.
    virtual VolumeInfo writeRaw(const std::string& name, const std::string& bytes) = 0;

    // A qcow2 volume backed by `backing` (read-only base, referenced by the new volume's header), of at least
    // the backing's virtual size (capacityBytes 0 = the same size). Constant time, whatever the backing's size.
    virtual VolumeInfo createOverlay(const std::string& name, const std::string& backing,
                                     std::uint64_t capacityBytes) = 0;

    // An empty, sparse qcow2 volume.
    virtual VolumeInfo createBlank(const std::string& name, std::uint64_t capacityBytes) = 0;

    // A copy of `source` that keeps its backing store: a new qcow2 overlay of the same base holding a copy of the
    // source's own changes (what a clone of an overlay disk needs). A standalone source gives a standalone copy.
    virtual VolumeInfo cloneOverlay(const std::string& name, const std::string& source, const ProgressFn& progress) = 0;

    // A standalone qcow2 copy of `source` with its backing chain flattened in (what Publish needs).
    virtual VolumeInfo flatten(const std::string& name, const std::string& source, const ProgressFn& progress) = 0;

    // Grows the volume to capacityBytes (a guest sees a larger disk; its file system is the guest's to grow).
    // Growing to the size it has is a no-op; a smaller size is Error(InvalidArgument): shrinking would cut data off.
    virtual VolumeInfo resize(const std::string& name, std::uint64_t capacityBytes) = 0;

    // Deletes the volume; a missing volume is not an error (recovery may repeat it).
    virtual void remove(const std::string& name) = 0;

    virtual std::optional<VolumeInfo> find(const std::string& name) = 0;
    // Names of every volume in the pool.
    virtual std::vector<std::string> list() = 0;
};

} // namespace hangar
