// VmRemoval: Delete (phase Deleting recorded before the domain or disk is touched, so a crash is finished at the
// next start) and Rename (the store is the authority on names; the domain's metadata follows on a worker, and a
// failure there puts the old name back). Loop thread only.
#pragma once

#include "core/VmContext.h"
#include "core/VmStateTracker.h"

#include <string>

namespace hangar {

struct DeleteOptions
{
    bool force = false;
};

class VmRemoval
{
public:
    VmRemoval(VmContext& context, VmStateTracker& tracker) : m_ctx(context), m_tracker(tracker) {}

    void remove(const Caller& caller, const std::string& uuid, DeleteOptions options, Done<> done);
    void rename(const Caller& caller, const std::string& uuid, const std::string& newName, Done<> done);
    // The daemon's own deletion (core/VmLifetime: an ephemeral VM that stopped, an expired one): no authorization,
    // powered off first, recorded as uid 0 with reason as the message. done says whether it could start: false
    // while another operation runs on the VM or it is not settled, so the caller tries again later.
    void removeAsDaemon(const std::string& uuid, const std::string& reason, const Done<>& done);

private:
    void startRemoval(const Ticket& ticket, Vm& vm, DeleteOptions options, const std::string& detail = "deleted");

    VmContext& m_ctx;
    VmStateTracker& m_tracker;
};

} // namespace hangar
