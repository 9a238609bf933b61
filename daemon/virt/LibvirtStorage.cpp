#include "virt/LibvirtStorage.h"

#include "core/Error.h"
#include "virt/LibvirtSupport.h"
#include "virt/XmlSupport.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace hangar::virt {
namespace {

using xml::sv;

constexpr std::size_t kMaxNameLength = 255; // one file name
// The most one message of libvirt's RPC carries: each read and send of this size is one message.
constexpr std::size_t kChunkBytes = std::size_t{256} * 1024;
// A download is asked for in windows of this size. libvirt's client queues whatever the daemon streams to it,
// without limit, also while this thread is busy sending the upload (virnetclientstream.c says so): a window bounds
// what can pile up.
constexpr std::uint64_t kDownloadWindowBytes = 64ULL * 1024 * 1024;
// A qcow2 placeholder with the smallest clusters has ~1.5 KiB for a hole to leave behind, not ~200 KiB.
constexpr std::uint64_t kPlaceholderClusterBytes = 512;

// qcow2 header fields (big-endian), from QEMU's docs/interop/qcow2.txt.
constexpr std::uint64_t kQcow2Magic = 0x514649fbU; // "QFI\xfb"
constexpr std::size_t kQcow2HeaderBytes = 80;      // up to and including incompatible_features
constexpr std::uint64_t kQcow2ExternalDataFile = 1ULL << 2U;

// ---- errors and names --------------------------------------------------------------------------------------------

// "cannot <what>: <libvirt's message>", with the code the failure implies.
Error storageError(const LibvirtFailure& failure, const std::string& what)
{
    ErrorCode code = ErrorCode::BackendFailure;
    switch (failure.code) {
    case VIR_ERR_NO_STORAGE_VOL:
        code = ErrorCode::NotFound;
        break;
    case VIR_ERR_STORAGE_VOL_EXIST:
        code = ErrorCode::AlreadyExists;
        break;
    case VIR_ERR_NO_SUPPORT:
        code = ErrorCode::NotSupported;
        break;
    case VIR_ERR_OPERATION_DENIED:
    case VIR_ERR_ACCESS_DENIED:
        code = ErrorCode::PermissionDenied;
        break;
    default:
        break;
    }
    return Error(code, "cannot " + what + ": " + failure.message);
}

Error storageError(const std::string& what)
{
    return storageError(lastFailure(), what);
}

Error cancelled()
{
    return Error(ErrorCode::Cancelled, "cancelled");
}

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

std::string normalPath(const std::string& path)
{
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/')
        normal.pop_back();
    return normal;
}

std::string sizeText(std::uint64_t bytes)
{
    return std::to_string(bytes) + " bytes";
}

// ---- XML ---------------------------------------------------------------------------------------------------------

// 0711: QEMU, which may run as another user, reaches the volumes by path; nobody else lists them.
std::string poolXml(const std::string& name, const std::string& path)
{
    xml::Writer w;
    w.start("pool");
    w.attribute("type", "dir");
    w.element("name", name);
    w.start("target");
    w.element("path", path);
    w.start("permissions");
    w.element("mode", "0711");
    w.end();
    w.end();
    w.end();
    return w.finish();
}

struct NewVolume
{
    NewVolume(std::string name_, ImageFormat format_, std::uint64_t capacity_)
        : name(std::move(name_)), format(format_), capacity(capacity_)
    {}

    std::string name;
    ImageFormat format = ImageFormat::Qcow2;
    std::uint64_t capacity = 0;
    std::uint64_t clusterBytes = 0; // 0: qemu-img's default
    std::string backingPath;        // empty: standalone
    ImageFormat backingFormat = ImageFormat::Qcow2;
};

void writeBytes(xml::Writer& w, const char* element, std::uint64_t bytes)
{
    w.start(element);
    w.attribute("unit", "bytes");
    w.text(std::to_string(bytes));
    w.end();
}

std::string volumeXml(const NewVolume& v)
{
    xml::Writer w;
    w.start("volume");
    w.element("name", v.name);
    writeBytes(w, "capacity", v.capacity);
    writeBytes(w, "allocation", 0);
    w.start("target");
    w.start("format");
    w.attribute("type", std::string(formatName(v.format)));
    w.end();
    if (v.format == ImageFormat::Qcow2) {
        w.element("compat", "1.1");
        if (v.clusterBytes != 0) {
            w.start("clusterSize");
            w.attribute("unit", "B");
            w.text(std::to_string(v.clusterBytes));
            w.end();
        }
    }
    w.end();
    if (!v.backingPath.empty()) {
        w.start("backingStore");
        w.element("path", v.backingPath);
        w.start("format");
        w.attribute("type", std::string(formatName(v.backingFormat)));
        w.end();
        w.end();
    }
    w.end();
    return w.finish();
}

std::optional<std::uint64_t> parseBytes(xmlNodePtr node)
{
    if (!node)
        return std::nullopt;
    if (const auto unit = xml::attribute(node, "unit"); unit && *unit != "bytes" && *unit != "B")
        return std::nullopt;
    const auto text = xml::elementText(node);
    if (!text)
        return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size())
        return std::nullopt;
    return value;
}

