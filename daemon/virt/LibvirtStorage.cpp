#include "virt/LibvirtStorage.h"

#include "core/DriverLimits.h"
#include "core/Error.h"
#include "virt/StorageXml.h"
#include "virt/VolumeStreams.h"
#include "virt/XmlSupport.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

namespace hangar::virt {
namespace {

constexpr std::size_t kMaxNameLength = 255; // one file name
// A qcow2 placeholder with the smallest clusters has ~1.5 KiB for a hole to leave behind, not ~200 KiB.
constexpr std::uint64_t kPlaceholderClusterBytes = 512;

bool isNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

// The name is not repeated in the message: it may not even be text.
void requireVolumeName(const std::string& name)
{
    const bool valid = !name.empty() && name.size() <= kMaxNameLength && name[0] != '.' && name[0] != '_' &&
                       name[0] != '-' && std::all_of(name.begin(), name.end(), isNameChar);
    if (!valid)
        throw Error(ErrorCode::InvalidArgument, "a volume name must be 1.." + std::to_string(kMaxNameLength) +
                                                    " characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with "
                                                    "a letter or a digit");
}

} // namespace

LibvirtStorage::LibvirtStorage(std::string uri, std::string poolName, const std::string& poolPath)
    : m_uri(std::move(uri)), m_poolName(std::move(poolName)), m_poolPath(normalPath(poolPath))
{
    if (m_poolName.empty())
        throw Error(ErrorCode::InvalidArgument, "the storage pool needs a name");
    xml::requireText("the storage pool's name", m_poolName);
    xml::requireText("the storage pool's path", m_poolPath);
    if (m_poolPath.empty() || m_poolPath.front() != '/')
        throw Error(ErrorCode::InvalidArgument, "the storage pool's path must be absolute, got \"" + poolPath + "\"");
}

std::shared_ptr<virConnect> LibvirtStorage::connection()
{
    const std::lock_guard lock(m_mutex);
    if (!m_connection || virConnectIsAlive(m_connection.get()) != 1) {
        initLibvirt();
        ConnectPtr conn(virConnectOpen(m_uri.c_str()));
        if (!conn)
            throw Error(ErrorCode::BackendFailure,
                        "storage: cannot connect to " + m_uri + ": " + lastFailure().message);
        silenceErrors(conn.get());
        m_connection = std::shared_ptr<virConnect>(conn.release(), ConnectDeleter{});
    }
    return m_connection;
}

LibvirtStorage::PoolHandle LibvirtStorage::openPool()
{
    PoolHandle handle{connection(), nullptr};
    handle.pool.reset(virStoragePoolLookupByName(handle.conn.get(), m_poolName.c_str()));
    if (!handle.pool) {
        const auto failure = lastFailure();
        if (failure.code == VIR_ERR_NO_STORAGE_POOL)
            throw Error(ErrorCode::BackendFailure,
                        "storage pool " + m_poolName + " does not exist (hangard defines it when it starts)");
        throw storageError(failure, "look up storage pool " + m_poolName);
    }
    return handle;
}

void LibvirtStorage::ensurePool()
{
    const auto conn = connection();
    const StoragePoolPtr pool(virStoragePoolLookupByName(conn.get(), m_poolName.c_str()));
    if (!pool) {
        const auto failure = lastFailure();
        if (failure.code != VIR_ERR_NO_STORAGE_POOL)
            throw storageError(failure, "look up storage pool " + m_poolName);
        definePool(conn.get());
        return;
    }
    checkPool(pool.get());
    const int active = virStoragePoolIsActive(pool.get());
    if (active < 0)
        throw storageError("read the state of storage pool " + m_poolName);
    if (active == 0) {
        // Starting reads the directory afresh.
        if (virStoragePoolCreate(pool.get(), 0) < 0)
            throw storageError("start storage pool " + m_poolName);
        logger()->info("started storage pool {} at {}", m_poolName, m_poolPath);
        return;
    }
    // Picks up what changed in the directory behind libvirt's back (e.g. while libvirtd was down).
    if (virStoragePoolRefresh(pool.get(), 0) < 0)
        throw storageError("refresh storage pool " + m_poolName);
}

void LibvirtStorage::definePool(virConnectPtr conn)
{
    const std::string text = poolXml(m_poolName, m_poolPath);
    const StoragePoolPtr pool(virStoragePoolDefineXML(conn, text.c_str(), 0));
    if (!pool)
        throw storageError("define storage pool " + m_poolName + " at " + m_poolPath);
    try {
        // Creates the directory with the pool's mode; one already there is kept, content included.
        if (virStoragePoolBuild(pool.get(), 0) < 0)
            throw storageError("build storage pool " + m_poolName + " at " + m_poolPath);
        if (virStoragePoolCreate(pool.get(), 0) < 0)
            throw storageError("start storage pool " + m_poolName);
        if (virStoragePoolSetAutostart(pool.get(), 1) < 0)
            throw storageError("mark storage pool " + m_poolName + " to start with libvirtd");
    } catch (const Error&) {
        // So that the next attempt starts from the beginning, build included.
        if (virStoragePoolIsActive(pool.get()) == 1)
            virStoragePoolDestroy(pool.get());
        virStoragePoolUndefine(pool.get());
        throw;
    }
    logger()->info("defined storage pool {} at {}", m_poolName, m_poolPath);
}

void LibvirtStorage::checkPool(virStoragePoolPtr pool) const
{
    const auto [type, path] = readPool(pool, m_poolName);
    if (type != "dir" || normalPath(path) != m_poolPath)
        throw Error(ErrorCode::BackendFailure, "storage pool " + m_poolName + " exists as a " + type + " pool at " +
                                                   path + ", not as a dir pool at " + m_poolPath +
                                                   ": configure another pool name or its path ([Storage] pool, "
                                                   "pool_path)");
}

StorageVolPtr LibvirtStorage::lookup(virStoragePoolPtr pool, const std::string& name) const
{
    StorageVolPtr vol(virStorageVolLookupByName(pool, name.c_str()));
    if (!vol) {
        const auto failure = lastFailure();
        if (failure.code != VIR_ERR_NO_STORAGE_VOL)
            throw storageError(failure, "look up volume " + name + " in storage pool " + m_poolName);
    }
    return vol;
}

StorageVolPtr LibvirtStorage::require(virStoragePoolPtr pool, const std::string& name) const
{
    auto vol = lookup(pool, name);
    if (!vol)
        throw Error(ErrorCode::NotFound, "no volume " + name + " in storage pool " + m_poolName);
    return vol;
}

// Checked first for a clear AlreadyExists: libvirt's own refusal differs between drivers.
void LibvirtStorage::requireAbsent(virStoragePoolPtr pool, const std::string& name) const
{
    if (lookup(pool, name))
        throw Error(ErrorCode::AlreadyExists, "volume " + name + " already exists in storage pool " + m_poolName);
}

VolumeInfo LibvirtStorage::describe(virStorageVolPtr vol) const
{
    return toInfo(readVolume(vol), m_poolPath);
}

void LibvirtStorage::requireUploads() const
{
    refuseOnTestDriver(m_uri, "stream volume uploads, so it cannot import images");
}

VolumeInfo LibvirtStorage::upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                                  const ProgressFn& progress)
{
    requireVolumeName(name);
    requireReadable(fd, size);
    requireUploads();
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    NewVolume placeholder{name, format, size};
    if (format == ImageFormat::Qcow2) {
        placeholder.capacity = 0;
        placeholder.clusterBytes = kPlaceholderClusterBytes;
    }
    const StorageVolPtr vol = createVolume(p.pool.get(), placeholder);
    fillOrDiscard(vol.get(), name, [&] {
        const std::uint64_t dense = format == ImageFormat::Qcow2 ? physicalSize(vol.get(), name) : 0;
        if (size < dense)
            throw Error(ErrorCode::InvalidArgument, "a qcow2 image of " + sizeText(size) + " is too small to be one (" +
                                                        sizeText(dense) + " at least)");
        UploadStream out(p.conn.get(), vol.get(), name, size, dense, progress);
        sendFile(fd, size, format, out);
        out.finish();
    });
    return describe(vol.get());
}

