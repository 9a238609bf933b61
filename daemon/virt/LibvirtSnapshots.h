// The snapshot half of LibvirtHypervisor: its four snapshot members are defined in virt/LibvirtSnapshots.cpp, and
// this header gives the other half what listDomains reports of a domain's snapshots. Internal to daemon/virt.
#pragma once

#include "virt/LibvirtCall.h"

#include <string>
#include <vector>

namespace hangar::virt {

// Names only, oldest first: one call for a domain with at most one snapshot (nearly every domain at start-up), one
// more per snapshot only when there is an order to establish.
std::vector<std::string> snapshotNames(const Call& call, virDomainPtr dom);

} // namespace hangar::virt