std::string childText(xmlNodePtr parent, std::string_view name)
{
    const xmlNodePtr node = xml::child(parent, name);
    return node ? xml::elementText(node).value_or("") : "";
}

std::string formatOf(xmlNodePtr parent)
{
    const xmlNodePtr format = xml::child(parent, "format");
    return format ? xml::attribute(format, "type").value_or("") : "";
}

// What Hangar reads from libvirt's description of a volume.
struct VolumeXml
{
    std::string name;
    std::string format; // libvirt's format type
    std::uint64_t capacity = 0;
    std::uint64_t allocation = 0;
    std::string backingPath;
    std::string backingFormat;
};

// libvirt's description of vol.
VolumeXml readVolume(virStorageVolPtr vol)
{
    const std::string name = virStorageVolGetName(vol);
    const CString text(virStorageVolGetXMLDesc(vol, 0));
    if (!text)
        throw storageError("describe volume " + name);
    const auto doc = xml::parseUntrusted(text.get(), "volume.xml");
    const xmlNodePtr root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    const xmlNodePtr target = xml::child(root, "target");
    const auto capacity = parseBytes(xml::child(root, "capacity"));
    const auto allocation = parseBytes(xml::child(root, "allocation"));
    if (!root || sv(root->name) != "volume" || !target || !capacity || !allocation)
        throw Error(ErrorCode::BackendFailure,
                    "libvirt's description of volume " + name + " lacks its target, capacity or allocation");
    VolumeXml v{name, formatOf(target), *capacity, *allocation, {}, {}};
    if (const xmlNodePtr backing = xml::child(root, "backingStore")) {
        v.backingPath = childText(backing, "path");
        v.backingFormat = formatOf(backing);
    }
    return v;
}

VolumeInfo toInfo(const VolumeXml& x, const std::string& poolPath)
{
    VolumeInfo info;
    info.name = x.name;
    // Any other format libvirt may find by probing (vmdk, ...) was uploaded as raw, and QEMU is always told the
    // format, so it stays raw to Hangar.
    info.format = x.format == "qcow2" ? ImageFormat::Qcow2 : x.format == "iso" ? ImageFormat::Iso : ImageFormat::Raw;
    info.capacityBytes = x.capacity;
    info.allocationBytes = x.allocation;
    if (info.format == ImageFormat::Qcow2 && !x.backingPath.empty()) {
        const std::filesystem::path backing(normalPath(x.backingPath));
        info.backingVolume = backing.parent_path() == poolPath ? backing.filename().string() : x.backingPath;
    }
    return info;
}

// ---- content checks ----------------------------------------------------------------------------------------------

std::uint64_t bigEndian(const std::array<unsigned char, kQcow2HeaderBytes>& h, std::size_t at, std::size_t bytes)
{
    std::uint64_t v = 0;
    for (std::size_t i = at; i < at + bytes; ++i)
        v = (v << 8U) | h[i];
    return v;
}