VolumeInfo LibvirtStorage::writeRaw(const std::string& name, const std::string& bytes)
{
    requireVolumeName(name);
    if (bytes.empty())
        throw Error(ErrorCode::InvalidArgument, "a volume written from memory needs at least 1 byte");
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    const StorageVolPtr vol = createVolume(p.pool.get(), NewVolume{name, ImageFormat::Raw, bytes.size()});
    fillOrDiscard(vol.get(), name, [&] {
        const ProgressFn none;
        std::unique_ptr<UploadStream> out;
        try {
            out = std::make_unique<UploadStream>(p.conn.get(), vol.get(), name, bytes.size(), 0, none);
        } catch (const Error& e) {
            // libvirt's test driver keeps no contents of any volume; the volume stands there with its size.
            if (e.code() != ErrorCode::NotSupported)
                throw;
            return;
        }
        out->data(bytes.data(), bytes.size());
        out->finish();
    });
    return describe(vol.get());
}

VolumeInfo LibvirtStorage::createOverlay(const std::string& name, const std::string& backing,
                                         std::uint64_t capacityBytes)
{
    requireVolumeName(name);
    requireVolumeName(backing);
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    const StorageVolPtr base = require(p.pool.get(), backing);
    const VolumeInfo baseInfo = describe(base.get());
    const CString path(virStorageVolGetPath(base.get()));
    if (!path)
        throw storageError("read the path of volume " + backing);
    NewVolume overlay{name, ImageFormat::Qcow2, std::max(capacityBytes, baseInfo.capacityBytes)};
    overlay.backingPath = path.get();
    // An ISO is raw bytes to QEMU.
    overlay.backingFormat = baseInfo.format == ImageFormat::Qcow2 ? ImageFormat::Qcow2 : ImageFormat::Raw;
    return describe(createVolume(p.pool.get(), overlay).get());
}

