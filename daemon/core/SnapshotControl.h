// SnapshotControl is the part of the Hypervisor (core/Hypervisor.h) that takes, lists, reverts to and deletes a
// domain's snapshots, through libvirt's snapshot API: internal snapshots of the VM's qcow2 disk (with memory state
// when it runs); a CD-ROM is not part of them. Synchronous and thread-safe like DomainControl; Error(NotFound) for
// an unknown domain.
#pragma once

#include "core/DomainControl.h"
#include "core/Types.h"

#include <string>
#include <vector>

namespace hangar {

class SnapshotControl
{
public:
    virtual ~SnapshotControl() = default;

    // Error(AlreadyExists) for a taken name; Error(NotSupported) for a domain without a disk to snapshot.
    virtual void createSnapshot(const std::string& uuid, const std::string& name, const std::string& description) = 0;
    // Oldest first; `current` marks the one the domain was last taken at or reverted to.
    virtual std::vector<SnapshotInfo> listSnapshots(const std::string& uuid) = 0;
    // Error(NotFound) for an unknown name. Returns the state the domain is in afterwards (a snapshot taken while
    // running resumes running).
    virtual DomainState revertToSnapshot(const std::string& uuid, const std::string& name) = 0;
    // Error(NotFound) for an unknown name.
    virtual void deleteSnapshot(const std::string& uuid, const std::string& name) = 0;
};

} // namespace hangar
