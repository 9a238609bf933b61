#include "core/VmManager.h"

namespace hangar {

VmManager::VmManager(Inventory& inventory, Store& store, Hypervisor& hypervisor, Storage& storage, ImageManager& images,
                     Authorizer& authorizer, Executor& executor, AuditLog& audit, QuotaManager& quotas,
                     std::string hostLabel, BootDirectory bootDir)
    : m_ctx{inventory,
            store,
            hypervisor,
            storage,
            images,
            images.jobs(),
            authorizer,
            executor,
            audit,
            quotas,
            std::move(hostLabel),
            std::move(bootDir),
            OperationRunner(inventory, authorizer, executor, audit, quotas),
            nullptr,
            {},
            {}},
      m_tracker(m_ctx), m_lifecycle(m_ctx, m_tracker), m_snapshots(m_ctx, m_lifecycle, m_tracker), m_creation(m_ctx),
      m_removal(m_ctx, m_tracker), m_lifetime(m_ctx, m_removal), m_resources(m_ctx), m_reads(m_ctx),
      m_access(inventory, hypervisor, authorizer, executor, audit), m_presence(inventory, audit), m_guest(m_ctx)
{
    inventory.addStateListener([this](Vm& vm) {
        m_access.stateChanged(vm);
        m_presence.stateChanged(vm);
        m_guest.stateChanged(vm);
    });
}

} // namespace hangar
