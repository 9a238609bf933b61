#include "core/Provisioning.h"

#include "core/Base64.h"
#include "core/CloudInit.h"
#include "core/Error.h"
#include "core/Validation.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <set>

namespace hangar {
namespace {

Error invalid(std::string_view field, const std::string& what)
{
    return Error(ErrorCode::InvalidArgument, fmt::format("{}: {}", field, what));
}

std::string indexed(std::string_view field, std::size_t index)
{
    return fmt::format("{}[{}]", field, index);
}

bool isLower(char c)
{
    return c >= 'a' && c <= 'z';
}
bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isAlnumAscii(char c)
{
    return isLower(c) || isDigit(c) || (c >= 'A' && c <= 'Z');
}

// D-Bus strings are valid UTF-8 already; checked again because the YAML written from them must be, whoever calls.
bool validUtf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        if (c < 0x80)
            extra = 0;
        else if ((c & 0xE0U) == 0xC0U && c >= 0xC2)
            extra = 1;
        else if ((c & 0xF0U) == 0xE0U)
            extra = 2;
        else if ((c & 0xF8U) == 0xF0U && c <= 0xF4)
            extra = 3;
        else
            return false;
        if (i + extra >= text.size())
            return false;
        for (std::size_t k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80U)
                return false;
        i += extra + 1;
    }
    return true;
}

// Text that goes to the guest as it is: valid UTF-8 without NUL or other control characters (tab and, where
// multiline is allowed, newline excepted).
void requireText(std::string_view field, std::string_view text, std::size_t maxBytes, bool multiline)
{
    if (text.size() > maxBytes)
        throw invalid(field, fmt::format("at most {} bytes, got {}", maxBytes, text.size()));
    if (!validUtf8(text))
        throw invalid(field, "not valid UTF-8");
    for (unsigned char c : text)
        if ((c < 0x20 && c != '\t' && !(multiline && (c == '\n' || c == '\r'))) || c == 0x7F)
            throw invalid(field, multiline ? "control characters other than tab and newline are not allowed"
                                           : "control characters (newline included) are not allowed");
}

// The SSH wire format of a public key: length-prefixed strings that use up the whole blob exactly.
std::optional<std::vector<std::string>> sshStrings(const std::string& blob)
{
    std::vector<std::string> fields;
    for (std::size_t at = 0; at < blob.size();) {
        if (blob.size() - at < 4)
            return std::nullopt;
        std::uint32_t length = 0;
        for (std::size_t k = 0; k < 4; ++k)
            length = (length << 8U) | static_cast<unsigned char>(blob[at + k]);
        at += 4;
        if (length > blob.size() - at)
            return std::nullopt;
        fields.push_back(blob.substr(at, length));
        at += length;
    }
    return fields;
}

// How many strings each key type's blob holds: the type, then its key material (RSA: e, n; ECDSA: curve, point;
// ed25519: the key; security keys add the application).
std::size_t expectedFields(std::string_view type)
{
    if (type == "ssh-ed25519")
        return 2;
    if (type == "sk-ecdsa-sha2-nistp256@openssh.com")
        return 4;
    return 3;
}

constexpr std::array kKeyTypes{
    std::string_view("ssh-ed25519"),
    std::string_view("ssh-rsa"),
    std::string_view("ecdsa-sha2-nistp256"),
    std::string_view("ecdsa-sha2-nistp384"),
    std::string_view("ecdsa-sha2-nistp521"),
    std::string_view("sk-ssh-ed25519@openssh.com"),
    std::string_view("sk-ecdsa-sha2-nistp256@openssh.com"),
};

// Accounts every Debian or Fedora guest already has; cloud-init would change them instead of making a new user.
constexpr std::array kReservedUsers{
    std::string_view("root"),       std::string_view("daemon"),   std::string_view("bin"),
    std::string_view("sys"),        std::string_view("sync"),     std::string_view("games"),
    std::string_view("man"),        std::string_view("lp"),       std::string_view("mail"),
    std::string_view("news"),       std::string_view("uucp"),     std::string_view("proxy"),
    std::string_view("backup"),     std::string_view("list"),     std::string_view("irc"),
    std::string_view("gnats"),      std::string_view("nobody"),   std::string_view("sshd"),
    std::string_view("messagebus"), std::string_view("_apt"),     std::string_view("adm"),
    std::string_view("halt"),       std::string_view("shutdown"), std::string_view("operator"),
};

constexpr std::array kHashPrefixes{std::string_view("$6$"),  std::string_view("$5$"),  std::string_view("$y$"),
                                   std::string_view("$gy$"), std::string_view("$2b$"), std::string_view("$2y$"),
                                   std::string_view("$7$")};

bool isPermissions(std::string_view text)
{
    return (text.size() == 3 || text.size() == 4) &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
}

