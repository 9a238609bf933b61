#include "core/Reconciler.h"

#include "core/FaultPoints.h"
#include "core/VmManager.h"

#include <fmt/format.h>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

namespace hangar {

// Computed and carried out on a worker (hypervisor calls only), then applied on the loop (store and inventory).
struct Reconciler::Plan
{
    std::vector<VmRecord> pending; // rows left in Creating / Deleting by a crash
    std::vector<VmRecord> ready;   // settled VMs to check against the hypervisor

    std::vector<VmRecord> rolledBack, finished;
    std::vector<std::pair<VmRecord, std::string>> vmsUnrecovered; // pending rows whose clean-up failed, and why
    std::map<std::string, DomainState> states;
    std::vector<std::string> redefined;
    std::vector<std::string> resized;               // VMs whose interrupted SetResources was finished
    std::map<std::string, std::string> renamed;     // uuid -> the old name the domain's metadata still had
    std::map<std::string, std::string> unavailable; // uuid -> why
    std::vector<DomainInfo> foreign;                // Hangar metadata, no row
    std::optional<std::string> listError;
    std::map<std::string, std::vector<std::string>> snapshots; // uuid -> snapshot names

    Pass pass = Pass::Startup;
    std::vector<ImageRecord> pendingImages; // image rows left in Importing / Deleting by a crash
    std::set<std::string> knownVolumes;     // every volume a record claims
    std::vector<ImageRecord> imagesRecovered;
    std::vector<std::pair<ImageRecord, std::string>> imagesUnrecovered; // and why
    std::vector<std::string> orphans;
    std::map<std::string, std::string> imageVolumes; // volume -> name of the ready image it holds
    std::vector<std::string> missingImageVolumes;    // names of ready images whose volume is gone
    std::optional<std::string> poolError;
};

namespace {

bool namedLikeHangar(const std::string& volume)
{
    return volume.rfind("vm-", 0) == 0 || volume.rfind("img-", 0) == 0;
}

bool resourcesDiffer(const VmSpec& a, const VmSpec& b)
{
    return a.vcpus != b.vcpus || a.memoryMiB != b.memoryMiB || a.diskGiB != b.diskGiB;
}

// SetResources writes its row first (core/VmResources.h); a crash before the domain's metadata caught up is finished
// here: the row's vCPUs and memory into the domain, the disk grown to the row's size (never shrunk).
void finishResize(DomainControl& hv, Storage& storage, const VmRecord& record)
{
    hv.setResources(record.uuid, record.spec.vcpus, record.spec.memoryMiB);
    if (record.diskVolume.empty())
        return;
    if (const auto volume = storage.find(record.diskVolume);
        volume && volume->capacityBytes < record.spec.diskGiB * kGiB)
        storage.resize(record.diskVolume, record.spec.diskGiB * kGiB);
}

void removeVolume(Storage& storage, const std::string& volume)
{
    if (!volume.empty())
        storage.remove(volume);
}

} // namespace

Reconciler::Reconciler(Inventory& inventory, Store& store, DomainControl& domains, Storage& storage,
                       ImageManager& images, Executor& executor, AuditLog& audit)
    : m_inventory(inventory), m_store(store), m_domains(domains), m_storage(storage), m_images(images),
      m_executor(executor), m_audit(audit)
{}

Reconciler::~Reconciler()
{
    if (m_retryTimer)
        m_executor.cancel(*m_retryTimer);
}

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
    std::vector<ImageRecord> pendingImages, readyImages;
    for (auto& image : m_store.loadImages())
        (image.phase == ImagePhase::Ready ? readyImages : pendingImages).push_back(std::move(image));
    m_images.load(std::move(readyImages));
    reconcile(std::move(pending), std::move(pendingImages), Pass::Startup, std::move(done));
}

void Reconciler::handleHypervisorEvent(const HypervisorEvent& event)
{
    if (event.kind == HypervisorEvent::Kind::ConnectionLost) {
        for (Vm* vm : m_inventory.allMutable())
            if (!vm->operation && vm->state != VmState::Creating && vm->state != VmState::Deleting)
                m_inventory.setState(*vm, VmState::Unavailable);
        m_audit.failure(
            0, nullptr, "host",
            Error(ErrorCode::BackendFailure, fmt::format("lost the connection to {}; reconnecting", m_domains.uri())));
    } else if (event.kind == HypervisorEvent::Kind::ConnectionRestored) {
        m_audit.success(0, nullptr, "host", fmt::format("reconnected to {}", m_domains.uri()));
        reconcile({}, {}, Pass::Reconcile, [](const ReconcileReport&) {});
    }
}

