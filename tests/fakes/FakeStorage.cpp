#include "fakes/FakeStorage.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace hangar::testing {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{64} * 1024;
constexpr std::array<unsigned char, 4> kQcow2Magic{'Q', 'F', 'I', 0xfb};
constexpr std::size_t kQcow2SizeOffset = 24; // big-endian virtual size

Error invalid(const std::string& message)
{
    return Error(ErrorCode::InvalidArgument, message);
}

// LibvirtStorage's rule: one path component.
void requireVolumeName(const std::string& name)
{
    const auto ok = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    };
    if (name.empty() || name.size() > 255 || name[0] == '.' || name[0] == '_' || name[0] == '-' ||
        !std::all_of(name.begin(), name.end(), ok))
        throw invalid("a volume name must be 1..255 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a "
                      "letter or a digit");
}

void requireReadable(int fd, std::uint64_t size)
{
    if (size == 0)
        throw invalid("an image must have at least 1 byte");
    struct stat st
    {
    };
    if (fstat(fd, &st) != 0)
        throw invalid(std::string("cannot read the image: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        throw invalid("the image must be a regular file or a block device");
}

void checkpoint(const ProgressFn& progress, std::uint64_t done)
{
    if (progress && !progress(done))
        throw Error(ErrorCode::Cancelled, "cancelled");
}

} // namespace

void FakeStorage::enter(const std::string& method)
{
    ++m_calls[method];
    auto it = m_failures.find(method);
    if (it != m_failures.end()) {
        Error e = it->second.first;
        if (--it->second.second == 0)
            m_failures.erase(it);
        throw e;
    }
}

const VolumeInfo& FakeStorage::get(const std::string& name) const
{
    auto it = m_volumes.find(name);
    if (it == m_volumes.end())
        throw Error(ErrorCode::NotFound, "no volume " + name + " in storage pool " + m_poolName);
    return it->second;
}

void FakeStorage::requireAbsent(const std::string& name) const
{
    if (m_volumes.count(name))
        throw Error(ErrorCode::AlreadyExists, "volume " + name + " already exists in storage pool " + m_poolName);
}

void FakeStorage::ensurePool()
{
    const std::lock_guard lock(m_mutex);
    enter("ensurePool");
}

VolumeInfo FakeStorage::upload(const std::string& name, ImageFormat format, int fd, std::uint64_t size,
                               const ProgressFn& progress)
{
    {
        const std::lock_guard lock(m_mutex);
        enter("upload");
        requireVolumeName(name);
        requireReadable(fd, size);
        requireAbsent(name);
        m_volumes[name] = VolumeInfo{name, format, size, 0, ""};
    }
    try {
        std::array<unsigned char, kChunkBytes> buffer{};
        std::array<unsigned char, kQcow2SizeOffset + 8> header{};
        bool first = true;
        for (std::uint64_t done = 0; done < size;) {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, buffer.size()));
            const ssize_t got = pread(fd, buffer.data(), want, static_cast<off_t>(done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                throw invalid("cannot read the image at byte " + std::to_string(done) + ": " + std::strerror(errno));
            if (got == 0)
                throw invalid("the image ended after " + std::to_string(done) + " bytes, " + std::to_string(size) +
                              " were declared");
            if (done < header.size())
                std::copy_n(buffer.begin(), std::min<std::size_t>(header.size() - done, got), header.begin() + done);
            done += static_cast<std::uint64_t>(got);
            checkpoint(progress, done);
            if (std::exchange(first, false) && waitAtHold("upload"))
                checkpoint(progress, done);
        }
        const bool qcow2 = std::equal(kQcow2Magic.begin(), kQcow2Magic.end(), header.begin());
        if (qcow2 != (format == ImageFormat::Qcow2))
            throw invalid(qcow2 ? "the image was declared " + std::string(formatName(format)) + " but is a qcow2 image"
                                : "the image was declared qcow2 but does not start with a qcow2 header");
        std::uint64_t capacity = size;
        if (qcow2) {
            capacity = 0;
            for (std::size_t i = kQcow2SizeOffset; i < header.size(); ++i)
                capacity = (capacity << 8U) | header[i];
        }
        const std::lock_guard lock(m_mutex);
        auto it = m_volumes.find(name);
        if (it == m_volumes.end())
            throw Error(ErrorCode::NotFound, "volume " + name + " was deleted during its upload");
        it->second.capacityBytes = capacity;
        it->second.allocationBytes = size;
        return it->second;
    } catch (...) {
        const std::lock_guard lock(m_mutex);
        m_volumes.erase(name);
        throw;
    }
}

VolumeInfo FakeStorage::createOverlay(const std::string& name, const std::string& backing, std::uint64_t capacityBytes)
{
    const std::lock_guard lock(m_mutex);
    enter("createOverlay");
    requireVolumeName(name);
    requireVolumeName(backing);
    requireAbsent(name);
    const VolumeInfo& base = get(backing);
    return m_volumes[name] =
               VolumeInfo{name, ImageFormat::Qcow2, std::max(capacityBytes, base.capacityBytes), 0, backing};
}

VolumeInfo FakeStorage::createBlank(const std::string& name, std::uint64_t capacityBytes)
{
    const std::lock_guard lock(m_mutex);
    enter("createBlank");
    requireVolumeName(name);
    if (capacityBytes == 0)
        throw invalid("a blank volume needs a capacity of at least 1 byte");
    requireAbsent(name);
    return m_volumes[name] = VolumeInfo{name, ImageFormat::Qcow2, capacityBytes, 0, ""};
}

VolumeInfo FakeStorage::writeRaw(const std::string& name, const std::string& bytes)
{
    const std::lock_guard lock(m_mutex);
    enter("writeRaw");
    requireVolumeName(name);
    if (bytes.empty())
        throw invalid("a volume written from memory needs at least 1 byte");
    requireAbsent(name);
    m_contents[name] = bytes;
    return m_volumes[name] = VolumeInfo{name, ImageFormat::Raw, bytes.size(), bytes.size(), ""};
}

std::string FakeStorage::contents(const std::string& name) const
{
    const std::lock_guard lock(m_mutex);
    auto it = m_contents.find(name);
    return it == m_contents.end() ? "" : it->second;
}

VolumeInfo FakeStorage::cloneOverlay(const std::string& name, const std::string& source, const ProgressFn& progress)
{
    VolumeInfo copy;
    {
        const std::lock_guard lock(m_mutex);
        enter("cloneOverlay");
        requireVolumeName(name);
        requireVolumeName(source);
        requireAbsent(name);
        copy = get(source);
        copy.name = name;
        m_volumes[name] = copy;
    }
    return finishLongCall("cloneOverlay", copy, copy.allocationBytes, progress);
}

VolumeInfo FakeStorage::flatten(const std::string& name, const std::string& source, const ProgressFn& progress)
{
    VolumeInfo flat;
    {
        const std::lock_guard lock(m_mutex);
        enter("flatten");
        requireVolumeName(name);
        requireVolumeName(source);
        requireAbsent(name);
        const VolumeInfo& from = get(source);
        flat = VolumeInfo{name, ImageFormat::Qcow2, from.capacityBytes, from.allocationBytes, ""};
        m_volumes[name] = flat;
    }
    return finishLongCall("flatten", flat, flat.capacityBytes, progress);
}

VolumeInfo FakeStorage::finishLongCall(const std::string& method, const VolumeInfo& info, std::uint64_t total,
                                       const ProgressFn& progress)
{
    try {
        checkpoint(progress, 0);
        waitAtHold(method);
        checkpoint(progress, total);
    } catch (...) {
        const std::lock_guard lock(m_mutex);
        m_volumes.erase(info.name);
        throw;
    }
    return info;
}

VolumeInfo FakeStorage::resize(const std::string& name, std::uint64_t capacityBytes)
{
    const std::lock_guard lock(m_mutex);
    enter("resize");
    requireVolumeName(name);
    if (capacityBytes < get(name).capacityBytes)
        throw invalid("volume " + name + " cannot shrink");
    auto& volume = m_volumes[name];
    volume.capacityBytes = capacityBytes;
    return volume;
}

void FakeStorage::remove(const std::string& name)
{
    const std::lock_guard lock(m_mutex);
    enter("remove");
    requireVolumeName(name);
    m_volumes.erase(name);
    m_contents.erase(name);
}

std::optional<VolumeInfo> FakeStorage::find(const std::string& name)
{
    const std::lock_guard lock(m_mutex);
    enter("find");
    requireVolumeName(name);
    auto it = m_volumes.find(name);
    if (it == m_volumes.end())
        return std::nullopt;
    return it->second;
}

std::vector<std::string> FakeStorage::list()
{
    const std::lock_guard lock(m_mutex);
    enter("list");
    std::vector<std::string> names;
    for (const auto& [name, info] : m_volumes)
        names.push_back(name);
    return names;
}

void FakeStorage::failNext(const std::string& method, Error error, int times)
{
    const std::lock_guard lock(m_mutex);
    if (times > 0)
        m_failures.insert_or_assign(method, std::make_pair(std::move(error), times));
}

int FakeStorage::calls(const std::string& method) const
{
    const std::lock_guard lock(m_mutex);
    auto it = m_calls.find(method);
    return it == m_calls.end() ? 0 : it->second;
}

std::vector<std::string> FakeStorage::volumes() const
{
    const std::lock_guard lock(m_mutex);
    std::vector<std::string> names;
    for (const auto& [name, info] : m_volumes)
        names.push_back(name);
    return names;
}

bool FakeStorage::has(const std::string& name) const
{
    const std::lock_guard lock(m_mutex);
    return m_volumes.count(name) != 0;
}

std::optional<std::string> FakeStorage::backingOf(const std::string& name) const
{
    const std::lock_guard lock(m_mutex);
    auto it = m_volumes.find(name);
    if (it == m_volumes.end())
        return std::nullopt;
    return it->second.backingVolume;
}

void FakeStorage::addOutside(VolumeInfo info)
{
    const std::lock_guard lock(m_mutex);
    const std::string name = info.name;
    m_volumes.insert_or_assign(name, std::move(info));
}

void FakeStorage::removeOutside(const std::string& name)
{
    const std::lock_guard lock(m_mutex);
    m_volumes.erase(name);
}

void FakeStorage::hold(const std::string& method)
{
    const std::lock_guard lock(m_mutex);
    m_held.insert(method);
}

void FakeStorage::release(const std::string& method)
{
    {
        const std::lock_guard lock(m_mutex);
        m_held.erase(method);
    }
    m_holdChanged.notify_all();
}

bool FakeStorage::waitHeld(const std::string& method, std::size_t count, std::chrono::milliseconds deadline)
{
    std::unique_lock lock(m_mutex);
    return m_holdChanged.wait_for(lock, deadline, [&] { return m_waiting[method] >= count; });
}

bool FakeStorage::waitAtHold(const std::string& method)
{
    std::unique_lock lock(m_mutex);
    if (!m_held.count(method))
        return false;
    ++m_waiting[method];
    m_holdChanged.notify_all();
    m_holdChanged.wait(lock, [&] { return !m_held.count(method); });
    --m_waiting[method];
    return true;
}

} // namespace hangar::testing
