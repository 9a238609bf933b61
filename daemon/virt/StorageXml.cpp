#include "virt/StorageXml.h"

#include "core/Error.h"
#include "virt/XmlSupport.h"

#include <charconv>
#include <filesystem>
#include <optional>
#include <string_view>

namespace hangar::virt {
namespace {

using xml::sv;

void writeBytes(xml::Writer& w, const char* element, std::uint64_t bytes)
{
    w.start(element);
    w.attribute("unit", "bytes");
    w.text(std::to_string(bytes));
    w.end();
}

std::string volumeXml(const NewVolume& v)
{
    xml::Writer w("volume XML");
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

} // namespace

std::string normalPath(const std::string& path)
{
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/')
        normal.pop_back();
    return normal;
}

// 0711: QEMU, which may run as another user, reaches the volumes by path; nobody else lists them.
std::string poolXml(const std::string& name, const std::string& path)
{
    xml::Writer w("storage pool XML");
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

PoolXml readPool(virStoragePoolPtr pool, const std::string& name)
{
    const CString text(virStoragePoolGetXMLDesc(pool, 0));
    if (!text)
        throw storageError("describe storage pool " + name);
    const auto doc = xml::parseUntrusted(text.get(), "pool.xml");
    const xmlNodePtr root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    return {root ? xml::attribute(root, "type").value_or("") : "", childText(xml::child(root, "target"), "path")};
}

StorageVolPtr createVolume(virStoragePoolPtr pool, const NewVolume& v, virStorageVolPtr from)
{
    const std::string text = volumeXml(v);
    StorageVolPtr vol(from ? virStorageVolCreateXMLFrom(pool, text.c_str(), from, 0)
                           : virStorageVolCreateXML(pool, text.c_str(), 0));
    if (!vol)
        throw storageError("create volume " + v.name);
    return vol;
}

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

} // namespace hangar::virt
