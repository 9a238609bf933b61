// hangarctl's provisioning: the create options that become CreateVM's cloud-init keys (--hostname, --user,
// --ssh-key, --password-hash, --package, --runcmd, --write-file), and `hangarctl provisioning VM`, which prints
// GetProvisioning. Files named on the command line (keys, --write-file contents) are read here, with the user's
// own rights; the daemon never opens a path for a caller. The values are checked by hangard (docs/provisioning.md).
#include "Commands.h"
#include "Output.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace hangar::client {
namespace {

using Dicts = std::vector<Options>;
using Strings = std::vector<std::string>;

// A local file the user named, whole; large files are the daemon's to refuse (16 KiB per file).
std::string readLocalFile(const std::string& path, const std::string& what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError("cannot read " + what + " " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// "NAME=VALUE" where NAME is one of the --user names; otherwise the whole text is the value for the --user just
// before it on the command line (before = how many came before it).
std::pair<std::size_t, std::string> forUser(const std::vector<ProvisionedUserOption>& users, const std::string& text,
                                            std::size_t before, const std::string& option)
{
    if (const auto eq = text.find('='); eq != std::string::npos)
        for (std::size_t i = 0; i < users.size(); ++i)
            if (users[i].name == text.substr(0, eq))
                return {i, text.substr(eq + 1)};
    if (users.empty() || before == 0)
        throw UsageError(
            option + " needs a --user before it (or the form NAME=" + (option == "--ssh-key" ? "FILE" : "HASH") + ")");
    return {std::min(before, users.size()) - 1, text};
}

std::size_t usersBefore(const std::vector<std::size_t>& counts, std::size_t index, std::size_t users)
{
    return index < counts.size() ? counts[index] : users;
}

// The public keys in an authorized_keys-style file: one per line, blank lines and # comments skipped.
Strings keysIn(const std::string& path)
{
    Strings keys;
    std::istringstream lines(readLocalFile(path, "the SSH key file"));
    for (std::string line; std::getline(lines, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (!line.empty() && line.front() != '#')
            keys.push_back(line);
    }
    if (keys.empty())
        throw UsageError("no public key in " + path);
    return keys;
}

void printList(const std::string& label, const Strings& items)
{
    std::cout << label << (items.empty() ? "-" : "") << '\n';
    for (const auto& item : items)
        std::cout << "  " << item << '\n';
}

nlohmann::json toJson(const sdbus::Variant& value);

nlohmann::json dictJson(const Options& dict)
{
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : dict)
        out[key] = toJson(value);
    return out;
}

nlohmann::json toJson(const sdbus::Variant& value)
{
    const std::string type = value.peekValueType();
    if (type == "s")
        return value.get<std::string>();
    if (type == "b")
        return value.get<bool>();
    if (type == "as")
        return value.get<Strings>();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& dict : value.get<Dicts>())
        list.push_back(dictJson(dict));
    return list;
}

} // namespace

std::vector<ProvisionedUserOption> parseUserOptions(const Strings& users)
{
    std::vector<ProvisionedUserOption> parsed;
    for (const auto& text : users) {
        ProvisionedUserOption user;
        user.name = text;
        if (const auto colon = text.find(':'); colon != std::string::npos) {
            if (text.substr(colon + 1) != "sudo")
                throw UsageError("--user takes NAME or NAME:sudo, got '" + text + "'");
            user.name = text.substr(0, colon);
            user.sudo = true;
        }
        parsed.push_back(user);
    }
    return parsed;
}

void addProvisioning(const ProvisioningOptions& options, Options& spec)
{
    std::vector<ProvisionedUserOption> users = parseUserOptions(options.users);
    std::vector<Strings> keys(users.size());
    for (std::size_t k = 0; k < options.sshKeys.size(); ++k) {
        const auto [user, file] =
            forUser(users, options.sshKeys[k], usersBefore(options.keyUsersBefore, k, users.size()), "--ssh-key");
        for (auto& key : keysIn(file))
            keys[user].push_back(std::move(key));
    }
    std::vector<std::string> hashes(users.size());
    for (std::size_t k = 0; k < options.passwordHashes.size(); ++k) {
        const auto [user, hash] = forUser(users, options.passwordHashes[k],
                                          usersBefore(options.hashUsersBefore, k, users.size()), "--password-hash");
        hashes[user] = hash;
    }
    if (options.hostname)
        spec["hostname"] = sdbus::Variant(*options.hostname);
    if (!users.empty()) {
        Dicts list;
        for (std::size_t i = 0; i < users.size(); ++i) {
            Options user{{"name", sdbus::Variant(users[i].name)}, {"sudo", sdbus::Variant(users[i].sudo)}};
            if (!keys[i].empty())
                user["ssh_authorized_keys"] = sdbus::Variant(keys[i]);
            if (!hashes[i].empty())
                user["passwd"] = sdbus::Variant(hashes[i]);
            list.push_back(std::move(user));
        }
        spec["users"] = sdbus::Variant(list);
    }
    if (!options.packages.empty())
        spec["packages"] = sdbus::Variant(options.packages);
    if (!options.runcmd.empty())
        spec["runcmd"] = sdbus::Variant(options.runcmd);
    if (!options.writeFiles.empty()) {
        Dicts files;
        for (const auto& text : options.writeFiles) {
            const auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
                throw UsageError("--write-file takes GUESTPATH=LOCALFILE, got '" + text + "'");
            files.push_back({{"path", sdbus::Variant(text.substr(0, eq))},
                             {"content", sdbus::Variant(readLocalFile(text.substr(eq + 1), "the file"))}});
        }
        spec["write_files"] = sdbus::Variant(files);
    }
}

ExitCode runProvisioning(Context& context, const std::string& name)
{
    Options got;
    try {
        const sdbus::ObjectPath path = context.connection().vmPath(name);
        VmProxy vm(context.connection().bus(), path);
        context.prepareAuthorizedCall();
        got = vm.GetProvisioning();
    } catch (const sdbus::Error& e) {
        return context.reportVmError("read the provisioning of", name, e);
    }
    if (context.json()) {
        printJson(std::cout, dictJson(got), true);
        return ExitCode::Ok;
    }
    const std::string hostname = got.at("hostname").get<std::string>();
    std::cout << "Hostname: " << (hostname.empty() ? name + " (the VM's name)" : hostname) << '\n';
    std::cout << "Users:" << (got.at("users").get<Dicts>().empty() ? " -" : "") << '\n';
    for (const auto& user : got.at("users").get<Dicts>()) {
        std::cout << "  " << user.at("name").get<std::string>() << (user.at("sudo").get<bool>() ? " (sudo)" : "")
                  << (user.at("passwd").get<std::string>().empty() ? "" : ", password set")
                  << (user.at("shell").get<std::string>().empty() ? ""
                                                                  : ", shell " + user.at("shell").get<std::string>())
                  << '\n';
        for (const auto& key : user.at("ssh_authorized_keys").get<Strings>())
            std::cout << "    " << key << '\n';
    }
    printList("Packages: ", got.at("packages").get<Strings>());
    printList("Commands: ", got.at("runcmd").get<Strings>());
    std::cout << "Files:" << (got.at("write_files").get<Dicts>().empty() ? " -" : "") << '\n';
    for (const auto& file : got.at("write_files").get<Dicts>())
        std::cout << "  " << file.at("path").get<std::string>() << " (" << file.at("permissions").get<std::string>()
                  << ", " << file.at("content").get<std::string>().size() << " bytes)\n";
    std::cout.flush();
    return ExitCode::Ok;
}

} // namespace hangar::client
