// libFuzzer target: the cloud-init provisioning of CreateVM (hostname, users, packages, runcmd, write_files) read off
// the bus (bus/ProvisioningDict.h) and validated (core/Provisioning.h validateProvisioning), and what an accepted one
// renders to (core/CloudInit.h): the #cloud-config user-data and the meta-data the guest's cloud-init parses as
// root. Findings: a crash, a sanitizer report or a refusal other than InvalidArgument; for an accepted one,
// user-data past its limit, or YAML whose structure is not the one Hangar means to write: every value is one quoted
// scalar on its own line, so the line count is fixed by the structure and any value that breaks out of its quotes
// (a newline, a line separator YAML honours) changes it.
// Input: a dictionary in FuzzSupport.h's text format (hostname:s=..., users[0].name:s=..., packages:as=...).
#include "FuzzSupport.h"
#include "bus/ProvisioningDict.h"
#include "core/CloudInit.h"
#include "core/Provisioning.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace {

using namespace hangar;

std::size_t expectedUserDataLines(const Provisioning& p)
{
    std::size_t lines = 1; // #cloud-config
    if (!p.hostname.empty())
        ++lines;
    if (!p.users.empty()) {
        ++lines;
        for (const auto& user : p.users) {
            lines += 1 + (user.passwordHash.empty() ? 1 : 2) + (user.sudo ? 1 : 0) + (user.shell.empty() ? 0 : 1);
            if (!user.sshAuthorizedKeys.empty())
                lines += 1 + user.sshAuthorizedKeys.size();
        }
    }
    if (!p.packages.empty())
        lines += 2 + p.packages.size(); // package_update, packages:
    if (!p.writeFiles.empty())
        lines += 1 + 3 * p.writeFiles.size();
    if (!p.runcmd.empty())
        lines += 1 + p.runcmd.size();
    return lines;
}

// Lines as YAML sees them: \n, and the breaks a YAML 1.1 reader also honours (NEL, U+2028, U+2029) must not occur
// unquoted; a raw control character would be an error in the guest's parser.
void checkYaml(const std::string& text, std::size_t expectedLines, const char* what)
{
    if (text.empty() || text.back() != '\n')
        fuzz::finding(std::string(what) + " does not end with a newline");
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    if (lines != expectedLines)
        fuzz::finding(std::string(what) + " has " + std::to_string(lines) + " lines, its structure " +
                      std::to_string(expectedLines) + ":\n" + text);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7F)
            fuzz::finding(std::string(what) + " carries a raw control character");
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85)
            fuzz::finding(std::string(what) + " carries a raw NEL");
        if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(text[i + 2]) == 0xA8 || static_cast<unsigned char>(text[i + 2]) == 0xA9))
            fuzz::finding(std::string(what) + " carries a raw line or paragraph separator");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bus::Options dict = fuzz::parseDict(std::string_view(reinterpret_cast<const char*>(data), size));
    Provisioning provisioning;
    const bool accepted = fuzz::refusesOnlyWithInvalidArgument([&] {
        bus::OptionReader reader(dict, "spec");
        provisioning = bus::takeProvisioning(reader);
        reader.finish();
        validateProvisioning(provisioning);
    });
    if (!accepted || provisioning.empty())
        return 0;
    const auto files = seedFiles(provisioning, "6f9619ff-8b86-4d11-b42d-00c04fc964ff", "vm1");
    for (const auto& file : files) {
        if (file.name == "user-data") {
            if (file.content.size() > ProvisioningLimits::kMaxUserDataBytes)
                fuzz::finding("user-data of " + std::to_string(file.content.size()) + " bytes was accepted");
            checkYaml(file.content, expectedUserDataLines(provisioning), "user-data");
        } else if (file.name == "meta-data") {
            checkYaml(file.content, 2, "meta-data");
        }
    }
    return 0;
}
