// SqliteStore's provisioning table: a VM's cloud-init provisioning as one JSON document and its seed volume, one
// row per VM that has a seed, removed with the VM's row (ON DELETE CASCADE). JSON because it is only ever read and
// written whole, and nothing queries inside it. Declared in store/SqliteStore.h.
#include "core/Error.h"
#include "store/SqliteStore.h"
#include "store/SqliteSupport.h"

#include <map>
#include <nlohmann/json.hpp>

namespace hangar::store {
namespace {

using nlohmann::json;

json toJson(const Provisioning& p)
{
    json users = json::array();
    for (const auto& u : p.users)
        users.push_back({{"name", u.name},
                         {"ssh_authorized_keys", u.sshAuthorizedKeys},
                         {"sudo", u.sudo},
                         {"passwd", u.passwordHash},
                         {"shell", u.shell}});
    json files = json::array();
    for (const auto& f : p.writeFiles)
        files.push_back({{"path", f.path}, {"content", f.content}, {"permissions", f.permissions}});
    return {{"hostname", p.hostname},
            {"users", users},
            {"packages", p.packages},
            {"runcmd", p.runcmd},
            {"write_files", files}};
}

Provisioning fromJson(const json& j)
{
    Provisioning p;
    p.hostname = j.value("hostname", "");
    for (const auto& u : j.value("users", json::array())) {
        ProvisionedUser user;
        user.name = u.at("name").get<std::string>();
        user.sshAuthorizedKeys = u.value("ssh_authorized_keys", std::vector<std::string>{});
        user.sudo = u.value("sudo", false);
        user.passwordHash = u.value("passwd", "");
        user.shell = u.value("shell", "");
        p.users.push_back(std::move(user));
    }
    p.packages = j.value("packages", std::vector<std::string>{});
    p.runcmd = j.value("runcmd", std::vector<std::string>{});
    for (const auto& f : j.value("write_files", json::array()))
        p.writeFiles.push_back(
            {f.at("path").get<std::string>(), f.value("content", ""), f.value("permissions", "0644")});
    return p;
}

} // namespace

void SqliteStore::insertProvisioning(const VmRecord& vm)
{
    if (vm.seedVolume.empty() && vm.provisioning.empty())
        return;
    Query query(m_db.get(), statement("INSERT INTO provisioning (uuid, seed_volume, data) VALUES (?1, ?2, ?3)"));
    query.bind(1, vm.uuid);
    query.bind(2, vm.seedVolume);
    query.bind(3, toJson(vm.provisioning).dump());
    query.run("cannot store the provisioning of VM '" + vm.name + "'");
}

void SqliteStore::loadProvisioning(std::vector<VmRecord>& vms)
{
    std::map<std::string, VmRecord*> byUuid;
    for (auto& vm : vms)
        byUuid[vm.uuid] = &vm;
    Query query(m_db.get(), statement("SELECT uuid, seed_volume, data FROM provisioning"));
    while (query.next("cannot load provisioning")) {
        auto it = byUuid.find(query.text(0));
        if (it == byUuid.end())
            continue;
        VmRecord& vm = *it->second;
        vm.seedVolume = query.text(1);
        try {
            vm.provisioning = fromJson(json::parse(query.text(2)));
        } catch (const json::exception& e) {
            throw Error(ErrorCode::BackendFailure, "store: VM '" + vm.name + "' (" + vm.uuid +
                                                       ") has unreadable provisioning in the database: " + e.what());
        }
    }
}

} // namespace hangar::store