VolumeInfo LibvirtStorage::createBlank(const std::string& name, std::uint64_t capacityBytes)
{
    requireVolumeName(name);
    if (capacityBytes == 0)
        throw Error(ErrorCode::InvalidArgument, "a blank volume needs a capacity of at least 1 byte");
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    return describe(createVolume(p.pool.get(), NewVolume{name, ImageFormat::Qcow2, capacityBytes}).get());
}

VolumeInfo LibvirtStorage::cloneOverlay(const std::string& name, const std::string& source, const ProgressFn& progress)
{
    requireVolumeName(name);
    requireVolumeName(source);
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    const StorageVolPtr from = require(p.pool.get(), source);
    const VolumeXml sourceXml = readVolume(from.get());
    const VolumeInfo sourceInfo = toInfo(sourceXml, m_poolPath);
    std::uint64_t length = 0;
    try {
        length = physicalSize(from.get(), source);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::NotSupported)
            throw;
        // A driver without volume streams (libvirt's test driver): its own clone keeps the backing store the new
        // volume's XML names. (A real host's would flatten it, which is why the stream copy below exists.)
        NewVolume copy{name, sourceInfo.format, sourceInfo.capacityBytes};
        if (!sourceXml.backingPath.empty()) {
            copy.backingPath = sourceXml.backingPath;
            copy.backingFormat = sourceXml.backingFormat == "qcow2" ? ImageFormat::Qcow2 : ImageFormat::Raw;
        }
        if (progress && !progress(0))
            throw cancelled();
        return describe(createVolume(p.pool.get(), copy, from.get()).get());
    }

    // The placeholder already names the source's backing store, so that libvirt's record of the copy has it
    // without waiting for a refresh of the pool to probe the header.
    NewVolume placeholder{name, sourceInfo.format, length};
    if (sourceInfo.format == ImageFormat::Qcow2) {
        placeholder.capacity = 0;
        placeholder.clusterBytes = kPlaceholderClusterBytes;
        if (!sourceXml.backingPath.empty()) {
            placeholder.backingPath = sourceXml.backingPath;
            placeholder.backingFormat = sourceXml.backingFormat == "qcow2" ? ImageFormat::Qcow2 : ImageFormat::Raw;
        }
    }
    const StorageVolPtr vol = createVolume(p.pool.get(), placeholder);
    fillOrDiscard(vol.get(), name, [&] {
        const std::uint64_t dense = sourceInfo.format == ImageFormat::Qcow2 ? physicalSize(vol.get(), name) : 0;
        if (length < dense)
            throw Error(ErrorCode::BackendFailure,
                        "volume " + source + " has " + sizeText(length) + ", too few for a qcow2 image");
        UploadStream out(p.conn.get(), vol.get(), name, length, dense, progress);
        sendVolume(p.conn.get(), from.get(), source, length, out);
        out.finish();
    });
    return describe(vol.get());
}

