#include "core/UserSpec.h"

#include "core/Base64.h"
#include "core/Error.h"
#include "core/Validation.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace hangar {
namespace {

bool isLowerOrDigit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isAlnum(char c)
{
    return isLowerOrDigit(c) || (c >= 'A' && c <= 'Z');
}

[[noreturn]] void invalid(std::string_view field, const std::string& what)
{
    throw Error(ErrorCode::InvalidArgument, fmt::format("{} {}", field, what));
}

constexpr std::array kKeyTypes = {
    std::string_view{"ssh-ed25519"},
    std::string_view{"ssh-rsa"},
    std::string_view{"ecdsa-sha2-nistp256"},
    std::string_view{"ecdsa-sha2-nistp384"},
    std::string_view{"ecdsa-sha2-nistp521"},
    std::string_view{"sk-ssh-ed25519@openssh.com"},
    std::string_view{"sk-ecdsa-sha2-nistp256@openssh.com"},
};

// The first field of an SSH key blob: a 32-bit big-endian length and that many bytes naming the key type.
std::string_view embeddedType(std::string_view blob)
{
    if (blob.size() < 4)
        return {};
    std::size_t length = 0;
    for (std::size_t i = 0; i < 4; ++i)
        length = (length << 8U) | static_cast<unsigned char>(blob[i]);
    if (length > blob.size() - 4)
        return {};
    return blob.substr(4, length);
}

} // namespace

void validateUserName(std::string_view field, std::string_view name)
{
    const bool ok =
        !name.empty() && name.size() <= 32 && (isLowerOrDigit(name[0]) || name[0] == '_') &&
        !(name[0] >= '0' && name[0] <= '9') &&
        std::all_of(name.begin(), name.end(), [](char c) { return isLowerOrDigit(c) || c == '_' || c == '-'; });
    if (!ok)
        invalid(field,
                fmt::format("must be a Linux user name ([a-z_][a-z0-9_-]{{0,31}}), got {}", quoteForMessage(name)));
}

void validateSshPublicKey(std::string_view field, std::string_view key)
{
    if (key.size() > UserLimits::kMaxKeyBytes)
        invalid(field, fmt::format("must be at most {} bytes", UserLimits::kMaxKeyBytes));
    if (std::any_of(key.begin(), key.end(), [](char c) { return c == '\n' || c == '\r' || c == '\0'; }))
        invalid(field, "must be one line");
    const auto space = key.find(' ');
    const std::string_view type = key.substr(0, space);
    if (std::find(kKeyTypes.begin(), kKeyTypes.end(), type) == kKeyTypes.end())
        invalid(field, fmt::format("must be an OpenSSH public key (\"ssh-ed25519 AAAA... comment\"; types "
                                   "ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-*), got {}",
                                   quoteForMessage(key)));
    const std::string_view rest = space == std::string_view::npos ? std::string_view{} : key.substr(space + 1);
    const std::string_view blob = rest.substr(0, rest.find(' '));
    const auto decoded = base64Decode(blob);
    if (!decoded || embeddedType(*decoded) != type)
        invalid(field, fmt::format("is not a valid {} public key: its key data does not decode to one", type));
}

void validateUserSpec(const UserSpec& user)
{
    validateUserName("user name", user.name);
    if (user.sshAuthorizedKeys.size() > UserLimits::kMaxKeys)
        invalid("user ssh_authorized_keys", fmt::format("may hold at most {} keys", UserLimits::kMaxKeys));
    for (std::size_t i = 0; i < user.sshAuthorizedKeys.size(); ++i)
        validateSshPublicKey(fmt::format("user ssh_authorized_keys[{}]", i), user.sshAuthorizedKeys[i]);
    const std::string& hash = user.passwordHash;
    if (!hash.empty()) {
        // crypt(3) hashes are "$id$...": anything else is a password in clear, which Hangar never takes.
        const bool ok = hash.size() <= UserLimits::kMaxHashBytes && hash.size() > 3 && hash[0] == '$' &&
                        hash.find('$', 1) != std::string::npos && std::all_of(hash.begin(), hash.end(), [](char c) {
                            return isAlnum(c) || c == '$' || c == '.' || c == '/' || c == '=' || c == ',' || c == '-';
                        });
        if (!ok)
            invalid("user passwd", "must be a crypt(3) password hash such as \"$6$salt$...\" (mkpasswd -m sha-512), "
                                   "never a password");
    }
    const std::string& shell = user.shell;
    if (!shell.empty()) {
        const bool ok = shell.size() <= UserLimits::kMaxShellBytes && shell[0] == '/' &&
                        shell.find("..") == std::string::npos && std::all_of(shell.begin(), shell.end(), [](char c) {
                            return isAlnum(c) || c == '/' || c == '.' || c == '_' || c == '-';
                        });
        if (!ok)
            invalid("user shell",
                    fmt::format("must be an absolute path such as /bin/bash, got {}", quoteForMessage(shell)));
    }
}

void validatePackageName(std::string_view field, std::string_view name)
{
    const bool ok = !name.empty() && name.size() <= UserLimits::kMaxPackageNameBytes && isAlnum(name[0]) &&
                    std::all_of(name.begin(), name.end(),
                                [](char c) { return isAlnum(c) || c == '+' || c == '.' || c == '_' || c == '-'; });
    if (!ok)
        invalid(field, fmt::format("must be a package name ([A-Za-z0-9][A-Za-z0-9+._-]{{0,127}}), got {}",
                                   quoteForMessage(name)));
}

void validatePackages(const std::vector<std::string>& names)
{
    if (names.empty() || names.size() > UserLimits::kMaxPackages)
        invalid("packages", fmt::format("must name 1..{} packages, got {}", UserLimits::kMaxPackages, names.size()));
    for (std::size_t i = 0; i < names.size(); ++i)
        validatePackageName(fmt::format("packages[{}]", i), names[i]);
}

} // namespace hangar
