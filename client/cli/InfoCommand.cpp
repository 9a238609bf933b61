// `hangarctl info VM`: everything about one VM on one screen, like `virsh dominfo` — its properties in readable form
// (sizes, owner, addresses, display, who is on its console and display, snapshots, provisioning summary) and, while it
// runs, the live figures hangard sampled last (VM.GetStats). `status` shows the raw properties; `info` is what an admin
// reads first.
#include "Commands.h"
#include "Output.h"
#include "Words.h"
#include "common/Format.h"

#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace hangar::client {
namespace {

using Dict = std::map<std::string, sdbus::Variant>;

template <typename T> std::optional<T> get(const Dict& dict, const char* key)
{
    auto it = dict.find(key);
    if (it == dict.end() || !it->second.containsValueOfType<T>())
        return std::nullopt;
    return it->second.get<T>();
}

// A string list property, comma-separated; "-" when absent or empty.
std::string joined(const Dict& dict, const char* key)
{
    std::string text;
    for (const auto& item : get<std::vector<std::string>>(dict, key).value_or(std::vector<std::string>{}))
        text += (text.empty() ? "" : ", ") + item;
    return text.empty() ? "-" : text;
}

std::string orDash(std::optional<std::string> text)
{
    return !text || text->empty() ? "-" : *text;
}

// "12.5 % of one host CPU" from the last sample, "-" when there is none.
std::string cpuUse(const Dict& stats)
{
    auto percent = get<double>(stats, "cpu_percent");
    if (!percent)
        return "-";
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << *percent << " % of one host CPU";
    return out.str();
}

std::string memoryLine(const Dict& properties, const Dict& stats)
{
    auto mib = get<std::uint64_t>(properties, "MemoryMiB");
    std::string text = mib ? formatMiB(*mib) : "-";
    auto used = get<std::uint64_t>(stats, "memory_used_bytes");
    auto seen = get<std::uint64_t>(stats, "memory_available_bytes");
    if (used && seen)
        text += " (" + formatBytes(*used) + " used of " + formatBytes(*seen) + " the guest sees)";
    return text;
}

std::string rateLine(const Dict& stats, const char* read, const char* write, const char* readLabel,
                     const char* writeLabel)
{
    auto in = get<double>(stats, read);
    auto out = get<double>(stats, write);
    if (!in || !out)
        return "-";
    return formatRate(static_cast<std::uint64_t>(*in)) + " " + readLabel + ", " +
           formatRate(static_cast<std::uint64_t>(*out)) + " " + writeLabel;
}

// Who is on the guest's console and display: "in use, 1 VNC client", "free, no VNC client".
std::string presenceLine(const Dict& p)
{
    const auto attached = get<bool>(p, "ConsoleAttached");
    const auto clients = get<std::uint32_t>(p, "GraphicsClients");
    if (!attached && !clients)
        return "-";
    std::string text = attached.value_or(false) ? "in use" : "free";
    const std::uint32_t n = clients.value_or(0);
    text += n == 0 ? ", no VNC client" : ", " + std::to_string(n) + (n == 1 ? " VNC client" : " VNC clients");
    return text;
}

void printInfo(const Dict& p, const Dict& stats, const sdbus::ObjectPath& path)
{
    const bool colour = colourWanted(STDOUT_FILENO);
    std::vector<std::pair<std::string, std::string>> lines;
    lines.emplace_back("Name", orDash(get<std::string>(p, "Name")));
    lines.emplace_back("UUID", orDash(get<std::string>(p, "UUID")));
    const std::string state = orDash(get<std::string>(p, "State"));
    lines.emplace_back("State", state);
    if (auto uid = get<std::uint32_t>(p, "Owner"))
        lines.emplace_back("Owner", userName(*uid) + " (" + std::to_string(*uid) + ")");
    lines.emplace_back("Image", orDash(get<std::string>(p, "Image")));
    lines.emplace_back("Host", orDash(get<std::string>(p, "Host")));
    if (auto cpus = get<std::uint32_t>(p, "VCPUs"))
        lines.emplace_back("CPU(s)", std::to_string(*cpus));
    lines.emplace_back("CPU use", cpuUse(stats));
    lines.emplace_back("Memory", memoryLine(p, stats));
    auto disk = get<std::uint64_t>(p, "DiskGiB");
    lines.emplace_back("Disk", disk ? formatGiB(*disk) + " (virtio, the most it may grow to)" : "-");
    lines.emplace_back("Disk I/O",
                       rateLine(stats, "disk_read_bytes_per_sec", "disk_write_bytes_per_sec", "read", "written"));
    lines.emplace_back("Addresses", joined(p, "Addresses"));
    lines.emplace_back("Network I/O",
                       rateLine(stats, "net_rx_bytes_per_sec", "net_tx_bytes_per_sec", "received", "sent"));
    lines.emplace_back("Display", orDash(get<std::string>(p, "GraphicsAddress")));
    lines.emplace_back("Console", presenceLine(p));
    lines.emplace_back("Snapshots", joined(p, "Snapshots"));
    lines.emplace_back("Users", joined(p, "ProvisionedUsers"));
    lines.emplace_back("Packages", joined(p, "ProvisionedPackages"));
    if (auto created = get<std::uint64_t>(p, "CreatedAt"))
        lines.emplace_back("Created", formatTimeAgo(*created, currentTimeUsec()));
    lines.emplace_back("Description", orDash(get<std::string>(p, "Description")));
    lines.emplace_back("Object path", std::string(path));

    std::ostringstream text;
    printFields(text, lines);
    std::string out = text.str();
    // The state is coloured after printFields sanitized and aligned the lines, as list does it.
    if (colour && state != "-") {
        const std::string plain = "State:";
        if (auto at = out.find(plain); at != std::string::npos) {
            auto value = out.find(state, at + plain.size());
            if (value != std::string::npos)
                out.replace(value, state.size(), colourState(state, true));
        }
    }
    std::cout << out << std::flush;
}

} // namespace

ExitCode runInfo(Context& context, const std::string& name)
{
    try {
        const sdbus::ObjectPath path = context.connection().vmPath(name);
        VmProxy vm(context.connection().bus(), path);
        const Dict properties = vm.GetAll(kVmInterface);
        const Dict stats = vm.GetStats();
        if (context.json()) {
            nlohmann::json object = vmJson(context, path);
            nlohmann::json live = nlohmann::json::object();
            for (const auto& [key, value] : stats)
                live[key] = variantToJson(value);
            object["Stats"] = live;
            printJson(std::cout, object, true);
            return ExitCode::Ok;
        }
        printInfo(properties, stats, path);
        return ExitCode::Ok;
    } catch (const sdbus::Error& e) {
        return context.reportVmError("get information about", name, e);
    }
}

} // namespace hangar::client
