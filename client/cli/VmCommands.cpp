// list, status, create, clone, rename and the one-call-per-name actions (start, restart, pause, resume, delete).
#include "Commands.h"
#include "ListColumns.h"
#include "Output.h"
#include "Parse.h"
#include "Words.h"
#include "common/Format.h"

#include <chrono>
#include <iostream>
#include <unistd.h>

namespace hangar::client {
namespace {

using VmRow = sdbus::Struct<std::string, std::string, std::string, uint32_t, sdbus::ObjectPath>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

// Every VM's properties, by object path: ListVMs carries only a few, one GetManagedObjects carries all for all.
std::map<sdbus::ObjectPath, VmProperties> propertiesOfVms(const ManagedObjects& objects)
{
    std::map<sdbus::ObjectPath, VmProperties> vms;
    for (const auto& [path, interfaces] : objects) {
        if (auto vm = interfaces.find(kVmInterface); vm != interfaces.end())
            vms.emplace(path, vm->second);
    }
    return vms;
}

// A VM's properties for the list: ListVMs' row is authoritative for what it carries (the VM may have changed
// between the two calls), GetManagedObjects adds the rest.
VmProperties rowProperties(const VmRow& row, const std::map<sdbus::ObjectPath, VmProperties>& all)
{
    VmProperties vm;
    if (auto it = all.find(row.get<4>()); it != all.end())
        vm = it->second;
    vm["Name"] = sdbus::Variant(row.get<0>());
    vm["UUID"] = sdbus::Variant(row.get<1>());
    vm["State"] = sdbus::Variant(row.get<2>());
    vm["Owner"] = sdbus::Variant(row.get<3>());
    return vm;
}

struct ActionInfo
{
    const char* verb; // "start": used in "cannot start VM 'x'"
    const char* done; // "Started": used in "Started VM 'x'."
};

ActionInfo infoFor(Action action)
{
    switch (action) {
    case Action::Start:
        return {"start", "Started"};
    case Action::Restart:
        return {"restart", "Rebooting"};
    case Action::Pause:
        return {"pause", "Paused"};
    case Action::Resume:
        return {"resume", "Resumed"};
    case Action::Delete:
        break;
    }
    return {"delete", "Deleted"};
}

void callAction(VmProxy& vm, Action action, Options options, const ActionOptions& actionOptions)
{
    switch (action) {
    case Action::Start:
        return vm.Start(options);
    case Action::Restart:
        return vm.Reboot(options);
    case Action::Pause:
        return vm.Pause(options);
    case Action::Resume:
        return vm.Resume(options);
    case Action::Delete:
        break;
    }
    if (actionOptions.force)
        options["force"] = sdbus::Variant(true);
    vm.Delete(options);
}

// "never", or the local time and how long until then.
std::string expiryText(std::uint64_t expiresAt)
{
    if (expiresAt == 0)
        return "never";
    const std::uint64_t now = currentTimeUsec() / 1000000;
    return formatLocalTime(expiresAt * 1000000) +
           (expiresAt > now ? " (in " + formatDuration(expiresAt - now) + ")" : " (due)");
}

// Human labels and formatting for the properties hangarctl knows; others are printed by their D-Bus name.
struct PropertyView
{
    const char* property;
    const char* label;
};

constexpr PropertyView kKnownProperties[] = {
    {"Name", "Name"},           {"UUID", "UUID"},           {"State", "State"},
    {"Owner", "Owner"},         {"VCPUs", "VCPUs"},         {"MemoryMiB", "Memory"},
    {"DiskGiB", "Disk"},        {"Image", "Image"},         {"Description", "Description"},
    {"Host", "Host"},           {"CreatedAt", "Created"},   {"GraphicsAddress", "Graphics"},
    {"Addresses", "Addresses"}, {"Snapshots", "Snapshots"}, {"Ephemeral", "Ephemeral"},
    {"ExpiresAt", "Expires"},
};

std::string propertyText(const std::string& property, const sdbus::Variant& value)
{
    const std::string type = value.peekValueType();
    if (property == "Owner" && type == "u") {
        auto uid = value.get<std::uint32_t>();
        return userName(uid) + " (" + std::to_string(uid) + ")";
    }
    if (property == "MemoryMiB" && type == "t")
        return formatMiB(value.get<std::uint64_t>());
    if (property == "DiskGiB" && type == "t")
        return formatGiB(value.get<std::uint64_t>());
    if (property == "CreatedAt" && type == "t")
        return formatTimeAgo(value.get<std::uint64_t>(), currentTimeUsec());
    if (property == "ExpiresAt" && type == "t")
        return expiryText(value.get<std::uint64_t>());
    if (property == "Ephemeral" && type == "b")
        return value.get<bool>() ? "yes: deleted once it has run and stopped" : "no";
    if ((property == "Description" || property == "GraphicsAddress" || property == "Image") && type == "s" &&
        value.get<std::string>().empty())
        return "-";
    if ((property == "Snapshots" || property == "Addresses") && type == "as") {
        std::string text;
        for (const auto& item : value.get<std::vector<std::string>>())
            text += (text.empty() ? "" : ", ") + item;
        return text.empty() ? "-" : text;
    }
    return variantToText(value);
}

void printStatus(const std::map<std::string, sdbus::Variant>& properties, const sdbus::ObjectPath& path)
{
    std::vector<std::pair<std::string, std::string>> lines;
    for (const auto& known : kKnownProperties) {
        if (auto it = properties.find(known.property); it != properties.end())
            lines.emplace_back(known.label, propertyText(it->first, it->second));
    }
    for (const auto& [property, value] : properties) {
        bool known = false;
        for (const auto& view : kKnownProperties)
            known = known || property == view.property;
        if (!known)
            lines.emplace_back(property, propertyText(property, value));
    }
    lines.emplace_back("Object path", std::string(path));
    printFields(std::cout, lines);
}

} // namespace

nlohmann::json vmJson(Context& context, const sdbus::ObjectPath& path)
{
    VmProxy vm(context.connection().bus(), path);
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [property, value] : vm.GetAll(kVmInterface))
        object[property] = variantToJson(value);
    if (object.contains("Owner") && object["Owner"].is_number_unsigned())
        object["OwnerName"] = userName(object["Owner"].get<std::uint32_t>());
    object["ObjectPath"] = std::string(path);
    return object;
}

