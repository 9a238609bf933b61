// The Reconciler makes Hangar's records and the hypervisor agree. At start-up it loads the store, finishes or
// rolls back operations a crash left half-done (by their recorded phase), and then reconciles: a VM whose domain is
// missing gets it defined again from its record (the store is the authority on Hangar's VMs), a domain that carries
// Hangar metadata but has no row is adopted, and every VM takes the state the hypervisor reports. The same
// reconciliation runs after a lost hypervisor connection comes back. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/DomainControl.h"
#include "core/Executor.h"
#include "core/HypervisorEvents.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Storage.h"
#include "core/Store.h"

#include <functional>
#include <string>
#include <vector>

namespace hangar {

struct ReconcileReport
{
    std::size_t rolledBack = 0;      // creations a crash interrupted, undone
    std::size_t finished = 0;        // deletions a crash interrupted, completed
    std::size_t redefined = 0;       // VMs whose domain was missing and was defined again
    std::size_t adopted = 0;         // domains with Hangar metadata and no row, taken into the inventory
    std::size_t unavailable = 0;     // VMs whose domain is missing and could not be defined again
    std::size_t imagesRecovered = 0; // imports, publishes or image deletions a crash interrupted, cleaned up
    std::size_t orphanVolumes = 0;   // volumes named like Hangar's with no record, removed
};

class Reconciler
{
public:
    Reconciler(Inventory& inventory, Store& store, DomainControl& domains, Storage& storage, ImageManager& images,
               Executor& executor, AuditLog& audit);

    // Makes sure the storage pool exists, loads the store, recovers (VMs and images left half-made or half-deleted
    // by a crash, and volumes with Hangar's names that no record claims) and reconciles; done runs on the loop once
    // the inventory is trustworthy.
    void startup(std::function<void(const ReconcileReport&)> done);
    // ConnectionLost / ConnectionRestored.
    void handleHypervisorEvent(const HypervisorEvent& event);

private:
    struct Plan;
    void reconcile(std::vector<VmRecord> pending, std::vector<ImageRecord> pendingImages, bool startup,
                   std::function<void(const ReconcileReport&)> done);
    void apply(Plan& plan, ReconcileReport& report);

    Inventory& m_inventory;
    Store& m_store;
    DomainControl& m_domains;
    Storage& m_storage;
    ImageManager& m_images;
    Executor& m_executor;
    AuditLog& m_audit;
    bool m_reconciling = false;
};

} // namespace hangar
