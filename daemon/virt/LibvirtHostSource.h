// HostSource on libvirt for core/AlertMonitor: whether the hypervisor answers, its free memory
// (virNodeGetFreeMemory) and the storage pool's capacity and free space (virStoragePoolGetInfo after a refresh, so
// what other tools wrote into the pool counts too). Like LibvirtStatsSource it keeps a connection of its own and
// reopens it on the next round after a failure; a connection that cannot be opened or used is "unreachable".
#pragma once

#include "core/AlertMonitor.h"
#include "virt/LibvirtSupport.h"

#include <mutex>
#include <string>

namespace hangar::virt {

class LibvirtHostSource final : public HostSource
{
public:
    // host is the label alerts name it by ("local"); pool the storage pool's name.
    LibvirtHostSource(std::string uri, std::string host, std::string pool);
    HostReading sample() override;

private:
    std::string m_uri;
    std::string m_host;
    std::string m_pool;
    std::mutex m_mutex;
    ConnectPtr m_connection;
};

} // namespace hangar::virt
