// The XML of libvirt's storage objects, for LibvirtStorage: the definition of Hangar's dir pool and of a new volume
// (written with xml::Writer, so every value is escaped), the volume libvirt creates from it, and what Hangar reads
// back from libvirt's description of a pool or a volume (parsed as untrusted XML: anyone with virsh could have
// defined either). Internal to daemon/virt.
#pragma once

#include "core/Storage.h"
#include "virt/LibvirtSupport.h"

#include <cstdint>
#include <string>
#include <utility>

namespace hangar::virt {

// Lexically normal, no trailing slash: how pool paths are compared.
std::string normalPath(const std::string& path);

// The definition of a dir pool called name at path.
std::string poolXml(const std::string& name, const std::string& path);

// What Hangar reads from libvirt's description of a pool: both empty when the description cannot be read.
struct PoolXml
{
    std::string type;
    std::string path; // as libvirt has it, not normalised
};

// libvirt's description of pool, called name.
PoolXml readPool(virStoragePoolPtr pool, const std::string& name);

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

// A new volume in pool as v describes it; with from, libvirt fills it with from's content (qemu-img convert).
StorageVolPtr createVolume(virStoragePoolPtr pool, const NewVolume& v, virStorageVolPtr from = nullptr);

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
VolumeXml readVolume(virStorageVolPtr vol);

// The volume as Storage reports it; a backing file in the pool at poolPath (normal) is named by its volume name.
VolumeInfo toInfo(const VolumeXml& x, const std::string& poolPath);

} // namespace hangar::virt
