// quota show and quota set: a user's limits and what they use now (Manager.GetQuota), and changing the limits
// (Manager.SetQuota). Users are named on the command line by name or uid; limits by the names of create's options
// (vms, running, cpus, memory, disk), which map to the API's max_* keys.
#include "Commands.h"
#include "Output.h"
#include "Parse.h"
#include "common/Format.h"

#include <algorithm>
#include <iostream>
#include <set>
#include <unistd.h>

namespace hangar::client {
namespace {

using Dict = std::map<std::string, sdbus::Variant>;

enum class Unit
{
    Count,
    MiB,
    GiB
};

struct QuotaItem
{
    const char* name;     // what `quota show` prints and `quota set --unset` takes
    const char* limitKey; // in GetQuota's limits and SetQuota's argument
    const char* usageKey; // in GetQuota's usage
    Unit unit;
};

constexpr QuotaItem kQuotaItems[] = {
    {"vms", "max_vms", "vms", Unit::Count},          {"running", "max_running", "running", Unit::Count},
    {"cpus", "max_vcpus", "vcpus", Unit::Count},     {"memory", "max_memory_mib", "memory_mib", Unit::MiB},
    {"disk", "max_disk_gib", "disk_gib", Unit::GiB},
};

const QuotaItem* findItem(const std::string& name)
{
    for (const auto& item : kQuotaItems) {
        if (name == item.name)
            return &item;
    }
    return nullptr;
}

std::string amountText(const sdbus::Variant& value, Unit unit)
{
    const std::string type = value.peekValueType();
    if (unit != Unit::Count && type == "t" && value.get<std::uint64_t>() == 0)
        return "0"; // rather than "0 B": nothing in use
    if (unit == Unit::MiB && type == "t")
        return formatMiB(value.get<std::uint64_t>());
    if (unit == Unit::GiB && type == "t")
        return formatGiB(value.get<std::uint64_t>());
    return variantToText(value);
}

Dict dictAt(const Dict& quota, const std::string& key)
{
    auto it = quota.find(key);
    if (it == quota.end() || it->second.peekValueType() != "a{sv}")
        return {};
    return it->second.get<Dict>();
}

std::string sourceText(const Dict& quota)
{
    auto it = quota.find("source");
    if (it == quota.end() || it->second.peekValueType() != "s")
        return "-";
    std::string source = it->second.get<std::string>();
    if (source == "user")
        return "user (set for this user with hangarctl quota set)";
    if (source == "default")
        return "default (the [Quota] section of hangard.conf)";
    if (source == "unlimited")
        return "unlimited (an administrator without a quota of their own, or a hangard on the session bus)";
    return source;
}

std::string describeUser(std::uint32_t uid)
{
    return userName(uid) + " (" + std::to_string(uid) + ")";
}

void printQuota(std::uint32_t uid, const Dict& quota)
{
    const Dict limits = dictAt(quota, "limits");
    const Dict usage = dictAt(quota, "usage");
    std::cout << "User:   " << sanitize(describeUser(uid)) << '\n';
    std::cout << "Source: " << sanitize(sourceText(quota)) << "\n\n";

    Table table({"LIMIT", "USED", "MAX"});
    std::set<std::string> shown;
    for (const auto& item : kQuotaItems) {
        auto used = usage.find(item.usageKey);
        auto limit = limits.find(item.limitKey);
        table.addRow({item.name, used == usage.end() ? "-" : amountText(used->second, item.unit),
                      limit == limits.end() ? "unlimited" : amountText(limit->second, item.unit)});
        shown.insert(item.limitKey);
    }
    // Limits a newer hangard knows and this hangarctl does not: shown by their D-Bus name rather than hidden.
    for (const auto& [key, value] : limits) {
        if (shown.count(key) == 0)
            table.addRow({key, "-", variantToText(value)});
    }
    table.print(std::cout);
    std::cout.flush();
}

// The SetQuota argument for options, checked before anything is sent.
Options quotaChange(const Context& context, const QuotaSetOptions& options)
{
    Options limits;
    if (options.vms)
        limits["max_vms"] = sdbus::Variant(*options.vms);
    if (options.running)
        limits["max_running"] = sdbus::Variant(*options.running);
    if (options.cpus)
        limits["max_vcpus"] = sdbus::Variant(*options.cpus);
    if (options.memory)
        limits["max_memory_mib"] = sdbus::Variant(parseMemoryMiB(*options.memory));
    if (options.disk)
        limits["max_disk_gib"] = sdbus::Variant(parseDiskGiB(*options.disk));

    std::vector<std::string> unset;
    for (const auto& name : options.unset) {
        const QuotaItem* item = findItem(name);
        if (!item)
            throw UsageError("invalid --unset '" + name + "': expected vms, running, cpus, memory or disk");
        if (limits.count(item->limitKey) != 0)
            throw UsageError(
                std::string("--").append(name).append(" and --unset ").append(name).append(" contradict each other"));
        if (std::find(unset.begin(), unset.end(), item->limitKey) == unset.end())
            unset.emplace_back(item->limitKey);
    }
    if (options.reset && (!limits.empty() || !unset.empty()))
        throw UsageError("--reset cannot be combined with other changes: it removes the user's own quota, so the "
                         "defaults apply again");
    if (!options.reset && limits.empty() && unset.empty())
        throw UsageError("nothing to change: give at least one of --vms, --running, --cpus, --memory, --disk, "
                         "--unset or --reset");
    if (!unset.empty())
        limits["unset"] = sdbus::Variant(unset);
    if (options.reset)
        limits["reset"] = sdbus::Variant(true);
    for (const auto& [key, value] : context.authOptions())
        limits[key] = value;
    return limits;
}

} // namespace

ExitCode runQuotaShow(Context& context, const QuotaShowOptions& options)
{
    const std::uint32_t self = static_cast<std::uint32_t>(geteuid());
    const std::uint32_t uid = options.user ? parseUser(*options.user) : self;
    Dict quota;
    try {
        // Your own quota is yours to read; another user's needs manage-hosts, for which polkit may ask a password.
        if (uid != self)
            context.prepareAuthorizedCall();
        quota = context.connection().manager().GetQuota(uid, context.authOptions());
    } catch (const sdbus::Error& e) {
        return context.reportError("show the quota of " + describeUser(uid), e);
    }
    if (context.json()) {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& [key, value] : quota)
            object[key] = variantToJson(value);
        printJson(std::cout, object, true);
        return ExitCode::Ok;
    }
    printQuota(uid, quota);
    return ExitCode::Ok;
}

ExitCode runQuotaSet(Context& context, const QuotaSetOptions& options)
{
    // The user, sizes and names are checked before connecting: a typo is a usage error even without a daemon.
    const std::uint32_t uid = parseUser(options.user);
    const Options limits = quotaChange(context, options);
    context.useFlagNames(kQuotaSetFlags);
    try {
        context.prepareAuthorizedCall();
        context.connection().manager().SetQuota(uid, limits);
    } catch (const sdbus::Error& e) {
        return context.reportError("set the quota of " + describeUser(uid), e);
    }
    if (context.json())
        printJson(std::cout, {{"uid", uid}, {"user", userName(uid)}, {"ok", true}}, true);
    else if (options.reset)
        std::cout << "Reset the quota of " << sanitize(describeUser(uid)) << ": the defaults apply again." << std::endl;
    else
        std::cout << "Changed the quota of " << sanitize(describeUser(uid)) << "." << std::endl;
    return ExitCode::Ok;
}

} // namespace hangar::client