// The bytes sent must be what was declared: a qcow2 image exactly when qcow2 was declared (libvirt probes what a
// dir pool's files hold, and would take a "raw" image starting like a qcow2 for one), and a qcow2 image must not
// make QEMU open another file. Core probed the file, but the file may have changed since. Bytes missing from a
// short header count as zeros, as for libvirt.
void checkHeader(ImageFormat format, std::string_view first)
{
    std::array<unsigned char, kQcow2HeaderBytes> h{};
    std::memcpy(h.data(), first.data(), std::min(first.size(), h.size()));
    const bool qcow2 = bigEndian(h, 0, 4) == kQcow2Magic;
    if (format != ImageFormat::Qcow2) {
        if (qcow2)
            throw Error(ErrorCode::InvalidArgument,
                        "the image was declared " + std::string(formatName(format)) + " but is a qcow2 image");
        return;
    }
    if (!qcow2)
        throw Error(ErrorCode::InvalidArgument, "the image was declared qcow2 but does not start with a qcow2 header");
    if (bigEndian(h, 8, 8) != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the qcow2 image names a backing file; only standalone images can be uploaded");
    if (bigEndian(h, 4, 4) >= 3 && (bigEndian(h, 72, 8) & kQcow2ExternalDataFile) != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the qcow2 image keeps its data in an external file; only self-contained images can be uploaded");
}

// What libvirt cannot check before a volume exists: an fd that can be read at offsets, holding at least size bytes.
void requireReadable(int fd, std::uint64_t size)
{
    constexpr auto kMaxSize = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
    if (size == 0 || size > kMaxSize)
        throw Error(ErrorCode::InvalidArgument,
                    "an image must have 1.." + std::to_string(kMaxSize) + " bytes, got " + std::to_string(size));
    struct stat st
    {
    };
    if (fstat(fd, &st) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("cannot read the image: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        throw Error(ErrorCode::InvalidArgument, "the image must be a regular file or a block device");
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) < size)
        throw Error(ErrorCode::InvalidArgument, "the image file holds " + sizeText(st.st_size) + ", fewer than the " +
                                                    sizeText(size) + " declared");
}

// ---- streams -----------------------------------------------------------------------------------------------------

// One sparse upload into a volume, fed in order with data and holes up to its length. Each piece counts as done
// (holes too), and progress may cancel after each. Holes below denseBelow are sent as zeros: libvirt writes a hole
// by seeking over it, which would leave the volume's previous bytes there.
class UploadStream
{
public:
    UploadStream(virConnectPtr conn, virStorageVolPtr vol, std::string name, std::uint64_t length,
                 std::uint64_t denseBelow, const ProgressFn& progress)
        : m_stream(virStreamNew(conn, 0)), m_name(std::move(name)), m_length(length), m_denseBelow(denseBelow),
          m_progress(progress)
    {
        if (!m_stream)
            throw storageError("open a stream to volume " + m_name);
        if (virStorageVolUpload(vol, m_stream.get(), 0, m_length, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0)
            throw storageError("upload to volume " + m_name);
    }

    std::uint64_t offset() const { return m_offset; }

    void data(const char* bytes, std::size_t n)
    {
        for (std::size_t sent = 0; sent < n;) {
            const int r = virStreamSend(m_stream.get(), bytes + sent, n - sent);
            if (r < 0)
                throw storageError("upload to volume " + m_name);
            sent += static_cast<std::size_t>(r);
        }
        advance(n);
    }

    void hole(std::uint64_t n)
    {
        static const std::array<char, kChunkBytes> kZeros{};
        while (n > 0 && m_offset < m_denseBelow) {
            const auto zeros = std::min<std::uint64_t>({n, m_denseBelow - m_offset, kZeros.size()});
            data(kZeros.data(), static_cast<std::size_t>(zeros));
            n -= zeros;
        }
        if (n == 0)
            return;
        if (virStreamSendHole(m_stream.get(), static_cast<long long>(n), 0) < 0)
            throw storageError("upload to volume " + m_name);
        advance(n);
    }

    void finish()
    {
        if (m_offset != m_length)
            throw Error(ErrorCode::BackendFailure, "the upload to volume " + m_name + " stopped after " +
                                                       sizeText(m_offset) + " of " + sizeText(m_length));
        if (virStreamFinish(m_stream.get()) < 0)
            throw storageError("complete the upload to volume " + m_name);
    }

private:
    void advance(std::uint64_t n)
    {
        m_offset += n;
        if (m_progress && !m_progress(m_offset))
            throw cancelled();
    }

    StreamPtr m_stream; // aborted when it goes unfinished
    std::string m_name;
    std::uint64_t m_length;
    std::uint64_t m_denseBelow;
    const ProgressFn& m_progress;
    std::uint64_t m_offset = 0;
};

struct Extent
{
    bool data = true;
    std::uint64_t length = 0;
};

// The extent of fd starting at offset, clipped to end: data, or a hole. Where the file system cannot tell, all of
// it is data.
Extent extentAt(int fd, std::uint64_t offset, std::uint64_t end)
{
    const auto at = static_cast<off_t>(offset);
    const off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0)
        return {errno != ENXIO, end - offset}; // ENXIO: no data after offset
    if (data > at)
        return {false, std::min<std::uint64_t>(data, end) - offset};
    const off_t hole = lseek(fd, at, SEEK_HOLE);
    if (hole <= at)
        return {true, end - offset};
    return {true, std::min<std::uint64_t>(hole, end) - offset};
}

void readAt(int fd, char* buffer, std::size_t n, std::uint64_t offset, std::uint64_t declared)
{
    for (std::size_t done = 0; done < n;) {
        const ssize_t got = pread(fd, buffer + done, n - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw Error(ErrorCode::InvalidArgument,
                        "cannot read the image at byte " + std::to_string(offset + done) + ": " + std::strerror(errno));
        if (got == 0)
            throw Error(ErrorCode::InvalidArgument, "the image ended after " + sizeText(offset + done) + ", " +
                                                        sizeText(declared) + " were declared");
        done += static_cast<std::size_t>(got);
    }
}

// The first size bytes of fd into out.
void sendFile(int fd, std::uint64_t size, ImageFormat format, UploadStream& out)
{
    std::vector<char> buffer(kChunkBytes);
    while (out.offset() < size) {
        const std::uint64_t start = out.offset();
        const Extent extent = extentAt(fd, start, size);
        if (!extent.data) {
            if (start == 0)
                checkHeader(format, {});
            out.hole(extent.length);
            continue;
        }
        for (std::uint64_t offset = start; offset < start + extent.length; offset = out.offset()) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(start + extent.length - offset, kChunkBytes));
            readAt(fd, buffer.data(), n, offset, size);
            if (offset == 0)
                checkHeader(format, {buffer.data(), n});
            out.data(buffer.data(), n);
        }
    }
}

// The bytes [0, length) of the file behind source into out.
void sendVolume(virConnectPtr conn, virStorageVolPtr source, const std::string& sourceName, std::uint64_t length,
                UploadStream& out)
{
    std::vector<char> buffer(kChunkBytes);
    while (out.offset() < length) {
        const std::uint64_t end = std::min(length, out.offset() + kDownloadWindowBytes);
        const StreamPtr in(virStreamNew(conn, 0));
        if (!in)
            throw storageError("open a stream from volume " + sourceName);
        if (virStorageVolDownload(source, in.get(), out.offset(), end - out.offset(),
                                  VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0)
            throw storageError("download volume " + sourceName);
        for (;;) {
            const int got = virStreamRecvFlags(in.get(), buffer.data(), buffer.size(), VIR_STREAM_RECV_STOP_AT_HOLE);
            if (got == 0)
                break;
            if (got > 0) {
                out.data(buffer.data(), static_cast<std::size_t>(got));
                continue;
            }
            long long hole = 0;
            if (got != -3 || virStreamRecvHole(in.get(), &hole, 0) < 0)
                throw storageError("download volume " + sourceName);
            if (hole > 0)
                out.hole(static_cast<std::uint64_t>(hole));
        }
        if (virStreamFinish(in.get()) < 0)
            throw storageError("complete the download of volume " + sourceName);
        if (out.offset() != end)
            throw Error(ErrorCode::BackendFailure, "volume " + sourceName + " ended after " + sizeText(out.offset()) +
                                                       ", " + sizeText(length) +
                                                       " were expected: did it change during the copy?");
    }
}

// ---- volumes -----------------------------------------------------------------------------------------------------

StorageVolPtr createVolume(virStoragePoolPtr pool, const NewVolume& v, virStorageVolPtr from = nullptr)
{
    const std::string text = volumeXml(v);
    StorageVolPtr vol(from ? virStorageVolCreateXMLFrom(pool, text.c_str(), from, 0)
                           : virStorageVolCreateXML(pool, text.c_str(), 0));
    if (!vol)
        throw storageError("create volume " + v.name);
    return vol;
}

// The size of the volume's file (for qcow2 not the capacity, and more than the allocation of a sparse file).
std::uint64_t physicalSize(virStorageVolPtr vol, const std::string& name)
{
    virStorageVolInfo info{};
    if (virStorageVolGetInfoFlags(vol, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
        throw storageError("read the size of volume " + name);
    return info.allocation; // with GET_PHYSICAL, allocation holds the physical size
}

// Runs fill on vol, a volume just created for it; when fill throws, the volume is deleted again (whatever stream
// fill had open is gone by then) before the exception goes on. A volume that cannot be deleted is left to core's
// recovery, which removes volumes it has no record of.
template <typename Fill> void fillOrDiscard(virStorageVolPtr vol, const std::string& name, Fill&& fill)
{
    try {
        fill();
    } catch (...) {
        if (virStorageVolDelete(vol, VIR_STORAGE_VOL_DELETE_NORMAL) < 0)
            logger()->warn("cannot delete volume {} after it failed to fill: {}", name, lastFailure().message);
        throw;
    }
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
    const CString text(virStoragePoolGetXMLDesc(pool, 0));
    if (!text)
        throw storageError("describe storage pool " + m_poolName);
    const auto doc = xml::parseUntrusted(text.get(), "pool.xml");
    const xmlNodePtr root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    const std::string type = root ? xml::attribute(root, "type").value_or("") : "";
    const std::string path = childText(xml::child(root, "target"), "path");
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

VolumeInfo LibvirtStorage::upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                                  const ProgressFn& progress)
{
    requireVolumeName(name);
    requireReadable(fd, size);
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
