// LibvirtHypervisor's snapshots, libvirt's internal ones (virt/SnapshotXml.h): create, list, revert to and delete,
// and the names listDomains reports. The members are declared in virt/LibvirtHypervisor.h.
#include "virt/LibvirtSnapshots.h"

#include "core/Validation.h"
#include "virt/LibvirtHypervisor.h"
#include "virt/SnapshotXml.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>

namespace hangar::virt {
namespace {

struct SnapshotDeleter
{
    void operator()(virDomainSnapshotPtr snapshot) const { virDomainSnapshotFree(snapshot); }
};
using SnapshotPtr = std::unique_ptr<virDomainSnapshot, SnapshotDeleter>;

SnapshotPtr lookupSnapshot(const Call& call, virDomainPtr dom, const std::string& name)
{
    SnapshotPtr snapshot(virDomainSnapshotLookupByName(dom, name.c_str(), 0));
    if (!snapshot) {
        if (lastFailure().code == VIR_ERR_NO_DOMAIN_SNAPSHOT)
            throw Error(ErrorCode::NotFound, "domain " + call.uuid() + " has no snapshot " + quoteForMessage(name));
        call.fail();
    }
    return snapshot;
}

// Every snapshot of the domain, parents before children.
std::vector<SnapshotPtr> allSnapshots(const Call& call, virDomainPtr dom)
{
    virDomainSnapshotPtr* array = nullptr;
    const int count = virDomainListAllSnapshots(dom, &array, VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
    call.check(count);
    const std::unique_ptr<virDomainSnapshotPtr, FreeDeleter> owner(array);
    std::vector<SnapshotPtr> snapshots;
    snapshots.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
        snapshots.emplace_back(array[i]);
    return snapshots;
}

// The snapshots described, oldest first. libvirt records creation times in whole seconds; sorting the topological
// listing stably keeps a parent before a child taken within the same second. (Siblings from one second keep
// libvirt's order, newest first: nothing libvirt reports tells them apart.)
std::vector<SnapshotInfo> describeSnapshots(const Call& call, const std::vector<SnapshotPtr>& snapshots)
{
    std::vector<SnapshotInfo> result;
    result.reserve(snapshots.size());
    for (const auto& snapshot : snapshots) {
        const CString xml(virDomainSnapshotGetXMLDesc(snapshot.get(), 0));
        if (!xml) {
            if (lastFailure().code == VIR_ERR_NO_DOMAIN_SNAPSHOT)
                continue; // deleted since the listing
            call.fail();
        }
        auto info = parseSnapshotXml(xml.get());
        if (!info)
            throw Error(ErrorCode::BackendFailure,
                        "cannot read snapshot " + quoteForMessage(virDomainSnapshotGetName(snapshot.get())) +
                            " of domain " + call.uuid() + ": libvirt's description is malformed");
        result.push_back(std::move(*info));
    }
    std::stable_sort(result.begin(), result.end(),
                     [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.createdAtUsec < b.createdAtUsec; });
    return result;
}

} // namespace

std::vector<std::string> snapshotNames(const Call& call, virDomainPtr dom)
{
    const auto snapshots = allSnapshots(call, dom);
    std::vector<std::string> names;
    names.reserve(snapshots.size());
    if (snapshots.size() <= 1) {
        for (const auto& snapshot : snapshots)
            names.emplace_back(virDomainSnapshotGetName(snapshot.get()));
        return names;
    }
    for (auto& info : describeSnapshots(call, snapshots))
        names.push_back(std::move(info.name));
    return names;
}

void LibvirtHypervisor::createSnapshot(const std::string& uuid, const std::string& name, const std::string& description)
{
    validateName(name);
    const std::string what = "create snapshot '" + name + "' of";
    const Call call = domainCall(*m_connection, uuid, what);
    const auto dom = call.lookup();
    // libvirt's own refusal of a taken name is a plain OPERATION_FAILED, indistinguishable from other failures.
    if (const SnapshotPtr existing{virDomainSnapshotLookupByName(dom.get(), name.c_str(), 0)})
        throw Error(ErrorCode::AlreadyExists, "domain " + uuid + " already has a snapshot '" + name + "'");
    if (lastFailure().code != VIR_ERR_NO_DOMAIN_SNAPSHOT)
        call.fail();

    // The definition the snapshot is of: the live one while the domain runs.
    const CString domainXml(virDomainGetXMLDesc(dom.get(), 0));
    if (!domainXml)
        call.fail();
    const auto disks = snapshotDisks(domainXml.get());
    // QEMU refuses with "nothing selected for snapshot"; the test driver would record a snapshot of nothing.
    if (std::none_of(disks.begin(), disks.end(), [](const SnapshotDisk& disk) { return disk.internal; }))
        throw Error(ErrorCode::NotSupported,
                    "cannot create snapshot '" + name + "' of domain " + uuid + ": it has no writable disk");
    const auto xml = buildSnapshotXml(name, description, disks);
    const SnapshotPtr snapshot(virDomainSnapshotCreateXML(dom.get(), xml.c_str(), 0));
    if (!snapshot)
        call.fail();
    logger()->debug("created snapshot '{}' of domain {}", name, uuid);
}

std::vector<SnapshotInfo> LibvirtHypervisor::listSnapshots(const std::string& uuid)
{
    const Call call = domainCall(*m_connection, uuid, "list the snapshots of");
    const auto dom = call.lookup();
    auto snapshots = describeSnapshots(call, allSnapshots(call, dom.get()));
    const SnapshotPtr current(virDomainSnapshotCurrent(dom.get(), 0));
    if (current) {
        const std::string_view name = virDomainSnapshotGetName(current.get());
        for (auto& snapshot : snapshots)
            snapshot.current = snapshot.name == name;
    } else if (lastFailure().code != VIR_ERR_NO_DOMAIN_SNAPSHOT) {
        call.fail();
    }
    return snapshots;
}

DomainState LibvirtHypervisor::revertToSnapshot(const std::string& uuid, const std::string& name)
{
    const std::string what = "revert to snapshot " + quoteForMessage(name) + " of";
    const Call call = domainCall(*m_connection, uuid, what);
    const auto dom = call.lookup();
    const auto snapshot = lookupSnapshot(call, dom.get(), name);
    // No flags: the domain ends in the state the snapshot recorded (running with its memory, or stopped).
    call.check(virDomainRevertToSnapshot(snapshot.get(), 0));
    int state = 0;
    int reason = 0;
    call.check(virDomainGetState(dom.get(), &state, &reason, 0));
    logger()->debug("reverted domain {} to snapshot {}", uuid, quoteForMessage(name));
    return toDomainState(state);
}

void LibvirtHypervisor::deleteSnapshot(const std::string& uuid, const std::string& name)
{
    const std::string what = "delete snapshot " + quoteForMessage(name) + " of";
    const Call call = domainCall(*m_connection, uuid, what);
    const auto dom = call.lookup();
    // Only this one: its children are re-parented, and its data leaves the qcow2 file.
    call.check(virDomainSnapshotDelete(lookupSnapshot(call, dom.get(), name).get(), 0));
    logger()->debug("deleted snapshot {} of domain {}", quoteForMessage(name), uuid);
}

} // namespace hangar::virt
