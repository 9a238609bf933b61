#include "core/CloudInit.h"

#include <fmt/format.h>

namespace hangar {
namespace {

// Appends one "key: value" line at indent.
void line(std::string& out, std::size_t indent, std::string_view key, const std::string& value)
{
    out.append(indent, ' ');
    out += key;
    out += ": ";
    out += value;
    out += '\n';
}

void list(std::string& out, std::size_t indent, std::string_view key, const std::vector<std::string>& items)
{
    out.append(indent, ' ');
    out += key;
    out += ":\n";
    for (const auto& item : items) {
        out.append(indent + 2, ' ');
        out += "- " + yamlQuote(item) + '\n';
    }
}

void renderUser(std::string& out, const ProvisionedUser& user)
{
    out += "  - name: " + yamlQuote(user.name) + '\n';
    if (user.passwordHash.empty()) {
        line(out, 4, "lock_passwd", "true");
    } else {
        line(out, 4, "lock_passwd", "false");
        line(out, 4, "passwd", yamlQuote(user.passwordHash));
    }
    if (user.sudo)
        line(out, 4, "sudo", yamlQuote("ALL=(ALL) NOPASSWD:ALL"));
    if (!user.shell.empty())
        line(out, 4, "shell", yamlQuote(user.shell));
    if (!user.sshAuthorizedKeys.empty())
        list(out, 4, "ssh_authorized_keys", user.sshAuthorizedKeys);
}

} // namespace

std::string yamlQuote(std::string_view text)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '"':
            out += "\\\"";
            continue;
        case '\\':
            out += "\\\\";
            continue;
        case '\n':
            out += "\\n";
            continue;
        case '\t':
            out += "\\t";
            continue;
        case '\r':
            out += "\\r";
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02x}", c);
            continue;
        }
        // U+0080..U+009F (C1 controls, NEL among them), U+2028, U+2029 and U+FEFF break lines or vanish in YAML.
        if (c == 0xC2 && i + 1 < text.size()) {
            const auto next = static_cast<unsigned char>(text[i + 1]);
            if (next >= 0x80 && next <= 0x9F) {
                out += fmt::format("\\x{:02x}", next);
                ++i;
                continue;
            }
        }
        if ((c == 0xE2 || c == 0xEF) && i + 2 < text.size()) {
            const auto b1 = static_cast<unsigned char>(text[i + 1]);
            const auto b2 = static_cast<unsigned char>(text[i + 2]);
            const char* escape = c == 0xE2 && b1 == 0x80 && b2 == 0xA8   ? "\\u2028"
                                 : c == 0xE2 && b1 == 0x80 && b2 == 0xA9 ? "\\u2029"
                                 : c == 0xEF && b1 == 0xBB && b2 == 0xBF ? "\\ufeff"
                                                                         : nullptr;
            if (escape) {
                out += escape;
                i += 2;
                continue;
            }
        }
        out += static_cast<char>(c);
    }
    out += '"';
    return out;
}

std::string renderUserData(const Provisioning& p)
{
    std::string out = "#cloud-config\n";
    if (!p.hostname.empty())
        line(out, 0, "hostname", yamlQuote(p.hostname));
    if (!p.users.empty()) {
        out += "users:\n";
        for (const auto& user : p.users)
            renderUser(out, user);
    }
    if (!p.packages.empty()) {
        line(out, 0, "package_update", "true");
        list(out, 0, "packages", p.packages);
    }
    if (!p.writeFiles.empty()) {
        out += "write_files:\n";
        for (const auto& file : p.writeFiles) {
            out += "  - path: " + yamlQuote(file.path) + '\n';
            line(out, 4, "content", yamlQuote(file.content));
            line(out, 4, "permissions", yamlQuote(file.permissions));
        }
    }
    if (!p.runcmd.empty())
        list(out, 0, "runcmd", p.runcmd);
    return out;
}

std::string renderMetaData(const std::string& instanceId, const std::string& hostname)
{
    std::string out;
    line(out, 0, "instance-id", yamlQuote(instanceId));
    line(out, 0, "local-hostname", yamlQuote(hostname));
    return out;
}

std::string renderNetworkConfig()
{
    // Every Ethernet interface by name pattern: a Hangar VM has one NIC, whatever the guest calls it.
    return "version: 2\n"
           "ethernets:\n"
           "  nic0:\n"
           "    match:\n"
           "      name: \"e*\"\n"
           "    dhcp4: true\n";
}

std::vector<SeedFile> seedFiles(const Provisioning& provisioning, const std::string& instanceId,
                                const std::string& vmName)
{
    const std::string hostname = provisioning.hostname.empty() ? vmName : provisioning.hostname;
    return {{"meta-data", renderMetaData(instanceId, hostname)},
            {"user-data", renderUserData(provisioning)},
            {"network-config", renderNetworkConfig()}};
}

std::string seedVolumeName(const std::string& uuid)
{
    return "vm-" + uuid + "-seed.iso";
}

} // namespace hangar
