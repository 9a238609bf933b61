// What a VM is provisioned with at its first boot, through a cloud-init NoCloud seed (docs/provisioning.md): its
// hostname, users with SSH keys, packages, commands and small files. It is the owner's and administrators' data:
// the bus shows it only through VM.GetProvisioning (authorized), and the audit log never carries keys, password
// hashes, commands or file contents, only user names and package names. validateProvisioning checks every field
// strictly (names like Linux user names, keys that parse as OpenSSH public keys, bounded sizes) and names the field
// that is wrong, before anything is created.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hangar {

struct ProvisionedUser
{
    std::string name;
    std::vector<std::string> sshAuthorizedKeys;
    bool sudo = false;
    std::string passwordHash; // a crypt(3) hash ("$6$...", "$y$...", "$5$..."); "" = password login locked
    std::string shell;        // absolute path; "" = the guest's default

    bool operator==(const ProvisionedUser&) const = default;
};

struct ProvisionedFile
{
    std::string path; // absolute
    std::string content;
    std::string permissions = "0644"; // octal

    bool operator==(const ProvisionedFile&) const = default;
};

struct Provisioning
{
    std::string hostname; // "" = the VM's name
    std::vector<ProvisionedUser> users;
    std::vector<std::string> packages;
    std::vector<std::string> runcmd;
    std::vector<ProvisionedFile> writeFiles;

    // Nothing asked for: the VM gets no seed.
    bool empty() const
    {
        return hostname.empty() && users.empty() && packages.empty() && runcmd.empty() && writeFiles.empty();
    }
    std::vector<std::string> userNames() const;

    bool operator==(const Provisioning&) const = default;
};

struct ProvisioningLimits
{
    static constexpr std::size_t kMaxUsers = 32;
    static constexpr std::size_t kMaxKeysPerUser = 16;
    static constexpr std::size_t kMaxKeyBytes = 8192;
    static constexpr std::size_t kMaxPasswordHashBytes = 256;
    static constexpr std::size_t kMaxShellBytes = 255;
    static constexpr std::size_t kMaxPackages = 64;
    static constexpr std::size_t kMaxPackageNameBytes = 128;
    static constexpr std::size_t kMaxCommands = 32;
    static constexpr std::size_t kMaxCommandBytes = 4096;
    static constexpr std::size_t kMaxFiles = 16;
    static constexpr std::size_t kMaxFileBytes = std::size_t{16} * 1024;
    static constexpr std::size_t kMaxPathBytes = 1024;
    static constexpr std::size_t kMaxHostnameBytes = 253;
    static constexpr std::size_t kMaxUserDataBytes = std::size_t{64} * 1024; // the rendered #cloud-config
};

// Throws Error(InvalidArgument) naming the first field that is wrong ("users[1].ssh_authorized_keys[0]: ...") and
// what is allowed. The rendered user-data must fit kMaxUserDataBytes too.
void validateProvisioning(const Provisioning& provisioning);

// The single checks, for tests and for callers that check one value (field names the spec key in messages).
void validateHostname(std::string_view field, std::string_view hostname);
void validateUserName(std::string_view field, std::string_view name);
void validateSshPublicKey(std::string_view field, std::string_view key);
void validatePasswordHash(std::string_view field, std::string_view hash);
void validatePackageName(std::string_view field, std::string_view name);
// One cloud-init users entry, also what VM.AddUser takes for a running guest (field prefixes the names in messages,
// e.g. "user.ssh_authorized_keys[0]: ..."): the same input is accepted at creation and later.
void validateUser(const std::string& field, const ProvisionedUser& user);
// atLeast..kMaxPackages distinct package names (CreateVM's packages: 0; VM.InstallPackages: 1).
void validatePackages(std::string_view field, const std::vector<std::string>& names, std::size_t atLeast);

} // namespace hangar
