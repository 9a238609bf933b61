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
#include "core/OperationRunner.h"
#include "core/Quota.h"
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
};

} // namespace hangar
