// VmAccess hands callers a way into a running VM: a socket bridged to its serial console (exclusive unless forced)
// or connected to its VNC server (any number at once), and keeps each VM's GraphicsAddress in step with its state.
// It also hands out the hypervisor's log of a VM (core/HypervisorLog.h), running or not. Opening any of them is a
// manage-own-vms / manage-all-vms right like a lifecycle operation (asked the same way, with verb "console",
// "graphics" or "log"), goes to the hypervisor on a worker, and is recorded in the audit log. It is not an
// operation on the VM in VmManager's sense: a console open does not make a concurrent Stop Busy. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/ConsoleAccess.h"
#include "core/Executor.h"
#include "core/Inventory.h"
#include "core/Outcome.h"
#include "core/UniqueFd.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace hangar {

class VmAccess
{
public:
    VmAccess(Inventory& inventory, ConsoleAccess& consoles, Authorizer& authorizer, Executor& executor,
             AuditLog& audit);

    // Busy unless the VM's QEMU runs (running, paused, shutting down or suspended); Busy while another console is
    // open unless force; NotSupported where the hypervisor has no consoles.
    void openConsole(const Caller& caller, const std::string& uuid, bool force, Done<SharedFd> done);
    // Busy unless the VM's QEMU runs; NotSupported where the hypervisor cannot hand over a VNC connection.
    void openGraphics(const Caller& caller, const std::string& uuid, Done<SharedFd> done);
    // A read-only fd of the hypervisor's log of the VM, in any state: what the guest's console cannot show (QEMU's
    // command line and errors). NotFound for a VM that never ran on its host; NotSupported where the hypervisor
    // keeps no log Hangar can read.
    void openLog(const Caller& caller, const std::string& uuid, Done<SharedFd> done);

    // Inventory state listener: clears GraphicsAddress when the VM stops, asks the hypervisor for it when it runs.
    void stateChanged(Vm& vm);

private:
    using Work = std::function<UniqueFd(ConsoleAccess&, const std::string& uuid)>;
    void open(const Caller& caller, const std::string& uuid, const std::string& verb, std::string success, Work work,
              Done<SharedFd> done);
    void proceed(const Caller& caller, const std::string& uuid, const std::string& verb, std::string success, Work work,
                 Done<SharedFd> done);
    // What a failure of verb says to the caller (a missing log explained).
    static Error explain(const Vm& vm, const std::string& verb, const Error& error);

    Inventory& m_inventory;
    ConsoleAccess& m_consoles;
    Authorizer& m_authorizer;
    Executor& m_executor;
    AuditLog& m_audit;
    // The latest GraphicsAddress lookup per VM: an answer from an older one (the VM stopped and started again
    // meanwhile) is dropped. Numbers are never reused, so an entry can go whenever the VM stops.
    std::map<std::string, std::uint64_t> m_graphicsLookup;
    std::uint64_t m_nextLookup = 1;
};

} // namespace hangar
