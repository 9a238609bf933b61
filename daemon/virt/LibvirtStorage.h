// hangar::Storage on a libvirt storage pool of type dir, through libvirt's storage API only (volume create with a
// backing store, create-from, upload and download streams, delete): no file of the pool is touched directly, so the
// same code serves a remote host. It keeps a connection of its own, shared by the calling threads and reopened by
// the next call once it is found dead; the call that failed on the dead connection is not retried.
//
// How each operation maps to libvirt, and what was found true of libvirt 9.0's dir pool on the way:
//  - upload: a placeholder volume of the declared format, then a sparse upload stream fed by pread() at offsets of
//    its own (holes found with lseek SEEK_DATA/SEEK_HOLE, which move the fd's offset, travel as holes). libvirt
//    writes a hole by seeking over it, so the placeholder's own bytes would survive under a hole: a qcow2
//    placeholder is made as small as qcow2 allows (~1.5 KiB) and a hole over it is sent as zeros. The first bytes
//    sent are checked against the declared format (qcow2 magic; no backing or external data file), since the file
//    may have changed after core probed it.
//  - createOverlay: a qcow2 volume whose <backingStore> names the backing volume's path and format; qemu-img
//    records both in the overlay's header. Constant time.
//  - cloneOverlay: virStorageVolCreateXMLFrom cannot do it — it runs qemu-img convert, which flattens the chain
//    even when the new volume's XML carries the same <backingStore> — so the source's file is copied byte for
//    byte: a sparse download stream piped into a sparse upload stream, in windows so that memory stays bounded.
//    The copy's header keeps the source's backing path and format. The source must not change meanwhile (a VM
//    using it must be stopped).
//  - flatten: virStorageVolCreateXMLFrom into a standalone qcow2 (qemu-img convert reads the whole chain).
//
// Progress: upload counts the fd's bytes (of size), cloneOverlay the bytes of the source's file (its physical
// size), holes included in both. flatten has no byte progress (one qemu-img run inside libvirtd): progress(0) is
// called before it starts and progress(source capacity) after it ends, and only those two calls can cancel it.
//
// Volume names are one path component: [A-Za-z0-9][A-Za-z0-9._-]*, at most 255 characters (InvalidArgument
// otherwise). qcow2 volumes are created with compat 1.1 (libvirt's default is 0.10). find() reports libvirt's view
// of a volume: libvirt probes the content of a dir pool's files, so a raw image holding an ISO 9660 file system
// may come back as Iso.
//
// The pool's and the volumes' XML is virt/StorageXml, the streams and the checks of what is uploaded are
// virt/VolumeStreams.
#pragma once

#include "core/Storage.h"
#include "virt/LibvirtSupport.h"

#include <libvirt/libvirt.h>
#include <memory>
#include <mutex>
#include <string>

namespace hangar::virt {

class LibvirtStorage final : public Storage
{
public:
    // Connects on the first call. poolPath must be absolute (InvalidArgument otherwise).
    LibvirtStorage(std::string uri, std::string poolName, const std::string& poolPath);

    std::string poolName() const override { return m_poolName; }
    // A pool of that name with another type or target path: Error(BackendFailure) saying so.
    void ensurePool() override;
    VolumeInfo upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                      const ProgressFn& progress) override;
    void requireUploads() const override;
    VolumeInfo writeRaw(const std::string& name, const std::string& bytes) override;
    VolumeInfo createOverlay(const std::string& name, const std::string& backing, std::uint64_t capacityBytes) override;
    VolumeInfo createBlank(const std::string& name, std::uint64_t capacityBytes) override;
    VolumeInfo cloneOverlay(const std::string& name, const std::string& source, const ProgressFn& progress) override;
    VolumeInfo flatten(const std::string& name, const std::string& source, const ProgressFn& progress) override;
    VolumeInfo resize(const std::string& name, std::uint64_t capacityBytes) override;
    void remove(const std::string& name) override;
    std::optional<VolumeInfo> find(const std::string& name) override;
    std::vector<std::string> list() override;

private:
    // One call's hold on the pool; the connection stays open while a call uses it, even across a reconnect.
    struct PoolHandle
    {
        std::shared_ptr<virConnect> conn;
        StoragePoolPtr pool; // declared after conn: freed before the connection is let go
    };

    std::shared_ptr<virConnect> connection();
    PoolHandle openPool();
    void definePool(virConnectPtr conn);
    void checkPool(virStoragePoolPtr pool) const;
    StorageVolPtr lookup(virStoragePoolPtr pool, const std::string& name) const; // nullptr when missing
    StorageVolPtr require(virStoragePoolPtr pool, const std::string& name) const;
    void requireAbsent(virStoragePoolPtr pool, const std::string& name) const;
    VolumeInfo describe(virStorageVolPtr vol) const;

    const std::string m_uri;
    const std::string m_poolName;
    const std::string m_poolPath; // lexically normal, no trailing slash
    std::mutex m_mutex;
    std::shared_ptr<virConnect> m_connection; // guarded by m_mutex
};

} // namespace hangar::virt
