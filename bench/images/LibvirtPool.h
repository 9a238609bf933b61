// The benchmark's own connection to the private libvirtd, beside hangard's: the storage pool hangard made, used to
// time libvirt's calls on their own — a full copy of an image volume (virStorageVolCreateXMLFrom, what `virsh
// vol-clone` does), the overlay volume hangard's CreateVM asks for (virStorageVolCreateXML with a backing store) and
// the definition of a domain like hangard's (virDomainDefineXML) — so the CreateVM figure can be split into libvirt's
// part and the rest. Every handle is RAII; every failure throws with libvirt's message.
#pragma once

#include "Process.h"

#include <cstdint>
#include <libvirt/libvirt.h>
#include <memory>
#include <string>
#include <vector>

namespace hangar::bench::images {

template <typename T, int (*Release)(T*)> struct Releaser
{
    void operator()(T* p) const { Release(p); }
};
using ConnectionPtr = std::unique_ptr<virConnect, Releaser<virConnect, virConnectClose>>;
using PoolPtr = std::unique_ptr<virStoragePool, Releaser<virStoragePool, virStoragePoolFree>>;
using VolumePtr = std::unique_ptr<virStorageVol, Releaser<virStorageVol, virStorageVolFree>>;
using DomainPtr = std::unique_ptr<virDomain, Releaser<virDomain, virDomainFree>>;

// Turns libvirt's default error printing off (failures are reported through exceptions) and initializes it.
void initLibvirt();

struct VolumeFacts
{
    std::string name, path, xml;
    std::uint64_t capacity = 0;   // what a guest sees
    std::uint64_t allocation = 0; // what the file occupies
};

class LibvirtPool
{
public:
    LibvirtPool(const std::string& uri, const std::string& pool);

    std::vector<std::string> volumeNames();
    VolumeFacts describe(const std::string& volume);
    void removeVolume(const std::string& volume);

    // libvirt's full copy of source into a new volume named name, as `virsh vol-clone` makes it: the source's own
    // description with the name changed. Returns how long virStorageVolCreateXMLFrom took.
    Clock::duration timeFullCopy(const std::string& source, const std::string& name);
    // The volume hangard's CreateVM makes for a VM from an image: a qcow2 overlay backed by the image (same XML as
    // daemon/virt/LibvirtStorage.cpp's). Returns how long virStorageVolCreateXML took.
    Clock::duration timeOverlay(const std::string& name, const VolumeFacts& base, const std::string& baseFormat,
                                std::uint64_t capacity);
    // Defines a copy of an existing domain under a new name and UUID and returns how long virDomainDefineXML took;
    // the copy is undefined again (not timed).
    Clock::duration timeDefineLike(const std::string& domainName);
    // Names of the defined domains.
    std::vector<std::string> domainNames();

private:
    VolumePtr volume(const std::string& name);

    ConnectionPtr m_conn;
    PoolPtr m_pool;
    std::string m_poolName;
};

// The text of the first <element>...</element> in xml replaced by text.
std::string replaceFirstElement(const std::string& xml, const std::string& element, const std::string& text);

} // namespace hangar::bench::images
