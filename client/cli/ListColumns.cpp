#include "ListColumns.h"

#include "Commands.h"
#include "common/Format.h"

#include <algorithm>

namespace hangar::client {
namespace {

template <typename T> std::optional<T> property(const VmProperties& vm, const char* name)
{
    auto it = vm.find(name);
    if (it == vm.end() || it->second.peekValueType() != sdbus::signature_of<T>::str())
        return std::nullopt;
    return it->second.get<T>();
}

std::string orDash(const std::string& text)
{
    return text.empty() ? "-" : text;
}

std::string text(const VmProperties& vm, const char* name)
{
    return orDash(property<std::string>(vm, name).value_or(""));
}

// The addresses without their prefix length, as `ip -brief` users read them: "192.168.122.15,fd00::5".
std::string addresses(const VmProperties& vm)
{
    std::string joined;
    for (const auto& address : property<std::vector<std::string>>(vm, "Addresses").value_or(std::vector<std::string>{}))
        joined += (joined.empty() ? "" : ",") + address.substr(0, address.find('/'));
    return orDash(joined);
}

// "ephemeral", "expires in 2h", both, or "-".
std::string lifetime(const VmProperties& vm)
{
    std::string text = property<bool>(vm, "Ephemeral").value_or(false) ? "ephemeral" : "";
    const std::uint64_t expiresAt = property<std::uint64_t>(vm, "ExpiresAt").value_or(0);
    if (expiresAt != 0) {
        const std::uint64_t now = currentTimeUsec() / 1000000;
        text += text.empty() ? "" : ", ";
        text += expiresAt > now ? "expires in " + formatDuration(expiresAt - now) : std::string("expiring");
    }
    return orDash(text);
}

struct Column
{
    const char* name;
    const char* header;
    std::string (*cell)(const VmProperties& vm);
};

const Column kColumns[] = {
    {"name", "NAME", [](const VmProperties& vm) { return text(vm, "Name"); }},
    {"state", "STATE", [](const VmProperties& vm) { return text(vm, "State"); }},
    {"image", "IMAGE", [](const VmProperties& vm) { return text(vm, "Image"); }},
    {"owner", "OWNER",
     [](const VmProperties& vm) {
         auto uid = property<std::uint32_t>(vm, "Owner");
         return uid ? userName(*uid) : std::string("-");
     }},
    {"uid", "UID",
     [](const VmProperties& vm) {
         auto uid = property<std::uint32_t>(vm, "Owner");
         return uid ? std::to_string(*uid) : std::string("-");
     }},
    {"uuid", "UUID", [](const VmProperties& vm) { return text(vm, "UUID"); }},
    {"cpus", "CPUS",
     [](const VmProperties& vm) {
         auto cpus = property<std::uint32_t>(vm, "VCPUs");
         return cpus ? std::to_string(*cpus) : std::string("-");
     }},
    {"memory", "MEMORY",
     [](const VmProperties& vm) {
         auto mib = property<std::uint64_t>(vm, "MemoryMiB");
         return mib ? formatMiB(*mib) : std::string("-");
     }},
    {"disk", "DISK",
     [](const VmProperties& vm) {
         auto gib = property<std::uint64_t>(vm, "DiskGiB");
         return gib ? formatGiB(*gib) : std::string("-");
     }},
    {"ip", "IP", addresses},
    {"lifetime", "LIFETIME", lifetime},
    {"host", "HOST", [](const VmProperties& vm) { return text(vm, "Host"); }},
    {"created", "CREATED",
     [](const VmProperties& vm) {
         auto usec = property<std::uint64_t>(vm, "CreatedAt");
         return usec ? formatLocalTime(*usec) : std::string("-");
     }},
    {"description", "DESCRIPTION", [](const VmProperties& vm) { return text(vm, "Description"); }},
};

const Column& column(const std::string& name)
{
    auto it =
        std::find_if(std::begin(kColumns), std::end(kColumns), [&name](const Column& c) { return name == c.name; });
    // CLI11 checked the names against listColumns().
    return it == std::end(kColumns) ? kColumns[0] : *it;
}

} // namespace

std::vector<std::string> listColumns()
{
    std::vector<std::string> names;
    for (const auto& c : kColumns)
        names.emplace_back(c.name);
    return names;
}

std::string listColumnNames()
{
    std::string joined;
    for (const auto& c : kColumns)
        joined += (joined.empty() ? "" : ", ") + std::string(c.name);
    return joined;
}

std::vector<std::string> listHeaders(const std::vector<std::string>& columns)
{
    std::vector<std::string> headers;
    headers.reserve(columns.size());
    for (const auto& name : columns)
        headers.emplace_back(column(name).header);
    return headers;
}

std::vector<std::string> listCells(const std::vector<std::string>& columns, const VmProperties& vm)
{
    std::vector<std::string> cells;
    cells.reserve(columns.size());
    for (const auto& name : columns)
        cells.push_back(column(name).cell(vm));
    return cells;
}

std::size_t stateColumn(const std::vector<std::string>& columns)
{
    return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), "state") - columns.begin());
}

} // namespace hangar::client
