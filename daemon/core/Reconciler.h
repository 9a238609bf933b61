// The Reconciler makes Hangar's records and the hypervisor agree. At start-up it loads the store, finishes or
// rolls back operations a crash left half-done (by their recorded phase), and then reconciles: a VM whose domain is
// missing gets it defined again from its record (the store is the authority on Hangar's VMs), a domain that carries
// Hangar metadata but has no row is adopted, and every VM takes the state the hypervisor reports. The same
// reconciliation runs after a lost hypervisor connection comes back. A clean-up that fails (libvirtd still copying
// the volume a killed publish started, the hypervisor away) is tried again on a timer with back-off until it
// succeeds, so what it holds (a name, a volume) is freed without waiting for the next start. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/DomainControl.h"
#include "core/Executor.h"
#include "core/HypervisorEvents.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/Storage.h"
#include "core/Store.h"

#include <chrono>
#include <functional>
#include <optional>
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
    std::size_t retrying = 0;        // interrupted operations whose clean-up failed, tried again with back-off
};

class Reconciler
{
public:
    Reconciler(Inventory& inventory, Store& store, DomainControl& domains, Storage& storage, ImageManager& images,
               Executor& executor, AuditLog& audit);
    ~Reconciler();
    Reconciler(const Reconciler&) = delete;
    Reconciler& operator=(const Reconciler&) = delete;

    // Makes sure the storage pool exists, loads the store, recovers (VMs and images left half-made or half-deleted
    // by a crash, and volumes with Hangar's names that no record claims) and reconciles; done runs on the loop once
    // the inventory is trustworthy.
    void startup(std::function<void(const ReconcileReport&)> done);
    // ConnectionLost / ConnectionRestored.
    void handleHypervisorEvent(const HypervisorEvent& event);

    // Interrupted operations whose clean-up failed and waits for its next attempt.
    std::size_t leftovers() const { return m_leftoverVms.size() + m_leftoverImages.size(); }
    // The first wait between attempts; each failed attempt doubles it, up to kMaxRetryDelay.
    static constexpr std::chrono::seconds kFirstRetryDelay{1};
    static constexpr std::chrono::seconds kMaxRetryDelay{60};

private:
    struct Plan;
    enum class Pass
    {
        Startup,   // recovery, reconciliation, the pool and its orphan volumes
        Reconcile, // after a reconnection: the records and the domains
        Retry,     // only the clean-ups that failed before
    };
    void reconcile(std::vector<VmRecord> pending, std::vector<ImageRecord> pendingImages, Pass pass,
                   std::function<void(const ReconcileReport&)> done);
    void apply(Plan& plan, ReconcileReport& report);
    // Keeps what apply could not clean up and arms the timer that tries again.
    void keepLeftovers(Plan& plan, ReconcileReport& report);
    void retryLeftovers();

    Inventory& m_inventory;
    Store& m_store;
    DomainControl& m_domains;
    Storage& m_storage;
    ImageManager& m_images;
    Executor& m_executor;
    AuditLog& m_audit;
    bool m_reconciling = false;
    std::vector<VmRecord> m_leftoverVms;
    std::vector<ImageRecord> m_leftoverImages;
    std::optional<Executor::TimerId> m_retryTimer;
    std::chrono::microseconds m_retryDelay = kFirstRetryDelay;
};

} // namespace hangar