void Reconciler::reconcile(std::vector<VmRecord> pending, std::vector<ImageRecord> pendingImages, Pass pass,
                           std::function<void(const ReconcileReport&)> done)
{
    if (m_reconciling)
        return done(ReconcileReport{});
    m_reconciling = true;
    auto plan = std::make_shared<Plan>();
    plan->pending = std::move(pending);
    plan->pendingImages = std::move(pendingImages);
    plan->pass = pass;
    if (pass != Pass::Retry) { // a retry only cleans up
        for (const Vm* vm : m_inventory.all()) {
            if (!vm->operation && vm->state != VmState::Creating && vm->state != VmState::Deleting)
                plan->ready.push_back(vm->record);
            plan->knownVolumes.insert(vm->record.diskVolume);
            plan->knownVolumes.insert(vm->record.seedVolume);
        }
        for (const Image* image : m_images.all()) {
            plan->knownVolumes.insert(image->record.volume);
            plan->imageVolumes[image->record.volume] = image->record.name;
        }
    }

    m_executor.submit(
        [&hv = m_domains, &storage = m_storage, plan] {
            if (plan->pass == Pass::Startup) {
                try {
                    storage.ensurePool();
                } catch (const std::exception& e) {
                    plan->poolError = e.what();
                }
            }
            for (const auto& image : plan->pendingImages) {
                try {
                    storage.remove(image.volume);
                    plan->imagesRecovered.push_back(image);
                } catch (const std::exception& e) {
                    plan->imagesUnrecovered.emplace_back(image, e.what());
                    plan->knownVolumes.insert(image.volume);
                }
            }
            std::vector<DomainInfo> domains;
            try {
                domains = hv.listDomains();
            } catch (const std::exception& e) {
                plan->listError = e.what();
                for (const auto& record : plan->pending) {
                    plan->vmsUnrecovered.emplace_back(record, e.what());
                    plan->knownVolumes.insert(record.diskVolume);
                    plan->knownVolumes.insert(record.seedVolume);
                }
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
                    removeVolume(storage, record.diskVolume);
                    removeVolume(storage, record.seedVolume);
                    (record.phase == VmPhase::Creating ? plan->rolledBack : plan->finished).push_back(record);
                } catch (const std::exception& e) {
                    plan->vmsUnrecovered.emplace_back(record, e.what());
                    plan->knownVolumes.insert(record.diskVolume);
                    plan->knownVolumes.insert(record.seedVolume);
                }
                byUuid.erase(record.uuid);
            }
            // Domains and volumes of the interrupted operations gone, their rows not yet: recovery is itself killed.
            if (!plan->pending.empty() || !plan->pendingImages.empty())
                HANGAR_FAULT_POINT(RecoverCleanedUp);
            if (plan->pass == Pass::Retry)
                return;
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
                    plan->snapshots[record.uuid] = it->second->snapshots;
                    const auto& seen = it->second->record;
                    const bool resized = seen && resourcesDiffer(seen->spec, record.spec);
                    if (resized)
                        finishResize(hv, storage, record);
                    // A crash between a rename's or a resize's row and its metadata update leaves the metadata behind.
                    const bool renamed = seen && seen->name != record.name;
                    if (!seen || renamed || resized)
                        hv.updateMetadata(record);
                    if (resized)
                        plan->resized.push_back(record.uuid);
                    if (renamed)
                        plan->renamed[record.uuid] = seen->name;
                } catch (const std::exception& e) {
                    if (it == byUuid.end())
                        plan->unavailable[record.uuid] = e.what();
                }
                byUuid.erase(record.uuid);
            }
            for (const auto& [uuid, info] : byUuid)
                if (info->record) {
                    plan->foreign.push_back(*info);
                    plan->knownVolumes.insert(info->record->diskVolume);
                    plan->knownVolumes.insert(info->record->seedVolume);
                }
            // Only at start-up, when nothing is in flight: a volume with Hangar's naming that no record claims was
            // left by a crash between a volume's creation and its row's removal.
            if (plan->pass == Pass::Startup && !plan->poolError) {
                try {
                    const auto volumes = storage.list();
                    const std::set<std::string> present(volumes.begin(), volumes.end());
                    for (const auto& volume : volumes)
                        if (namedLikeHangar(volume) && plan->knownVolumes.count(volume) == 0) {
                            storage.remove(volume);
                            plan->orphans.push_back(volume);
                        }
                    for (const auto& [volume, image] : plan->imageVolumes)
                        if (present.count(volume) == 0)
                            plan->missingImageVolumes.push_back(image);
                } catch (const std::exception&) { // tried again at the next start
                }
            }
        },
        [this, plan, done = std::move(done)] {
            m_reconciling = false;
            ReconcileReport report;
            apply(*plan, report);
            keepLeftovers(*plan, report);
            done(report);
        });
}

