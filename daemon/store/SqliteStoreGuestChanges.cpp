// SqliteStore's vm_guest_changes table (schema v5): the users added to and packages installed in a VM's running
// guest after it was created, in the order they were added. Declared in store/SqliteStore.h.
#include "store/SqliteStore.h"
#include "store/SqliteSupport.h"

#include <map>
#include <string>

namespace hangar::store {
namespace {

std::string_view kindName(GuestChange::Kind kind)
{
    return kind == GuestChange::Kind::User ? "user" : "package";
}

} // namespace

void SqliteStore::addGuestChange(const std::string& uuid, const GuestChange& change)
{
    Query query(m_db.get(),
                statement("INSERT OR IGNORE INTO vm_guest_changes (vm_uuid, kind, name) VALUES (?1, ?2, ?3)"));
    query.bind(1, uuid);
    query.bind(2, kindName(change.kind));
    query.bind(3, change.name);
    query.run("cannot record a change to the guest of VM " + uuid);
}

void SqliteStore::loadGuestChanges(std::vector<VmRecord>& vms)
{
    std::map<std::string, VmRecord*> byUuid;
    for (auto& vm : vms)
        byUuid[vm.uuid] = &vm;
    Query query(m_db.get(), statement("SELECT vm_uuid, kind, name FROM vm_guest_changes ORDER BY seq"));
    while (query.next("cannot load the changes to guests")) {
        auto it = byUuid.find(query.text(0));
        if (it == byUuid.end())
            continue;
        (query.text(1) == kindName(GuestChange::Kind::User) ? it->second->addedUsers : it->second->installedPackages)
            .push_back(query.text(2));
    }
}

} // namespace hangar::store
