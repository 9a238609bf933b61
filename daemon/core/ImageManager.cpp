#include "core/ImageManager.h"

namespace hangar {

ImageManager::ImageManager(Inventory& inventory, Store& store, Storage& storage, Authorizer& authorizer,
                           Executor& executor, AuditLog& audit, JobManager& jobs, QuotaManager& quotas,
                           std::uint64_t maxImportBytes, const OsCatalog& osCatalog)
    : m_ctx{inventory,
            store,
            storage,
            authorizer,
            executor,
            audit,
            jobs,
            quotas,
            maxImportBytes,
            std::chrono::seconds(60),
            OsCatalogGate{osCatalog, executor},
            ImageCatalogue{},
            ImageRunner(authorizer, audit),
            OperationRunner(inventory, authorizer, executor, audit, quotas)},
      m_fill(m_ctx), m_removal(m_ctx)
{
    quotas.setImageUsage([this](std::uint32_t uid) { return diskGiBOwnedBy(uid); });
}

void ImageManager::load(std::vector<ImageRecord> images)
{
    for (auto& record : images)
        m_ctx.catalogue.add(std::move(record));
}

} // namespace hangar