void Reconciler::keepLeftovers(Plan& plan, ReconcileReport& report)
{
    // The first failure is recorded; the attempts after it only when they succeed, so that a volume libvirtd
    // copies for an hour does not fill the event log.
    const bool first = plan.pass != Pass::Retry;
    for (auto& [image, why] : plan.imagesUnrecovered) {
        if (first)
            m_audit.imageFailure(0, image.name, "recover",
                                 Error(ErrorCode::BackendFailure,
                                       fmt::format("cannot remove its volume yet: {}; trying again until it succeeds "
                                                   "(the name stays taken until then)",
                                                   why)));
        m_leftoverImages.push_back(std::move(image));
    }
    for (auto& [record, why] : plan.vmsUnrecovered) {
        if (first)
            m_audit.failure(0, &record, "recover",
                            Error(ErrorCode::BackendFailure,
                                  fmt::format("cannot clean up after the interrupted {} yet: {}; trying again until it "
                                              "succeeds (the name stays taken until then)",
                                              record.phase == VmPhase::Creating ? "creation" : "deletion", why)));
        m_leftoverVms.push_back(std::move(record));
    }
    report.retrying = leftovers();
    if (leftovers() == 0) {
        m_retryDelay = kFirstRetryDelay;
        return;
    }
    if (m_retryTimer)
        return;
    m_retryTimer = m_executor.schedule(m_retryDelay, [this] { retryLeftovers(); });
    m_retryDelay = std::min<std::chrono::microseconds>(m_retryDelay * 2, kMaxRetryDelay);
}

void Reconciler::retryLeftovers()
{
    m_retryTimer.reset();
    if (m_reconciling) { // one pass at a time: this one comes after it
        m_retryTimer = m_executor.schedule(m_retryDelay, [this] { retryLeftovers(); });
        return;
    }
    reconcile(std::exchange(m_leftoverVms, {}), std::exchange(m_leftoverImages, {}), Pass::Retry,
              [](const ReconcileReport&) {});
}

void Reconciler::apply(Plan& plan, ReconcileReport& report)
{
    if (plan.poolError)
        m_audit.failure(0, nullptr, "storage",
                        Error(ErrorCode::BackendFailure, fmt::format("the storage pool '{}' is not usable: {}",
                                                                     m_storage.poolName(), *plan.poolError)));
    for (const auto& image : plan.imagesRecovered) {
        try {
            m_store.deleteImage(image.id);
        } catch (const Error& e) {
            m_audit.imageFailure(0, image.name, "recover", e);
            continue;
        }
        ++report.imagesRecovered;
        m_audit.imageSuccess(0, image.name, "recover",
                             image.phase == ImagePhase::Deleting ? "deletion was interrupted; finished"
                                                                 : "import was interrupted; rolled back");
    }
    for (const auto& name : plan.missingImageVolumes)
        m_audit.imageFailure(0, name, "reconcile",
                             Error(ErrorCode::BackendFailure,
                                   fmt::format("its volume is missing from storage pool '{}'; VMs cannot be made from "
                                               "it until it is deleted and imported again",
                                               m_storage.poolName())));
    for (const auto& volume : plan.orphans) {
        ++report.orphanVolumes;
        m_audit.success(0, nullptr, "recover", fmt::format("removed volume '{}', which no record claims", volume));
    }
    if (plan.listError && plan.pass == Pass::Retry)
        return; // the leftovers say why
    if (plan.listError) {
        for (const auto& record : plan.ready)
            if (Vm* vm = m_inventory.find(record.uuid))
                m_inventory.setState(*vm, VmState::Unavailable);
        m_audit.failure(0, nullptr, "reconcile",
                        Error(ErrorCode::BackendFailure,
                              fmt::format("cannot list the domains of {}: {}", m_domains.uri(), *plan.listError)));
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
    for (auto& [uuid, names] : plan.snapshots)
        if (Vm* vm = m_inventory.find(uuid))
            m_inventory.setSnapshots(*vm, std::move(names));
    for (const auto& uuid : plan.redefined) {
        ++report.redefined;
        if (const Vm* vm = m_inventory.find(uuid))
            m_audit.success(0, &vm->record, "reconcile", "the domain was missing; defined it again from the record");
    }
    for (const auto& uuid : plan.resized)
        if (const Vm* vm = m_inventory.find(uuid))
            m_audit.success(0, &vm->record, "reconcile", "a change of its resources was interrupted; finished it");
    for (const auto& [uuid, oldName] : plan.renamed)
        if (const Vm* vm = m_inventory.find(uuid))
            m_audit.success(0, &vm->record, "reconcile",
                            fmt::format("a rename from '{}' was interrupted; finished it", oldName));
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
        vm.snapshots = info.snapshots;
        m_inventory.add(std::move(vm));
        ++report.adopted;
        m_audit.success(0, &record, "reconcile", "found a domain with Hangar metadata and no record; adopted it");
    }
}

} // namespace hangar
