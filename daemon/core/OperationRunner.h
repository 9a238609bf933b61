// The operation pipeline: the sequence every state-changing request on a VM goes through, written once.
//
//   open a Ticket  ->  find the VM ("no such VM")  ->  authorize (polkit, asynchronous)  ->  find it again ("the VM
//   was deleted while authorization was pending")  ->  [quota]  ->  guard (no other operation in flight, not being
//   created or deleted, the operation's own state check)  ->  mark the VM with the operation  ->  step on a worker
//   ->  find it again, clear the mark, settle  ->  audit  ->  reply.
//
// Each operation (core/VmLifecycle, VmSnapshots, VmCreation, VmRemoval, ImageFill) says only what differs: its
// validation, its guard, its worker step and how it settles. Every failure after the Ticket is opened goes through
// fail(), which records it in the audit log, clears the operation's mark if it holds one, and replies once. A VM
// that vanished meanwhile is no failure of the operation: it completes with NotFound and writes no trail (there is
// nothing left to write it about, and no mark left to clear). Loop thread only (checked: core/LoopThread.h).
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/Inventory.h"
#include "core/Outcome.h"
#include "core/Quota.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace hangar {

namespace detail {
// work wrapped to keep its result or its error, and then wrapped to receive it: the two halves both executors'
// submit methods take.
template <typename R>
std::pair<std::function<void()>, std::function<void()>> carryOutcome(std::function<R()> work,
                                                                     std::function<void(Outcome<R>)> then)
{
    auto result = std::make_shared<std::optional<Outcome<R>>>();
    return {[work = std::move(work), result] {
                try {
                    result->emplace(work());
                } catch (const std::exception& e) {
                    result->emplace(asError(e));
                }
            },
            [then = std::move(then), result] { then(std::move(**result)); }};
}
} // namespace detail

// Runs work on a worker and then on the loop with its outcome: an Error (or any exception, as an Error) thrown by
// work becomes the outcome's error. The one way core carries a result back from a worker.
template <typename R>
void runOnWorker(Executor& executor, std::function<R()> work, std::function<void(Outcome<R>)> then)
{
    auto [run, done] = detail::carryOutcome<R>(std::move(work), std::move(then));
    executor.submit(std::move(run), std::move(done));
}

// runOnWorker on the long-I/O pool (Executor::submitLong); returns the work's id, for a CopyWatch to abandon it by.
template <typename R>
Executor::LongWorkId runLong(Executor& executor, std::function<R()> work, std::function<void(Outcome<R>)> then)
{
    auto [run, done] = detail::carryOutcome<R>(std::move(work), std::move(then));
    return executor.submitLong(std::move(run), std::move(done));
}

// One request on its way through the pipeline: who asked, about which VM, for what; whether it holds the VM's
// mark; and how it replies. Shared by the asynchronous steps (std::shared_ptr), so the mark travels with it.
struct OperationTicket
{
    Caller caller;
    std::string uuid;   // the VM it is about; empty until a created VM has one
    VmOperation kind;   // also the audit action (operationName)
    std::string vmName; // audited by name while there is no VM (a create before its row exists)
    bool marked = false;
    std::function<void(const Error&)> reject;
    std::function<void()> accept; // the success reply; set by the operation where it is not Done<>'s monostate
};
using Ticket = std::shared_ptr<OperationTicket>;

// How much of a VM's state the guard insists on before the operation's own check.
enum class Guard
{
    NotBusy,   // only: no other operation in flight (the operation's check says which states it takes)
    NotInFlux, // and not being created or deleted
    Settled,   // and not unavailable either: the hypervisor knows its domain
};

class OperationRunner
{
public:
    OperationRunner(Inventory& inventory, Authorizer& authorizer, Executor& executor, AuditLog& audit,
                    QuotaManager& quotas)
        : m_inventory(inventory), m_authorizer(authorizer), m_executor(executor), m_audit(audit), m_quotas(quotas)
    {}