VolumeInfo LibvirtStorage::flatten(const std::string& name, const std::string& source, const ProgressFn& progress)
{
    requireVolumeName(name);
    requireVolumeName(source);
    if (progress && !progress(0))
        throw cancelled();
    const PoolHandle p = openPool();
    requireAbsent(p.pool.get(), name);
    const StorageVolPtr from = require(p.pool.get(), source);
    const VolumeInfo sourceInfo = describe(from.get());
    const StorageVolPtr vol =
        createVolume(p.pool.get(), NewVolume{name, ImageFormat::Qcow2, sourceInfo.capacityBytes}, from.get());
    fillOrDiscard(vol.get(), name, [&] {
        if (progress && !progress(sourceInfo.capacityBytes))
            throw cancelled();
    });
    return describe(vol.get());
}

VolumeInfo LibvirtStorage::resize(const std::string& name, std::uint64_t capacityBytes)
{
    requireVolumeName(name);
    const PoolHandle p = openPool();
    const StorageVolPtr vol = require(p.pool.get(), name);
    VolumeInfo before = describe(vol.get());
    if (capacityBytes < before.capacityBytes)
        throw Error(ErrorCode::InvalidArgument, "volume " + name + " cannot shrink");
    if (capacityBytes == before.capacityBytes)
        return before;
    if (virStorageVolResize(vol.get(), capacityBytes, 0) < 0)
        throw storageError(lastFailure(), "resize volume " + name + " in storage pool " + m_poolName);
    return describe(vol.get());
}

void LibvirtStorage::remove(const std::string& name)
{
    requireVolumeName(name);
    const PoolHandle p = openPool();
    const StorageVolPtr vol = lookup(p.pool.get(), name);
    if (!vol)
        return;
    if (virStorageVolDelete(vol.get(), VIR_STORAGE_VOL_DELETE_NORMAL) < 0) {
        const auto failure = lastFailure();
        if (failure.code != VIR_ERR_NO_STORAGE_VOL) // gone meanwhile
            throw storageError(failure, "delete volume " + name + " from storage pool " + m_poolName);
    }
}

std::optional<VolumeInfo> LibvirtStorage::find(const std::string& name)
{
    requireVolumeName(name);
    const PoolHandle p = openPool();
    const StorageVolPtr vol = lookup(p.pool.get(), name);
    if (!vol)
        return std::nullopt;
    try {
        return describe(vol.get());
    } catch (const Error& e) {
        if (e.code() == ErrorCode::NotFound) // deleted meanwhile
            return std::nullopt;
        throw;
    }
}

std::vector<std::string> LibvirtStorage::list()
{
    const PoolHandle p = openPool();
    virStorageVolPtr* raw = nullptr;
    const int n = virStoragePoolListAllVolumes(p.pool.get(), &raw, 0);
    if (n < 0)
        throw storageError("list the volumes of storage pool " + m_poolName);
    std::vector<StorageVolPtr> vols;
    vols.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        vols.emplace_back(raw[i]);
    const std::unique_ptr<virStorageVolPtr, FreeDeleter> array(raw); // the array itself is the caller's to free()
    std::vector<std::string> names;
    names.reserve(vols.size());
    for (const auto& vol : vols)
        names.emplace_back(virStorageVolGetName(vol.get()));
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace hangar::virt
