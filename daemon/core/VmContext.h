// What the parts of VM management (core/VmLifecycle, VmSnapshots, VmCreation, VmRemoval, VmStateTracker, VmReads,
// VmGuestCommands) share: the backends and services VmManager is built with, and the one OperationRunner they all run
// through. VmManager owns it; each part holds a reference. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/BootDirectory.h"
#include "core/Executor.h"
#include "core/Hypervisor.h"
#include "core/ImageManager.h"
#include "core/Inventory.h"
#include "core/LifetimePolicy.h"
#include "core/OperationRunner.h"
#include "core/Quota.h"
#include "core/SeedBuilder.h"
#include "core/Storage.h"
#include "core/Store.h"

#include <string>

namespace hangar {

struct VmContext
{
    Inventory& inventory;
    Store& store;
    Hypervisor& hypervisor;
    Storage& storage;
    ImageManager& images;
    JobManager& jobs;
    Authorizer& authorizer;
    Executor& executor;
    AuditLog& audit;
    QuotaManager& quotas;
    std::string hostLabel;
    BootDirectory bootDir;
    OperationRunner runner;
    // Makes cloud-init seed ISOs (set by the service); without one, provisioning is NotSupported.
    const SeedBuilder* seeds = nullptr;
    LifetimeSettings lifetime;    // [Lifetime]: applied by core/VmLifetime (reloadable)
    CreateRateLimiter createRate; // [Quota] create_per_minute/create_burst, per user (reloadable)
};

} // namespace hangar
