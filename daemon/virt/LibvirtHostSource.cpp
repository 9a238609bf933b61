#include "virt/LibvirtHostSource.h"

namespace hangar::virt {

LibvirtHostSource::LibvirtHostSource(std::string uri, std::string host, std::string pool)
    : m_uri(std::move(uri)), m_host(std::move(host)), m_pool(std::move(pool))
{}

HostReading LibvirtHostSource::sample()
{
    std::lock_guard lock(m_mutex);
    HostReading reading;
    reading.host = m_host;
    reading.pool = m_pool;
    if (!m_connection || virConnectIsAlive(m_connection.get()) != 1) {
        initLibvirt();
        m_connection.reset(virConnectOpen(m_uri.c_str()));
        if (!m_connection) {
            reading.reachable = false;
            reading.error = "cannot connect to " + m_uri + ": " + lastFailure().message;
            return reading;
        }
        silenceErrors(m_connection.get());
    }
    virConnectPtr conn = m_connection.get();
    // Any call proves the connection; the free memory is also the first figure wanted.
    const unsigned long long freeMemory = virNodeGetFreeMemory(conn);
    if (freeMemory == 0) {
        const auto failure = lastFailure();
        if (virConnectIsAlive(conn) != 1) {
            m_connection.reset();
            reading.reachable = false;
            reading.error = failure.message;
            return reading;
        }
    } else {
        reading.memoryFreeBytes = freeMemory;
    }
    // A pool that is missing or inactive has no figures this round; hangard's own storage code reports why.
    const StoragePoolPtr pool(virStoragePoolLookupByName(conn, m_pool.c_str()));
    if (!pool)
        return reading;
    virStoragePoolRefresh(pool.get(), 0);
    virStoragePoolInfo info{};
    if (virStoragePoolGetInfo(pool.get(), &info) == 0 && info.state == VIR_STORAGE_POOL_RUNNING) {
        reading.poolCapacityBytes = info.capacity;
        reading.poolAvailableBytes = info.available;
    }
    return reading;
}

} // namespace hangar::virt