// An absolute, normalized path: no "." or ".." component, no empty one, no trailing '/'.
bool isCleanAbsolutePath(std::string_view path)
{
    if (path.size() < 2 || path.front() != '/' || path.back() == '/')
        return false;
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        start = end + 1;
    }
    return true;
}

void checkUser(const std::string& field, const ProvisionedUser& user)
{
    validateUserName(field + ".name", user.name);
    if (user.sshAuthorizedKeys.size() > ProvisioningLimits::kMaxKeysPerUser)
        throw invalid(
            field + ".ssh_authorized_keys",
            fmt::format("at most {} keys, got {}", ProvisioningLimits::kMaxKeysPerUser, user.sshAuthorizedKeys.size()));
    for (std::size_t k = 0; k < user.sshAuthorizedKeys.size(); ++k)
        validateSshPublicKey(indexed(field + ".ssh_authorized_keys", k), user.sshAuthorizedKeys[k]);
    if (!user.passwordHash.empty())
        validatePasswordHash(field + ".passwd", user.passwordHash);
    if (!user.shell.empty()) {
        const bool ok = user.shell.size() <= ProvisioningLimits::kMaxShellBytes && isCleanAbsolutePath(user.shell) &&
                        std::all_of(user.shell.begin(), user.shell.end(), [](char c) {
                            return isAlnumAscii(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '+';
                        });
        if (!ok)
            throw invalid(field + ".shell", fmt::format("an absolute path such as /bin/bash (A-Z, a-z, 0-9, "
                                                        "'/', '.', '_', '-', '+'), got {}",
                                                        quoteForMessage(user.shell)));
    }
}

void validateFile(const std::string& field, const ProvisionedFile& file)
{
    requireText(field + ".path", file.path, ProvisioningLimits::kMaxPathBytes, false);
    if (!isCleanAbsolutePath(file.path))
        throw invalid(field + ".path", fmt::format("an absolute path without '.', '..' or empty components, got {}",
                                                   quoteForMessage(file.path)));
    requireText(field + ".content", file.content, ProvisioningLimits::kMaxFileBytes, true);
    if (!isPermissions(file.permissions))
        throw invalid(field + ".permissions", fmt::format("octal like \"0644\" (3 or 4 digits 0-7), got {}",
                                                          quoteForMessage(file.permissions)));
}

template <typename T> void requireCount(std::string_view field, const std::vector<T>& items, std::size_t max)
{
    if (items.size() > max)
        throw invalid(field, fmt::format("at most {} entries, got {}", max, items.size()));
}

} // namespace

std::vector<std::string> Provisioning::userNames() const
{
    std::vector<std::string> names;
    names.reserve(users.size());
    for (const auto& user : users)
        names.push_back(user.name);
    return names;
}

void validateHostname(std::string_view field, std::string_view hostname)
{
    const auto fail = [&] {
        return invalid(field, fmt::format("an RFC 1123 host name: labels of 1 to 63 characters of A-Z, a-z, 0-9 and "
                                          "'-' (not first or last), separated by '.', at most {} characters; got {}",
                                          ProvisioningLimits::kMaxHostnameBytes, quoteForMessage(hostname)));
    };
    if (hostname.empty() || hostname.size() > ProvisioningLimits::kMaxHostnameBytes)
        throw fail();
    std::size_t start = 0;
    while (start <= hostname.size()) {
        const std::size_t end = std::min(hostname.find('.', start), hostname.size());
        const std::string_view label = hostname.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(), [](char c) { return isAlnumAscii(c) || c == '-'; }))
            throw fail();
        start = end + 1;
    }
}

void validateUserName(std::string_view field, std::string_view name)
{
    const bool shaped =
        !name.empty() && name.size() <= 32 && (isLower(name.front()) || name.front() == '_') &&
        std::all_of(name.begin(), name.end(), [](char c) { return isLower(c) || isDigit(c) || c == '_' || c == '-'; });
    if (!shaped)
        throw invalid(field, fmt::format("a Linux user name: 1 to 32 characters of a-z, 0-9, '_' and '-', starting "
                                         "with a-z or '_'; got {}",
                                         quoteForMessage(name)));
    if (std::find(kReservedUsers.begin(), kReservedUsers.end(), name) != kReservedUsers.end() ||
        name.rfind("systemd-", 0) == 0)
        throw invalid(field, fmt::format("'{}' is a system account of the guest; choose another name", name));
}

