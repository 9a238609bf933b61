// VmLifecycle runs the operations that move an existing VM between run states (start, stop, reboot, pause,
// resume, and the snapshot operations of core/VmSnapshots), each described as a LifecycleOperation: its state
// check on the loop, its hypervisor call on a worker, and how the state it leaves settles. The pipeline around
// them is core/OperationRunner's. It also keeps Stop's deadline: when a guest asked to power off is still up after
// timeout_sec, it is powered off (a force-stop, through the same pipeline, recorded as the caller's). A new
// lifecycle operation is a factory returning a LifecycleOperation plus one line in VmManager. Loop thread only.
#pragma once

#include "core/VmContext.h"
#include "core/VmStateTracker.h"

#include <functional>
#include <string>

namespace hangar {

struct StopOptions
{
    bool force = false;
    std::uint32_t timeoutSec = 0;
};

struct LifecycleOperation
{
    VmOperation kind = VmOperation::Start;
    std::function<void(const Vm&)> validate;                               // optional: before authorization
    std::function<void(const Vm&)> check;                                  // throws Error when not allowed now
    std::function<DomainState(Hypervisor&, const std::string& uuid)> work; // returns the state afterwards
    std::function<void(Vm&, DomainState)> settle;                          // optional: custom state settling
    bool startsVm = false; // subject to the owner's max_running when the owner asks
    std::string done;      // what the audit log says on success; default: the state afterwards
};

// An operation allowed in exactly one state, carried out by one hypervisor call.
LifecycleOperation transition(VmOperation kind, VmState from, std::string_view requirement,
                              void (Hypervisor::*call)(const std::string&));
LifecycleOperation startOperation();

class VmLifecycle
{
public:
    VmLifecycle(VmContext& context, VmStateTracker& tracker) : m_ctx(context), m_tracker(tracker) {}

    void run(const Caller& caller, const std::string& uuid, LifecycleOperation op, Done<> done);
    void stop(const Caller& caller, const std::string& uuid, StopOptions options, Done<> done);

private:
    void proceed(const Ticket& ticket, Vm& vm, const LifecycleOperation& op, const std::optional<QuotaLimits>& limits);
    void armStopDeadline(Vm& vm, std::uint32_t uid, std::uint32_t timeoutSec);
    void stopDeadlineReached(const std::string& uuid, std::uint32_t uid, std::uint32_t timeoutSec);

    VmContext& m_ctx;
    VmStateTracker& m_tracker;
};

} // namespace hangar
