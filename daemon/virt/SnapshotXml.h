// The libvirt <domainsnapshot> XML of Hangar's snapshots: the definition passed to virDomainSnapshotCreateXML and
// the reading of what virDomainSnapshotGetXMLDesc returns. A snapshot is internal: each writable disk of the domain
// takes it inside its own qcow2 file, and on a running domain libvirt adds the memory state (a full system
// snapshot); read-only disks and CD-ROMs are left out, as their content never changes. Written with libxml2's
// xmlTextWriter, read with virt/XmlSupport's untrusted parser. Internal to daemon/virt.
#pragma once

#include "core/Types.h"

#include <optional>
#include <string>
#include <vector>

namespace hangar::virt {

// One disk of a domain, by its target name ("vda", "hdc"), and whether a snapshot includes it.
struct SnapshotDisk
{
    std::string target;
    bool internal = false; // true: snapshot='internal'; false: snapshot='no'

    bool operator==(const SnapshotDisk&) const = default;
};

// The disks of a domain definition (virDomainGetXMLDesc) and how a snapshot treats each: writable disks internal,
// CD-ROMs, floppies and read-only disks not at all. Empty for malformed XML.
std::vector<SnapshotDisk> snapshotDisks(const std::string& domainXml);

// <domainsnapshot> with name, description (omitted when empty) and one <disk> per entry of disks, naming every disk
// of the domain so that nothing is left to the driver's defaults. Error(InvalidArgument) for text XML cannot carry.
std::string buildSnapshotXml(const std::string& name, const std::string& description,
                             const std::vector<SnapshotDisk>& disks);

// name, description, creation time and the domain's state at the time ("running", "stopped", ... as
// hangar::stateName) from libvirt's description of a snapshot; `current` is not in it and stays false. nullopt for
// malformed XML, a root other than domainsnapshot, or a missing name or creationTime.
std::optional<SnapshotInfo> parseSnapshotXml(const std::string& xml);

} // namespace hangar::virt