ExitCode runList(Context& context, const ListOptions& options)
{
    Options filter;
    if (options.all)
        filter["all"] = sdbus::Variant(true);
    if (!options.state.empty())
        filter["state"] = sdbus::Variant(options.state);

    std::vector<VmRow> rows;
    std::map<sdbus::ObjectPath, VmProperties> properties;
    try {
        rows = context.connection().manager().ListVMs(filter);
        if (!rows.empty())
            properties = propertiesOfVms(context.connection().manager().GetManagedObjects());
    } catch (const sdbus::Error& e) {
        return context.reportError("list VMs", e);
    }
    auto imageOf = [&properties](const VmRow& row) {
        auto vm = rowProperties(row, properties);
        auto it = vm.find("Image");
        return it == vm.end() || it->second.peekValueType() != "s" ? std::string() : it->second.get<std::string>();
    };
    // Ephemeral and ExpiresAt, for --json.
    auto lifetimeOf = [&properties](const VmRow& row) {
        auto vm = rowProperties(row, properties);
        auto e = vm.find("Ephemeral");
        auto x = vm.find("ExpiresAt");
        return std::pair<bool, std::uint64_t>{
            e != vm.end() && e->second.peekValueType() == "b" && e->second.get<bool>(),
            x != vm.end() && x->second.peekValueType() == "t" ? x->second.get<std::uint64_t>() : 0};
    };

    if (context.json()) {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& row : rows) {
            array.push_back({{"Name", row.get<0>()},
                             {"UUID", row.get<1>()},
                             {"State", row.get<2>()},
                             {"Image", imageOf(row)},
                             {"Ephemeral", lifetimeOf(row).first},
                             {"ExpiresAt", lifetimeOf(row).second},
                             {"Owner", row.get<3>()},
                             {"OwnerName", userName(row.get<3>())},
                             {"ObjectPath", std::string(row.get<4>())}});
        }
        printJson(std::cout, array, true);
        return ExitCode::Ok;
    }
    if (rows.empty()) {
        // -q is for scripts: no rows, no words.
        if (!options.noLegend)
            std::cout << (options.all ? "No VMs." : "No VMs of yours (--all shows everyone's).") << std::endl;
        return ExitCode::Ok;
    }
    std::vector<std::string> columns = options.columns;
    if (columns.empty()) {
        std::string defaults = kDefaultListColumns;
        for (std::size_t at = 0, end = 0; at <= defaults.size(); at = end + 1) {
            end = std::min(defaults.find(',', at), defaults.size());
            columns.push_back(defaults.substr(at, end - at));
        }
    }
    Table table(listHeaders(columns));
    const std::size_t state = stateColumn(columns);
    if (colourWanted(STDOUT_FILENO))
        table.decorate([state](std::size_t column, const std::string& cell) {
            return column == state ? colourState(cell, true) : cell;
        });
    for (const auto& row : rows)
        table.addRow(listCells(columns, rowProperties(row, properties)));
    if (options.noLegend)
        table.printRows(std::cout);
    else
        table.print(std::cout);
    std::cout.flush();
    return ExitCode::Ok;
}

ExitCode runStatus(Context& context, const std::string& name)
{
    try {
        sdbus::ObjectPath path = context.connection().vmPath(name);
        if (context.json()) {
            printJson(std::cout, vmJson(context, path), true);
            return ExitCode::Ok;
        }
        VmProxy vm(context.connection().bus(), path);
        printStatus(vm.GetAll(kVmInterface), path);
        std::cout.flush();
        return ExitCode::Ok;
    } catch (const sdbus::Error& e) {
        return context.reportVmError("get the status of", name, e);
    }
}

