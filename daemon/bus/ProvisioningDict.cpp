#include "bus/ProvisioningDict.h"

#include <fmt/format.h>

namespace hangar::bus {
using Dicts = std::vector<Options>;
using Strings = std::vector<std::string>;

namespace {

ProvisionedUser readUser(const Options& dict, std::size_t index)
{
    OptionReader reader(dict, fmt::format("users[{}]", index));
    ProvisionedUser user;
    auto name = reader.take<std::string>("name");
    if (!name)
        throw Error(ErrorCode::InvalidArgument, fmt::format("users[{}]: the key 'name' is required", index));
    user.name = std::move(*name);
    user.sshAuthorizedKeys = reader.take<std::vector<std::string>>("ssh_authorized_keys").value_or(Strings{});
    user.sudo = reader.take<bool>("sudo").value_or(false);
    user.passwordHash = reader.take<std::string>("passwd").value_or("");
    user.shell = reader.take<std::string>("shell").value_or("");
    reader.finish();
    return user;
}

ProvisionedFile readFile(const Options& dict, std::size_t index)
{
    OptionReader reader(dict, fmt::format("write_files[{}]", index));
    ProvisionedFile file;
    auto path = reader.take<std::string>("path");
    if (!path)
        throw Error(ErrorCode::InvalidArgument, fmt::format("write_files[{}]: the key 'path' is required", index));
    file.path = std::move(*path);
    file.content = reader.take<std::string>("content").value_or("");
    file.permissions = reader.take<std::string>("permissions").value_or("0644");
    reader.finish();
    return file;
}

} // namespace

Provisioning takeProvisioning(OptionReader& reader)
{
    Provisioning p;
    p.hostname = reader.take<std::string>("hostname").value_or("");
    const Dicts users = reader.take<Dicts>("users").value_or(Dicts{});
    // Bounded before each entry is read, so a huge array is refused before it is copied again.
    if (users.size() > ProvisioningLimits::kMaxUsers)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("users: at most {} entries, got {}", ProvisioningLimits::kMaxUsers, users.size()));
    for (std::size_t i = 0; i < users.size(); ++i)
        p.users.push_back(readUser(users[i], i));
    p.packages = reader.take<std::vector<std::string>>("packages").value_or(Strings{});
    p.runcmd = reader.take<std::vector<std::string>>("runcmd").value_or(Strings{});
    const Dicts files = reader.take<Dicts>("write_files").value_or(Dicts{});
    if (files.size() > ProvisioningLimits::kMaxFiles)
        throw Error(ErrorCode::InvalidArgument, fmt::format("write_files: at most {} entries, got {}",
                                                            ProvisioningLimits::kMaxFiles, files.size()));
    for (std::size_t i = 0; i < files.size(); ++i)
        p.writeFiles.push_back(readFile(files[i], i));
    return p;
}

Options provisioningDict(const Provisioning& p)
{
    Dicts users;
    for (const auto& u : p.users)
        users.push_back({{"name", sdbus::Variant(u.name)},
                         {"ssh_authorized_keys", sdbus::Variant(u.sshAuthorizedKeys)},
                         {"sudo", sdbus::Variant(u.sudo)},
                         {"passwd", sdbus::Variant(u.passwordHash)},
                         {"shell", sdbus::Variant(u.shell)}});
    Dicts files;
    for (const auto& f : p.writeFiles)
        files.push_back({{"path", sdbus::Variant(f.path)},
                         {"content", sdbus::Variant(f.content)},
                         {"permissions", sdbus::Variant(f.permissions)}});
    return {{"hostname", sdbus::Variant(p.hostname)},
            {"users", sdbus::Variant(users)},
            {"packages", sdbus::Variant(p.packages)},
            {"runcmd", sdbus::Variant(p.runcmd)},
            {"write_files", sdbus::Variant(files)}};
}

} // namespace hangar::bus
