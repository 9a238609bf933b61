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

private:
    void startRemoval(const Ticket& ticket, Vm& vm, DeleteOptions options);

    VmContext& m_ctx;
    VmStateTracker& m_tracker;
};

} // namespace hangar