ExitCode runCreate(Context& context, const CreateOptions& options)
{
    // Sizes are checked before connecting, so a typo is a usage error even when the daemon is not running.
    Options spec = context.authOptions();
    if (options.cpus)
        spec["vcpus"] = sdbus::Variant(*options.cpus);
    if (options.memory)
        spec["memory_mib"] = sdbus::Variant(parseMemoryMiB(*options.memory));
    if (options.disk)
        spec["disk_gib"] = sdbus::Variant(parseDiskGiB(*options.disk));
    if (options.description)
        spec["description"] = sdbus::Variant(*options.description);
    if (options.kernel)
        spec["kernel"] = sdbus::Variant(*options.kernel);
    if (options.initrd)
        spec["initrd"] = sdbus::Variant(*options.initrd);
    if (options.cmdline)
        spec["cmdline"] = sdbus::Variant(*options.cmdline);
    if (options.image)
        spec["image"] = sdbus::Variant(*options.image);
    addProvisioning(options.provisioning, spec);
    if (options.ephemeral)
        spec["ephemeral"] = sdbus::Variant(true);
    if (options.ttl)
        spec["ttl_sec"] = sdbus::Variant(parseDuration(*options.ttl, "--ttl"));

    sdbus::ObjectPath path;
    context.useFlagNames(kCreateFlags);
    try {
        context.prepareAuthorizedCall();
        path = context.connection().manager().CreateVM(options.name, spec);
    } catch (const sdbus::Error& e) {
        return context.reportVmError("create", options.name, e);
    }
    return printCreatedVm(context, options.name, path);
}

ExitCode printCreatedVm(Context& context, const std::string& name, const sdbus::ObjectPath& path,
                        const std::string& note)
{
    nlohmann::json created;
    try {
        created = vmJson(context, path);
    } catch (const sdbus::Error&) {
        // Created, but gone again or unreadable before we looked: still a success; report what we know.
        created = {{"Name", name}, {"ObjectPath", std::string(path)}};
    }
    if (context.json()) {
        printJson(std::cout, created, true);
    } else {
        std::string uuid = created.contains("UUID") ? created["UUID"].get<std::string>() : std::string(path);
        std::cout << "Created VM '" << sanitize(name) << "' (" << uuid << ")" << sanitize(note) << "." << std::endl;
    }
    return ExitCode::Ok;
}

ExitCode runClone(Context& context, const CloneOptions& options)
{
    sdbus::ObjectPath path;
    try {
        // Clone answers once the disk is copied: a full copy of a large disk takes far longer than a password prompt.
        context.prepareAuthorizedCall(kLongCallTimeout);
        VmProxy vm(context.connection().bus(), context.connection().vmPath(options.source));
        if (!context.json() && isatty(STDERR_FILENO))
            std::cerr << "Cloning VM '" << sanitize(options.source) << "' as '" << sanitize(options.name)
                      << "' (this copies its disk)..." << std::endl;
        path = vm.Clone(options.name, context.authOptions());
    } catch (const sdbus::Error& e) {
        // No reply within the hour from a hangard that is still there: the copy goes on in hangard. Had hangard
        // left the bus instead (its NoReply looks the same), reportVmError says that.
        if (isNoReply(e) && !context.connection().daemonWatch().wentAway()) {
            printError("cannot clone VM '" + options.source + "': no answer from hangard within " +
                       formatDuration(std::chrono::seconds(kLongCallTimeout).count()) +
                       "; the copy may still be going on there (hangarctl status " + options.name + " shows it)");
            return ExitCode::Unreachable;
        }
        return context.reportVmError("clone", options.source, e);
    }
    return printCreatedVm(context, options.name, path, " as a clone of '" + options.source + "'");
}

ExitCode runAction(Context& context, Action action, const std::vector<std::string>& names, const ActionOptions& options)
{
    const ActionInfo info = infoFor(action);
    ExitCode result = ExitCode::Ok;
    nlohmann::json report = nlohmann::json::array();
    context.prepareAuthorizedCall();
    for (const auto& name : names) {
        try {
            VmProxy vm(context.connection().bus(), context.connection().vmPath(name));
            callAction(vm, action, context.authOptions(), options);
            if (context.json())
                report.push_back({{"name", name}, {"ok", true}});
            else
                std::cout << info.done << " VM '" << sanitize(name) << "'." << std::endl;
        } catch (const sdbus::Error& e) {
            result = combine(result, context.reportVmError(info.verb, name, e));
            report.push_back({{"name", name}, {"ok", false}, {"error", e.getName()}, {"message", e.getMessage()}});
        }
    }
    if (context.json())
        printJson(std::cout, report, true);
    return result;
}

ExitCode runRename(Context& context, const std::string& oldName, const std::string& newName)
{
    try {
        context.prepareAuthorizedCall();
        VmProxy vm(context.connection().bus(), context.connection().vmPath(oldName));
        vm.Rename(newName, context.authOptions());
    } catch (const sdbus::Error& e) {
        return context.reportVmError("rename", oldName, e);
    }
    if (context.json())
        printJson(std::cout, {{"name", oldName}, {"new_name", newName}, {"ok", true}}, true);
    else
        std::cout << "Renamed VM '" << sanitize(oldName) << "' to '" << sanitize(newName) << "'." << std::endl;
    return ExitCode::Ok;
}

} // namespace hangar::client
