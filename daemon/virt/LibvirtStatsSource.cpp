#include "virt/LibvirtStatsSource.h"

#include <cstring>
#include <ctime>
#include <functional>

namespace hangar::virt {
namespace {

struct StatsRecordsDeleter
{
    void operator()(virDomainStatsRecordPtr* records) const { virDomainStatsRecordListFree(records); }
};
using StatsRecords = std::unique_ptr<virDomainStatsRecordPtr, StatsRecordsDeleter>;

std::int64_t monotonicNs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::optional<std::uint64_t> number(const virTypedParameter& p)
{
    switch (p.type) {
    case VIR_TYPED_PARAM_ULLONG:
        return p.value.ul;
    case VIR_TYPED_PARAM_LLONG:
        return p.value.l < 0 ? std::nullopt : std::optional<std::uint64_t>(p.value.l);
    case VIR_TYPED_PARAM_UINT:
        return p.value.ui;
    case VIR_TYPED_PARAM_INT:
        return p.value.i < 0 ? std::nullopt : std::optional<std::uint64_t>(p.value.i);
    default:
        return std::nullopt;
    }
}

void add(std::optional<std::uint64_t>& sum, std::uint64_t value)
{
    sum = sum.value_or(0) + value;
}

// Per-device counters come as "block.<n>.rd.bytes", "net.<n>.rx.bytes", ...: the sum over devices is the VM's.
bool matchesDeviceField(std::string_view field, std::string_view group, std::string_view suffix)
{
    if (field.substr(0, group.size()) != group || field.size() <= group.size() + suffix.size())
        return false;
    if (field.substr(field.size() - suffix.size()) != suffix)
        return false;
    const auto index = field.substr(group.size(), field.size() - group.size() - suffix.size());
    return !index.empty() && index.find_first_not_of("0123456789") == std::string_view::npos;
}

DomainSample toSample(const virDomainStatsRecord& record, const std::string& uuid, std::int64_t now)
{
    DomainSample s;
    s.uuid = uuid;
    s.monotonicNs = now;
    std::optional<std::uint64_t> available, unused, rss, current;
    for (int i = 0; i < record.nparams; ++i) {
        const auto& p = record.params[i];
        const std::string_view field(p.field);
        const auto value = number(p);
        if (!value)
            continue;
        if (field == "cpu.time")
            s.cpuTimeNs = value;
        else if (field == "balloon.available")
            available = value;
        else if (field == "balloon.unused")
            unused = value;
        else if (field == "balloon.rss")
            rss = value;
        else if (field == "balloon.current")
            current = value;
        else if (matchesDeviceField(field, "block.", ".rd.bytes"))
            add(s.diskReadBytes, *value);
        else if (matchesDeviceField(field, "block.", ".wr.bytes"))
            add(s.diskWriteBytes, *value);
        else if (matchesDeviceField(field, "block.", ".rd.reqs"))
            add(s.diskReadOps, *value);
        else if (matchesDeviceField(field, "block.", ".wr.reqs"))
            add(s.diskWriteOps, *value);
        else if (matchesDeviceField(field, "net.", ".rx.bytes"))
            add(s.netRxBytes, *value);
        else if (matchesDeviceField(field, "net.", ".tx.bytes"))
            add(s.netTxBytes, *value);
    }
    // The guest's own view when its balloon driver reports it; otherwise what QEMU's process holds.
    if (available && unused && *available >= *unused) {
        s.memoryAvailableKiB = available;
        s.memoryUsedKiB = *available - *unused;
    } else {
        s.memoryAvailableKiB = current;
        s.memoryUsedKiB = rss;
    }
    return s;
}

std::optional<std::vector<std::string>> addressesOf(virDomainPtr dom)
{
    for (unsigned source : {VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT}) {
        virDomainInterfacePtr* ifaces = nullptr;
        const int n = virDomainInterfaceAddresses(dom, &ifaces, source, 0);
        if (n < 0)
            continue;
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) {
            for (unsigned j = 0; j < ifaces[i]->naddrs; ++j) {
                const auto& a = ifaces[i]->addrs[j];
                if (a.addr && std::strcmp(a.addr, "127.0.0.1") != 0 && std::strcmp(a.addr, "::1") != 0)
                    out.emplace_back(std::string(a.addr) + "/" + std::to_string(a.prefix));
            }
            virDomainInterfaceFree(ifaces[i]);
        }
        std::free(ifaces); // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): libvirt's contract
        if (!out.empty() || source == VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
            return out;
    }
    return std::nullopt;
}

} // namespace

LibvirtStatsSource::LibvirtStatsSource(std::string uri) : m_uri(std::move(uri)) {}

virConnectPtr LibvirtStatsSource::connection()
{
    if (!m_connection || virConnectIsAlive(m_connection.get()) != 1) {
        initLibvirt();
        m_connection.reset(virConnectOpen(m_uri.c_str()));
        if (!m_connection)
            throw Error(ErrorCode::BackendFailure, "stats: cannot connect to " + m_uri + ": " + lastFailure().message);
        silenceErrors(m_connection.get());
    }
    return m_connection.get();
}

std::vector<DomainSample> LibvirtStatsSource::sample()
{
    std::lock_guard lock(m_mutex);
    virConnectPtr conn = connection();
    virDomainStatsRecordPtr* raw = nullptr;
    const unsigned groups = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
                            VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
    const int n = virConnectGetAllDomainStats(conn, groups, &raw, VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
    if (n < 0) {
        const auto failure = lastFailure();
        m_connection.reset(); // reopened next round
        throw Error(ErrorCode::BackendFailure, "stats: " + failure.message);
    }
    StatsRecords records(raw);
    const std::int64_t now = monotonicNs();
    std::vector<DomainSample> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        char uuid[VIR_UUID_STRING_BUFLEN] = {};
        if (virDomainGetUUIDString(raw[i]->dom, uuid) != 0)
            continue;
        DomainSample s = toSample(*raw[i], uuid, now);
        s.addresses = addressesOf(raw[i]->dom);
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace hangar::virt
