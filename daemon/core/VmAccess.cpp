#include "core/VmAccess.h"

#include <fmt/format.h>
#include <memory>
#include <optional>

namespace hangar {
namespace {

// The states in which the VM's QEMU process exists, so its console and VNC server do.
bool hasLiveGuest(VmState s)
{
    return s == VmState::Running || s == VmState::Paused || s == VmState::ShuttingDown || s == VmState::Suspended;
}

void requireLiveGuest(const Vm& vm, const std::string& verb)
{
    if (!hasLiveGuest(vm.state))
        throw Error(ErrorCode::Busy, fmt::format("VM '{}' is {}; its {} is only there while it runs", vm.record.name,
                                                 stateName(vm.state), verb == "console" ? "console" : "display"));
}

} // namespace

VmAccess::VmAccess(Inventory& inventory, ConsoleAccess& consoles, Authorizer& authorizer, Executor& executor,
                   AuditLog& audit)
    : m_inventory(inventory), m_consoles(consoles), m_authorizer(authorizer), m_executor(executor), m_audit(audit)
{}

void VmAccess::openConsole(const Caller& caller, const std::string& uuid, bool force, Done<SharedFd> done)
{
    // "attached by uid N" is what the VM's ConsoleAttached turning true is audited as (core/ConsolePresence.h).
    open(
        caller, uuid, "console",
        fmt::format("opened the serial console{}: console attached by uid {}", force ? ", taking it over (force)" : "",
                    caller.uid),
        [force](ConsoleAccess& hv, const std::string& id) { return hv.openConsole(id, force); }, std::move(done));
}

void VmAccess::openGraphics(const Caller& caller, const std::string& uuid, Done<SharedFd> done)
{
    open(
        caller, uuid, "graphics", "opened a connection to the display (VNC)",
        [](ConsoleAccess& hv, const std::string& id) { return hv.openGraphics(id); }, std::move(done));
}

void VmAccess::openLog(const Caller& caller, const std::string& uuid, Done<SharedFd> done)
{
    open(
        caller, uuid, "log", "opened the hypervisor's log",
        [](ConsoleAccess& hv, const std::string& id) { return hv.openLog(id); }, std::move(done));
}

Error VmAccess::explain(const Vm& vm, const std::string& verb, const Error& error)
{
    if (verb == "log" && error.code() == ErrorCode::NotFound)
        return Error(ErrorCode::NotFound,
                     fmt::format("VM '{}' has no hypervisor log: it has not run on its host yet ({})", vm.record.name,
                                 error.what()));
    return error;
}

void VmAccess::open(const Caller& caller, const std::string& uuid, const std::string& verb, std::string success,
                    Work work, Done<SharedFd> done)
{
    const Vm* vm = m_inventory.find(uuid);
    if (!vm)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    // A console shows what the guest prints and takes keystrokes as root would type them: the same right as
    // stopping the VM, asked before anything is touched.
    const Action action = vm->record.owner == caller.uid ? Action::ManageOwnVms : Action::ManageAllVms;
    m_authorizer.check(caller, action, {{"vm", vm->record.name}, {"verb", verb}},
                       [this, caller, uuid, verb, success = std::move(success), work = std::move(work),
                        done = std::move(done)](std::optional<Error> denied) mutable {
                           const Vm* vm = m_inventory.find(uuid);
                           if (!vm)
                               return done(
                                   Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
                           if (denied) {
                               m_audit.failure(caller.uid, &vm->record, verb, *denied);
                               return done(*denied);
                           }
                           proceed(caller, uuid, verb, std::move(success), std::move(work), std::move(done));
                       });
}

void VmAccess::proceed(const Caller& caller, const std::string& uuid, const std::string& verb, std::string success,
                       Work work, Done<SharedFd> done)
{
    const Vm* vm = m_inventory.find(uuid);
    try {
        if (verb != "log") // the log is there whether the guest runs or not
            requireLiveGuest(*vm, verb);
    } catch (const Error& e) {
        m_audit.failure(caller.uid, &vm->record, verb, e);
        return done(e);
    }
    struct Result
    {
        SharedFd fd;
        std::optional<Error> error;
    };
    auto result = std::make_shared<Result>();
    m_executor.submit(
        [&hv = m_consoles, uuid, work = std::move(work), result] {
            try {
                result->fd = std::make_shared<UniqueFd>(work(hv, uuid));
            } catch (const std::exception& e) {
                result->error = asError(e);
            }
        },
        [this, caller, uuid, verb, success = std::move(success), result, done = std::move(done)] {
            const Vm* vm = m_inventory.find(uuid);
            if (result->error) {
                if (!vm)
                    return done(*result->error);
                const Error error = explain(*vm, verb, *result->error);
                m_audit.failure(caller.uid, &vm->record, verb, error);
                return done(error);
            }
            if (vm)
                m_audit.success(caller.uid, &vm->record, verb, success);
            done(std::move(result->fd));
        });
}

void VmAccess::stateChanged(Vm& vm)
{
    const std::string uuid = vm.record.uuid;
    if (!hasLiveGuest(vm.state)) {
        m_graphicsLookup.erase(uuid);
        m_inventory.setGraphicsAddress(vm, "");
        return;
    }
    // Running to paused and back keeps the VNC server and its port; only a guest that just came up needs asking.
    if (!vm.graphicsAddress.empty())
        return;
    const std::uint64_t lookup = m_nextLookup++;
    m_graphicsLookup[uuid] = lookup;
    auto address = std::make_shared<std::string>();
    m_executor.submit(
        [&hv = m_consoles, uuid, address] {
            try {
                *address = hv.graphicsAddress(uuid);
            } catch (const std::exception&) { // stopped or gone meanwhile: nothing to show
            }
        },
        [this, uuid, lookup, address] {
            auto latest = m_graphicsLookup.find(uuid);
            if (latest == m_graphicsLookup.end() || latest->second != lookup)
                return;
            m_graphicsLookup.erase(latest);
            if (Vm* vm = m_inventory.find(uuid); vm && hasLiveGuest(vm->state))
                m_inventory.setGraphicsAddress(*vm, *address);
        });
}

} // namespace hangar
