#include "LibvirtPool.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <libvirt/virterror.h>
#include <random>
#include <stdexcept>

namespace hangar::bench::images {
namespace {

// Strings and arrays that libvirt returns are the caller's to free().
struct FreeDeleter
{
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): libvirt's contract is free()
    void operator()(void* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

// Takes over the n handles of a libvirt array (and frees the array itself).
template <typename Owned, typename Raw> std::vector<Owned> adopt(Raw* array, int n)
{
    const std::unique_ptr<Raw, FreeDeleter> owner(array);
    std::vector<Owned> owned;
    owned.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        owned.emplace_back(array[i]);
    return owned;
}

void ignoreError(void*, virErrorPtr) {}

[[noreturn]] void fail(const std::string& what)
{
    const virErrorPtr e = virGetLastError();
    throw std::runtime_error("cannot " + what + ": " + (e && e->message ? e->message : "unknown libvirt error"));
}

std::string xmlEscape(const std::string& text)
{
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string randomUuid()
{
    std::random_device device;
    std::array<unsigned char, 16> bytes{};
    for (auto& b : bytes)
        b = static_cast<unsigned char>(device() & 0xFFU);
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0FU) | 0x40U); // version 4
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3FU) | 0x80U); // RFC 4122 variant
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        std::array<char, 3> hex{};
        std::snprintf(hex.data(), hex.size(), "%02x", bytes[i]);
        out += hex.data();
    }
    return out;
}

} // namespace

void initLibvirt()
{
    if (virInitialize() < 0)
        throw std::runtime_error("virInitialize failed");
    virSetErrorFunc(nullptr, ignoreError);
}

std::string replaceFirstElement(const std::string& xml, const std::string& element, const std::string& text)
{
    const std::string open = "<" + element + ">";
    const std::string close = "</" + element + ">";
    const auto begin = xml.find(open);
    const auto end = begin == std::string::npos ? begin : xml.find(close, begin);
    if (end == std::string::npos)
        throw std::runtime_error("no <" + element + "> in libvirt's XML");
    return xml.substr(0, begin + open.size()) + xmlEscape(text) + xml.substr(end);
}

LibvirtPool::LibvirtPool(const std::string& uri, const std::string& pool)
    : m_conn(virConnectOpen(uri.c_str())), m_poolName(pool)
{
    if (!m_conn)
        fail("connect to " + uri);
    m_pool.reset(virStoragePoolLookupByName(m_conn.get(), pool.c_str()));
    if (!m_pool)
        fail("find storage pool " + pool);
}

VolumePtr LibvirtPool::volume(const std::string& name)
{
    VolumePtr vol(virStorageVolLookupByName(m_pool.get(), name.c_str()));
    if (!vol)
        fail("find volume " + name + " in pool " + m_poolName);
    return vol;
}

std::vector<std::string> LibvirtPool::volumeNames()
{
    if (virStoragePoolRefresh(m_pool.get(), 0) < 0)
        fail("refresh pool " + m_poolName);
    virStorageVolPtr* raw = nullptr;
    const int n = virStoragePoolListAllVolumes(m_pool.get(), &raw, 0);
    if (n < 0)
        fail("list the volumes of pool " + m_poolName);
    const auto owned = adopt<VolumePtr>(raw, n);
    std::vector<std::string> names;
    names.reserve(owned.size());
    for (const auto& vol : owned)
        names.emplace_back(virStorageVolGetName(vol.get()));
    return names;
}

VolumeFacts LibvirtPool::describe(const std::string& name)
{
    const VolumePtr vol = volume(name);
    VolumeFacts facts;
    facts.name = name;
    const CString path(virStorageVolGetPath(vol.get()));
    const CString xml(virStorageVolGetXMLDesc(vol.get(), 0));
    virStorageVolInfo info{};
    if (!path || !xml || virStorageVolGetInfo(vol.get(), &info) < 0)
        fail("describe volume " + name);
    facts.path = path.get();
    facts.xml = xml.get();
    facts.capacity = info.capacity;
    facts.allocation = info.allocation;
    return facts;
}

void LibvirtPool::removeVolume(const std::string& name)
{
    if (virStorageVolDelete(volume(name).get(), 0) < 0)
        fail("delete volume " + name);
}

Clock::duration LibvirtPool::timeFullCopy(const std::string& source, const std::string& name)
{
    const VolumePtr from = volume(source);
    const CString xml(virStorageVolGetXMLDesc(from.get(), 0));
    if (!xml)
        fail("describe volume " + source);
    const std::string copyXml = replaceFirstElement(xml.get(), "name", name);
    const auto started = Clock::now();
    const VolumePtr copy(virStorageVolCreateXMLFrom(m_pool.get(), copyXml.c_str(), from.get(), 0));
    const auto took = Clock::now() - started;
    if (!copy)
        fail("copy volume " + source + " to " + name);
    return took;
}

Clock::duration LibvirtPool::timeOverlay(const std::string& name, const VolumeFacts& base,
                                         const std::string& baseFormat, std::uint64_t capacity)
{
    const std::string xml =
        "<volume><name>" + xmlEscape(name) + "</name><capacity unit=\"bytes\">" + std::to_string(capacity) +
        "</capacity><allocation unit=\"bytes\">0</allocation><target><format type=\"qcow2\"/>"
        "<compat>1.1</compat></target><backingStore><path>" +
        xmlEscape(base.path) + "</path><format type=\"" + baseFormat + "\"/></backingStore></volume>";
    const auto started = Clock::now();
    const VolumePtr vol(virStorageVolCreateXML(m_pool.get(), xml.c_str(), 0));
    const auto took = Clock::now() - started;
    if (!vol)
        fail("create overlay volume " + name);
    return took;
}

std::vector<std::string> LibvirtPool::domainNames()
{
    virDomainPtr* raw = nullptr;
    const int n = virConnectListAllDomains(m_conn.get(), &raw, 0);
    if (n < 0)
        fail("list the domains");
    const auto owned = adopt<DomainPtr>(raw, n);
    std::vector<std::string> names;
    names.reserve(owned.size());
    for (const auto& dom : owned)
        names.emplace_back(virDomainGetName(dom.get()));
    return names;
}

Clock::duration LibvirtPool::timeDefineLike(const std::string& domainName)
{
    const DomainPtr original(virDomainLookupByName(m_conn.get(), domainName.c_str()));
    if (!original)
        fail("find domain " + domainName);
    const CString xml(virDomainGetXMLDesc(original.get(), VIR_DOMAIN_XML_INACTIVE));
    if (!xml)
        fail("describe domain " + domainName);
    const std::string uuid = randomUuid();
    const std::string copyXml =
        replaceFirstElement(replaceFirstElement(xml.get(), "name", "bench-define-" + uuid), "uuid", uuid);
    const auto started = Clock::now();
    const DomainPtr copy(virDomainDefineXML(m_conn.get(), copyXml.c_str()));
    const auto took = Clock::now() - started;
    if (!copy)
        fail("define a copy of domain " + domainName);
    if (virDomainUndefine(copy.get()) < 0)
        fail("undefine the copy of domain " + domainName);
    return took;
}

} // namespace hangar::bench::images
