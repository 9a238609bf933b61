// Users and packages as callers describe them for a guest: VM.AddUser's a{sv} (the same keys as a cloud-init
// `users` entry: name, ssh_authorized_keys, sudo, passwd, shell) and package names for VM.InstallPackages. The
// checks live here, in one place, so provisioning at creation and changes to a running guest accept exactly the
// same input. Each check throws Error(InvalidArgument) naming the field and saying what is allowed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hangar {

struct UserSpec
{
    std::string name;
    std::vector<std::string> sshAuthorizedKeys;
    bool sudo = false;
    std::string passwordHash; // a crypt(3) hash ("$6$salt$..."), never a password; "" = no password
    std::string shell;        // an absolute path; "" = the guest's default
};

struct UserLimits
{
    static constexpr std::size_t kMaxKeys = 32;
    static constexpr std::size_t kMaxKeyBytes = 16 * 1024;
    static constexpr std::size_t kMaxHashBytes = 512;
    static constexpr std::size_t kMaxShellBytes = 255;
    static constexpr std::size_t kMaxPackages = 64;
    static constexpr std::size_t kMaxPackageNameBytes = 128;
};

// A Linux user name: [a-z_][a-z0-9_-]{0,31}.
void validateUserName(std::string_view field, std::string_view name);
// One line of authorized_keys without options: "<type> <base64 key blob> [comment]", where the blob decodes to an
// SSH key whose embedded type is <type> (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, the sk- variants).
void validateSshPublicKey(std::string_view field, std::string_view key);
void validateUserSpec(const UserSpec& user);
// A distribution package name: [A-Za-z0-9][A-Za-z0-9+._-]{0,127} (Debian, Fedora, SUSE and Alpine names fit;
// nothing a package manager would read as an option or a path).
void validatePackageName(std::string_view field, std::string_view name);
// 1..64 valid names.
void validatePackages(const std::vector<std::string>& names);

} // namespace hangar
