// What the parts of image management (core/ImageFill, ImageRemoval) share: the backends and services ImageManager
// is built with, the catalogue, and the pipelines (ImageRunner for the image's side; OperationRunner for publish's
// VM). ImageManager owns it. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/Executor.h"
#include "core/ImageCatalogue.h"
#include "core/ImageRunner.h"
#include "core/Inventory.h"
#include "core/Jobs.h"
#include "core/OperationRunner.h"
#include "core/OsCatalog.h"
#include "core/Quota.h"
#include "core/Storage.h"
#include "core/Store.h"

#include <chrono>
#include <cstdint>

namespace hangar {

struct ImageContext
{
    Inventory& inventory;
    Store& store;
    Storage& storage;
    Authorizer& authorizer;
    Executor& executor;
    AuditLog& audit;
    JobManager& jobs;
    QuotaManager& quotas;
    std::uint64_t maxImportBytes;
    // A caller's file that gives no data for this long fails its import (core/CopyWatch).
    std::chrono::seconds stallTimeout{60};
    OsCatalogGate osGate; // the OS catalogue, loaded off the loop
    ImageCatalogue catalogue;
    ImageRunner runner;
    OperationRunner vmRunner;
};

} // namespace hangar
