// StatsSource on libvirt: one virConnectGetAllDomainStats call per round (state, CPU, balloon, block, interface
// groups) for every active domain, plus each domain's addresses (DHCP leases of libvirt's networks, else the guest
// agent when one answers). It keeps a connection of its own to the hypervisor, so sampling never contends with the
// lifecycle calls, and reopens it on the next round after a failure.
#pragma once

#include "core/Stats.h"
#include "virt/LibvirtSupport.h"

#include <mutex>
#include <string>

namespace hangar::virt {

class LibvirtStatsSource final : public StatsSource
{
public:
    explicit LibvirtStatsSource(std::string uri);
    std::vector<DomainSample> sample() override;

private:
    virConnectPtr connection();

    std::string m_uri;
    std::mutex m_mutex;
    ConnectPtr m_connection;
};

} // namespace hangar::virt
