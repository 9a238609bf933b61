#include "virt/SnapshotXml.h"

#include "virt/XmlSupport.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

namespace hangar::virt {
namespace {

using xml::sv;

// libvirt's snapshot states (virDomainSnapshotState) as Hangar's VM states. A disk-only snapshot has no memory
// state: reverting to it leaves the domain stopped, like one taken while stopped.
constexpr std::array<std::pair<std::string_view, VmState>, 9> kSnapshotStates{{
    {"running", VmState::Running},
    {"blocked", VmState::Running},
    {"paused", VmState::Paused},
    {"shutdown", VmState::ShuttingDown},
    {"shutoff", VmState::Stopped},
    {"crashed", VmState::Crashed},
    {"pmsuspended", VmState::Suspended},
    {"disk-snapshot", VmState::Stopped},
    {"nostate", VmState::Stopped},
}};

std::string stateOf(std::string_view libvirtState)
{
    for (const auto& [name, state] : kSnapshotStates)
        if (name == libvirtState)
            return std::string(stateName(state));
    return std::string(stateName(VmState::Stopped)); // as toDomainState: a state newer than this code runs nothing
}

std::optional<std::int64_t> parseSeconds(std::string_view s)
{
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || value < 0 ||
        value > std::numeric_limits<std::int64_t>::max() / 1000000)
        return std::nullopt;
    return value;
}

// The text of the child element `name`, nullopt when absent or not plain text.
std::optional<std::string> childText(xmlNodePtr parent, std::string_view name)
{
    const xmlNodePtr node = xml::child(parent, name);
    return node ? xml::elementText(node) : std::nullopt;
}

} // namespace

std::vector<SnapshotDisk> snapshotDisks(const std::string& domainXml)
{
    std::vector<SnapshotDisk> disks;
    const auto doc = xml::parseUntrusted(domainXml, "domain.xml");
    const xmlNodePtr root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    if (!root || sv(root->name) != "domain")
        return disks;
    const xmlNodePtr devices = xml::child(root, "devices");
    for (xmlNodePtr disk = devices ? devices->children : nullptr; disk; disk = disk->next) {
        if (disk->type != XML_ELEMENT_NODE || sv(disk->name) != "disk")
            continue;
        const xmlNodePtr target = xml::child(disk, "target");
        auto dev = target ? xml::attribute(target, "dev") : std::nullopt;
        if (!dev || dev->empty())
            continue;
        const auto device = xml::attribute(disk, "device").value_or("disk");
        const bool removable = device == "cdrom" || device == "floppy";
        disks.push_back({std::move(*dev), !removable && !xml::child(disk, "readonly")});
    }
    return disks;
}

std::string buildSnapshotXml(const std::string& name, const std::string& description,
                             const std::vector<SnapshotDisk>& disks)
{
    xml::requireText("snapshot name", name);
    xml::requireText("snapshot description", description);
    xml::Writer w("snapshot XML");
    w.start("domainsnapshot");
    w.element("name", name);
    if (!description.empty())
        w.element("description", description);
    if (!disks.empty()) {
        w.start("disks");
        for (const auto& disk : disks) {
            w.start("disk");
            w.attribute("name", disk.target);
            w.attribute("snapshot", disk.internal ? "internal" : "no");
            w.end();
        }
        w.end();
    }
    w.end();
    return w.finish();
}

std::optional<SnapshotInfo> parseSnapshotXml(const std::string& text)
{
    const auto doc = xml::parseUntrusted(text, "snapshot.xml");
    const xmlNodePtr root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    if (!root || sv(root->name) != "domainsnapshot")
        return std::nullopt;
    auto name = childText(root, "name");
    const auto created = childText(root, "creationTime");
    const auto seconds = created ? parseSeconds(*created) : std::nullopt;
    if (!name || name->empty() || !seconds)
        return std::nullopt;
    SnapshotInfo info;
    info.name = std::move(*name);
    info.description = childText(root, "description").value_or("");
    info.createdAtUsec = *seconds * 1000000;
    info.state = stateOf(childText(root, "state").value_or(""));
    return info;
}

} // namespace hangar::virt