    template <typename T> static Ticket open(const Caller& caller, std::string uuid, VmOperation kind, Done<T> done)
    {
        auto ticket = std::make_shared<OperationTicket>(
            OperationTicket{caller, std::move(uuid), kind, {}, false, [done](const Error& e) { done(e); }, {}});
        if constexpr (std::is_same_v<T, std::monostate>)
            ticket->accept = [done] { done(std::monostate{}); };
        return ticket;
    }

    // The VM as it is now, or nullptr.
    Vm* find(const Ticket& ticket);
    // The VM as it is now; if it is gone, completes the ticket with NotFound(message) and returns nullptr.
    Vm* findOrLose(const Ticket& ticket, const char* message = "no such VM");

    // The VM's own authorization: manage-own-vms on one's own VM, manage-all-vms on another's; polkit is told the
    // VM's name and the verb. next runs with the VM found again; a denial is the failure path.
    void authorize(const Ticket& ticket, std::function<void(Vm&)> next);
    // Any other action with the given details; next runs after an allowance (whatever became of the VM).
    void authorizeAction(const Ticket& ticket, Action action, const AuthDetails& details, std::function<void()> next);
    // authorizeAction, then next with the VM found again.
    void authorizeOnVm(const Ticket& ticket, Action action, const AuthDetails& details, std::function<void(Vm&)> next);
    // The caller's effective quota; next runs with the VM found again (else NotFound(lost)) and the limits.
    void withQuota(const Ticket& ticket, std::function<void(Vm&, const QuotaLimits&)> next,
                   const char* lost = "the VM was deleted meanwhile");

    // The guard, then check (which throws Error when the operation is not allowed now). Returns false after
    // failing the ticket.
    bool guard(const Ticket& ticket, Vm& vm, Guard level, const std::function<void(const Vm&)>& check = {});
    // Marks vm with the ticket's operation: from here until the step settles, every other request finds it busy.
    void mark(const Ticket& ticket, Vm& vm);
    // guard, then mark.
    bool claim(const Ticket& ticket, Vm& vm, Guard level, const std::function<void(const Vm&)>& check = {});
    // Clears the ticket's mark, if it holds one and its VM still exists.
    void release(const Ticket& ticket);

    // Runs work on a worker; back on the loop finds the VM again (else completes with `lost`), clears the mark
    // and calls settle, which replies through succeed() or throws Error for the failure path.
    template <typename R>
    void step(const Ticket& ticket, std::function<R()> work, std::function<void(Vm&, Outcome<R>)> settle,
              Error lost = Error(ErrorCode::NotFound, "the VM was deleted meanwhile"))
    {
        runOnWorker<R>(m_executor, std::move(work),
                       [this, ticket, settle = std::move(settle), lost = std::move(lost)](Outcome<R> outcome) {
                           Vm* vm = find(ticket);
                           if (!vm)
                               return ticket->reject(lost);
                           release(ticket);
                           try {
                               settle(*vm, std::move(outcome));
                           } catch (const Error& e) {
                               fail(ticket, e);
                           }
                       });
    }

    // Records the success against `about` (the VM's record, or a copy of it once the VM is gone) and replies.
    void succeed(const Ticket& ticket, const VmRecord& about, const std::string& message);
    // The failure path: records the failure (against `about`, else the VM if it still exists, else the name the
    // ticket carries), clears the mark if the ticket holds one, replies with the error.
    void fail(const Ticket& ticket, const Error& error, const VmRecord* about = nullptr);
    // Runs fn, sending an Error it throws down the failure path; returns whether fn completed.
    bool attempt(const Ticket& ticket, const std::function<void()>& fn);

private:
    Inventory& m_inventory;
    Authorizer& m_authorizer;
    Executor& m_executor;
    AuditLog& m_audit;
    QuotaManager& m_quotas;
};

// Error(Busy) "VM '<name>' <why>".
Error vmBusy(const Vm& vm, std::string_view why);

} // namespace hangar
