#include "core/Reconciler.h"

#include "core/VmManager.h"

#include <fmt/format.h>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace hangar {

// Computed and carried out on a worker (hypervisor calls only), then applied on the loop (store and inventory).
struct Reconciler::Plan
{
    std::vector<VmRecord> pending; // rows left in Creating / Deleting by a crash
    std::vector<VmRecord> ready;   // settled VMs to check against the hypervisor

    std::vector<VmRecord> rolledBack, finished;
    std::map<std::string, DomainState> states;
    std::vector<std::string> redefined;
    std::map<std::string, std::string> unavailable; // uuid -> why
    std::vector<DomainInfo> foreign;                // Hangar metadata, no row
    std::optional<std::string> listError;
};

Reconciler::Reconciler(Inventory& inventory, Store& store, Hypervisor& hypervisor, Executor& executor, AuditLog& audit)
    : m_inventory(inventory), m_store(store), m_hypervisor(hypervisor), m_executor(executor), m_audit(audit)
{}

void Reconciler::startup(std::function<void(const ReconcileReport&)> done)
{
    std::vector<VmRecord> pending;
    for (auto& record : m_store.loadVms()) {
        if (record.phase != VmPhase::Ready) {
            pending.push_back(std::move(record));
            continue;
        }
        Vm vm;
        vm.record = std::move(record);
        vm.state = VmState::Unavailable; // until the hypervisor says otherwise
        m_inventory.add(std::move(vm));
    }
    reconcile(std::move(pending), std::move(done));
}

void Reconciler::handleHypervisorEvent(const HypervisorEvent& event)
{
    if (event.kind == HypervisorEvent::Kind::ConnectionLost) {
        for (Vm* vm : m_inventory.allMutable())
            if (!vm->operation && vm->state != VmState::Creating && vm->state != VmState::Deleting)
                m_inventory.setState(*vm, VmState::Unavailable);
        m_audit.failure(0, nullptr, "host",
                        Error(ErrorCode::BackendFailure,
                              fmt::format("lost the connection to {}; reconnecting", m_hypervisor.uri())));
    } else if (event.kind == HypervisorEvent::Kind::ConnectionRestored) {
        m_audit.success(0, nullptr, "host", fmt::format("reconnected to {}", m_hypervisor.uri()));
        reconcile({}, [](const ReconcileReport&) {});
    }
}

void Reconciler::reconcile(std::vector<VmRecord> pending, std::function<void(const ReconcileReport&)> done)
{
    if (m_reconciling)
        return done(ReconcileReport{});
    m_reconciling = true;
    auto plan = std::make_shared<Plan>();
    plan->pending = std::move(pending);
    for (const Vm* vm : m_inventory.all())
        if (!vm->operation && vm->state != VmState::Creating && vm->state != VmState::Deleting)
            plan->ready.push_back(vm->record);

    m_executor.submit(
        [&hv = m_hypervisor, plan] {
            std::vector<DomainInfo> domains;
            try {
                domains = hv.listDomains();
            } catch (const std::exception& e) {
                plan->listError = e.what();
                return;
            }
            std::map<std::string, const DomainInfo*> byUuid;
            for (const auto& d : domains)
                byUuid[d.uuid] = &d;

            for (const auto& record : plan->pending) {
                auto it = byUuid.find(record.uuid);
                try {
                    if (it != byUuid.end()) {
                        if (it->second->state != DomainState::Stopped)
                            hv.destroy(record.uuid);
                        hv.undefine(record.uuid);
                    }
                    (record.phase == VmPhase::Creating ? plan->rolledBack : plan->finished).push_back(record);
                } catch (const std::exception& e) {
                    plan->unavailable[record.uuid] = e.what();
                }
                byUuid.erase(record.uuid);
            }
            for (const auto& record : plan->ready) {
                auto it = byUuid.find(record.uuid);
                try {
                    if (it == byUuid.end()) {
                        hv.define(record);
                        plan->redefined.push_back(record.uuid);
                        plan->states[record.uuid] = DomainState::Stopped;
                        continue;
                    }
                    plan->states[record.uuid] = it->second->state;
                    // A crash between a rename's row and its metadata update leaves the metadata behind.
                    if (!it->second->record || it->second->record->name != record.name)
                        hv.updateMetadata(record);
                } catch (const std::exception& e) {
                    if (it == byUuid.end())
                        plan->unavailable[record.uuid] = e.what();
                }
                byUuid.erase(record.uuid);
            }
            for (const auto& [uuid, info] : byUuid)
                if (info->record)
                    plan->foreign.push_back(*info);
        },
        [this, plan, done = std::move(done)] {
            m_reconciling = false;
            ReconcileReport report;
            apply(*plan, report);
            done(report);
        });
}

void Reconciler::apply(Plan& plan, ReconcileReport& report)
{
    if (plan.listError) {
        for (const auto& record : plan.ready)
            if (Vm* vm = m_inventory.find(record.uuid))
                m_inventory.setState(*vm, VmState::Unavailable);
        m_audit.failure(0, nullptr, "reconcile",
                        Error(ErrorCode::BackendFailure,
                              fmt::format("cannot list the domains of {}: {}", m_hypervisor.uri(), *plan.listError)));
        return;
    }
    // A row that cannot be removed now stays in its phase and is recovered again at the next start; the failure
    // is recorded, and start-up goes on.
    auto forget = [this](const VmRecord& record, std::size_t& counter, const char* message) {
        try {
            m_store.deleteVm(record.uuid);
        } catch (const Error& e) {
            m_audit.failure(0, &record, "recover", e);
            return;
        }
        ++counter;
        m_audit.success(0, &record, "recover", message);
    };
    for (const auto& record : plan.rolledBack)
        forget(record, report.rolledBack, "creation was interrupted; rolled back");
    for (const auto& record : plan.finished)
        forget(record, report.finished, "deletion was interrupted; finished");
    for (const auto& [uuid, state] : plan.states)
        if (Vm* vm = m_inventory.find(uuid); vm && !vm->operation)
            m_inventory.setState(*vm, toVmState(state));
    for (const auto& uuid : plan.redefined) {
        ++report.redefined;
        if (const Vm* vm = m_inventory.find(uuid))
            m_audit.success(0, &vm->record, "reconcile", "the domain was missing; defined it again from the record");
    }
    for (const auto& [uuid, why] : plan.unavailable) {
        ++report.unavailable;
        const Vm* vm = m_inventory.find(uuid);
        m_audit.failure(0, vm ? &vm->record : nullptr, "reconcile",
                        Error(ErrorCode::BackendFailure, fmt::format("cannot bring the domain back: {}", why)));
    }
    for (const auto& info : plan.foreign) {
        VmRecord record = *info.record;
        record.uuid = info.uuid;
        record.phase = VmPhase::Ready;
        try {
            if (m_inventory.nameTaken(record.name))
                throw Error(ErrorCode::AlreadyExists,
                            fmt::format("a domain with Hangar metadata names VM '{}', which exists already; left alone",
                                        record.name));
            m_store.insertVm(record);
        } catch (const Error& e) {
            m_audit.failure(0, &record, "reconcile", e);
            continue;
        }
        Vm vm;
        vm.record = record;
        vm.state = toVmState(info.state);
        m_inventory.add(std::move(vm));
        ++report.adopted;
        m_audit.success(0, &record, "reconcile", "found a domain with Hangar metadata and no record; adopted it");
    }
}

} // namespace hangar
