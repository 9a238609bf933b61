// SqliteStore's quotas table (schema v2): per-user limits, NULL meaning unlimited. Declared in store/SqliteStore.h.
#include "store/SqliteStore.h"
#include "store/SqliteSupport.h"

#include <cstdint>
#include <optional>

namespace hangar::store {

std::optional<QuotaLimits> SqliteStore::quota(std::uint32_t uid)
{
    Query query(m_db.get(),
                statement("SELECT max_vms, max_running, max_vcpus, max_memory_mib, max_disk_gib FROM quotas "
                          "WHERE uid = ?1"));
    query.bind(1, static_cast<std::int64_t>(uid));
    if (!query.next("cannot read a quota"))
        return std::nullopt;
    auto u32 = [&](int column) -> std::optional<std::uint32_t> {
        if (query.isNull(column))
            return std::nullopt;
        return static_cast<std::uint32_t>(query.integer(column));
    };
    auto u64 = [&](int column) -> std::optional<std::uint64_t> {
        if (query.isNull(column))
            return std::nullopt;
        return static_cast<std::uint64_t>(query.integer(column));
    };
    QuotaLimits limits;
    limits.maxVms = u32(0);
    limits.maxRunning = u32(1);
    limits.maxVcpus = u32(2);
    limits.maxMemoryMiB = u64(3);
    limits.maxDiskGiB = u64(4);
    query.run("cannot read a quota");
    return limits;
}

void SqliteStore::setQuota(std::uint32_t uid, const QuotaLimits& limits)
{
    Query query(m_db.get(), statement("INSERT OR REPLACE INTO quotas (uid, max_vms, max_running, max_vcpus, "
                                      "max_memory_mib, max_disk_gib) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    query.bind(1, static_cast<std::int64_t>(uid));
    // Unset parameters stay NULL: unlimited.
    if (limits.maxVms)
        query.bind(2, static_cast<std::int64_t>(*limits.maxVms));
    if (limits.maxRunning)
        query.bind(3, static_cast<std::int64_t>(*limits.maxRunning));
    if (limits.maxVcpus)
        query.bind(4, static_cast<std::int64_t>(*limits.maxVcpus));
    if (limits.maxMemoryMiB)
        query.bind(5, static_cast<std::int64_t>(*limits.maxMemoryMiB));
    if (limits.maxDiskGiB)
        query.bind(6, static_cast<std::int64_t>(*limits.maxDiskGiB));
    query.run("cannot store a quota");
}

void SqliteStore::deleteQuota(std::uint32_t uid)
{
    Query query(m_db.get(), statement("DELETE FROM quotas WHERE uid = ?1"));
    query.bind(1, static_cast<std::int64_t>(uid));
    query.run("cannot delete a quota");
}

} // namespace hangar::store