void validateSshPublicKey(std::string_view field, std::string_view key)
{
    const auto fail = [&](std::string_view why) {
        return invalid(field, fmt::format("not an OpenSSH public key ({}; expected \"TYPE BASE64 [comment]\" with "
                                          "TYPE ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or sk-*, "
                                          "e.g. \"ssh-ed25519 AAAA... comment\")",
                                          why));
    };
    requireText(field, key, ProvisioningLimits::kMaxKeyBytes, false);
    const std::size_t space = key.find(' ');
    if (space == std::string_view::npos)
        throw fail("no key data after the type");
    const std::string_view type = key.substr(0, space);
    if (std::find(kKeyTypes.begin(), kKeyTypes.end(), type) == kKeyTypes.end())
        throw fail(fmt::format("unknown type {}", quoteForMessage(type)));
    std::string_view rest = key.substr(space + 1);
    const std::string_view blobText = rest.substr(0, rest.find(' '));
    const auto blob = base64Decode(blobText);
    if (!blob || blob->size() < 4)
        throw fail("the key data is not base64");
    const auto fields = sshStrings(*blob);
    if (!fields || fields->empty() || (*fields)[0] != type)
        throw fail("the key data does not encode a key of that type");
    if (fields->size() != expectedFields(type) || (type == "ssh-ed25519" && (*fields)[1].size() != 32))
        throw fail("the key data is not a complete key of that type");
}

void validatePasswordHash(std::string_view field, std::string_view hash)
{
    const bool prefixed = std::any_of(kHashPrefixes.begin(), kHashPrefixes.end(),
                                      [&](std::string_view p) { return hash.rfind(p, 0) == 0; });
    const bool chars = std::all_of(hash.begin(), hash.end(), [](char c) {
        return isAlnumAscii(c) || c == '.' || c == '/' || c == '$' || c == '=' || c == ',' || c == '-';
    });
    const auto fields = std::count(hash.begin(), hash.end(), '$');
    if (!prefixed || !chars || fields < 3 || hash.size() > ProvisioningLimits::kMaxPasswordHashBytes ||
        hash.back() == '$')
        throw invalid(field, "not a crypt(3) password hash (\"$6$salt$hash\", \"$y$...\", \"$5$...\", e.g. from "
                             "mkpasswd or openssl passwd -6); plain-text passwords are refused");
}

void validatePackageName(std::string_view field, std::string_view name)
{
    const bool ok = !name.empty() && name.size() <= ProvisioningLimits::kMaxPackageNameBytes &&
                    isAlnumAscii(name.front()) && std::all_of(name.begin(), name.end(), [](char c) {
                        return isAlnumAscii(c) || c == '+' || c == '.' || c == '_' || c == '-';
                    });
    if (!ok)
        throw invalid(field, fmt::format("a Debian or RPM package name: 1 to {} characters of A-Z, a-z, 0-9, '+', "
                                         "'.', '_' and '-', starting with a letter or digit; got {}",
                                         ProvisioningLimits::kMaxPackageNameBytes, quoteForMessage(name)));
}

void validateUser(const std::string& field, const ProvisionedUser& user)
{
    checkUser(field, user);
}

void validatePackages(std::string_view field, const std::vector<std::string>& names, std::size_t atLeast)
{
    if (names.size() < atLeast)
        throw invalid(field, fmt::format("at least {} package name is needed, got {}", atLeast, names.size()));
    requireCount(field, names, ProvisioningLimits::kMaxPackages);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < names.size(); ++i) {
        validatePackageName(indexed(field, i), names[i]);
        if (!seen.insert(names[i]).second)
            throw invalid(indexed(field, i), fmt::format("package '{}' is given twice", names[i]));
    }
}

void validateProvisioning(const Provisioning& p)
{
    if (!p.hostname.empty())
        validateHostname("hostname", p.hostname);
    requireCount("users", p.users, ProvisioningLimits::kMaxUsers);
    std::set<std::string> names;
    for (std::size_t i = 0; i < p.users.size(); ++i) {
        checkUser(indexed("users", i), p.users[i]);
        if (!names.insert(p.users[i].name).second)
            throw invalid(indexed("users", i) + ".name", fmt::format("user '{}' is given twice", p.users[i].name));
    }
    validatePackages("packages", p.packages, 0);
    requireCount("runcmd", p.runcmd, ProvisioningLimits::kMaxCommands);
    for (std::size_t i = 0; i < p.runcmd.size(); ++i) {
        requireText(indexed("runcmd", i), p.runcmd[i], ProvisioningLimits::kMaxCommandBytes, true);
        if (p.runcmd[i].find_first_not_of(" \t\r\n") == std::string::npos)
            throw invalid(indexed("runcmd", i), "an empty command");
    }
    requireCount("write_files", p.writeFiles, ProvisioningLimits::kMaxFiles);
    std::set<std::string> paths;
    for (std::size_t i = 0; i < p.writeFiles.size(); ++i) {
        validateFile(indexed("write_files", i), p.writeFiles[i]);
        if (!paths.insert(p.writeFiles[i].path).second)
            throw invalid(indexed("write_files", i) + ".path", "the same path is given twice");
    }
    const std::size_t size = renderUserData(p).size();
    if (size > ProvisioningLimits::kMaxUserDataBytes)
        throw invalid("user-data", fmt::format("the #cloud-config made of these keys is {} bytes; at most {} are "
                                               "allowed",
                                               size, ProvisioningLimits::kMaxUserDataBytes));
}

} // namespace hangar
