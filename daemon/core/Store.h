// The Store keeps Hangar's own records: VMs (owner, spec, phase) and the audit log. It is the daemon's memory
// across restarts; libvirt holds the domains themselves. Implementations: store/SqliteStore (also used in-memory
// by unit tests with path ":memory:"). Called on the loop thread only.
#pragma once

#include "core/Types.h"

#include <optional>
#include <string>
#include <vector>

namespace hangar {

class Store
{
public:
    virtual ~Store() = default;

    // A name taken by a row that is not Ready, which the managers do not hold (they check their own first), is
    // one that a crash left half-done and recovery is cleaning up: the writes below say Error(Busy) for it.

    virtual std::vector<VmRecord> loadVms() = 0;
    // Error(AlreadyExists) when the uuid or the name is taken (Busy, see above).
    virtual void insertVm(const VmRecord& vm) = 0;
    // Replaces the row with vm.uuid. Error(NotFound) if there is none, Error(AlreadyExists) on a name clash (Busy,
    // see above).
    virtual void updateVm(const VmRecord& vm) = 0;
    // Removing a row that does not exist is not an error (recovery may repeat it).
    virtual void deleteVm(const std::string& uuid) = 0;
    // Records something added to the VM's running guest (a user, a package); loadVms returns them in
    // VmRecord::addedUsers / installedPackages, oldest first. Recording one twice keeps one. Removed with the VM.
    virtual void addGuestChange(const std::string& uuid, const GuestChange& change) = 0;

    virtual std::vector<ImageRecord> loadImages() = 0;
    // Error(AlreadyExists) when the id or the name is taken (Busy, see above).
    virtual void insertImage(const ImageRecord& image) = 0;
    // Replaces the row with image.id. Error(NotFound) if there is none.
    virtual void updateImage(const ImageRecord& image) = 0;
    // Removing a row that does not exist is not an error.
    virtual void deleteImage(const std::string& id) = 0;

    // Appends and returns the event with its id set.
    virtual EventRecord appendEvent(EventRecord event) = 0;
    // The newest filter.limit matching events, oldest first.
    virtual std::vector<EventRecord> events(const EventFilter& filter) = 0;

    // A user's own quota, if an administrator set one.
    virtual std::optional<QuotaLimits> quota(std::uint32_t uid) = 0;
    virtual void setQuota(std::uint32_t uid, const QuotaLimits& limits) = 0;
    // Removing a quota that does not exist is not an error.
    virtual void deleteQuota(std::uint32_t uid) = 0;
};

} // namespace hangar
