// `hangarctl stats [NAME...]` and `hangarctl top`: the live figures hangard samples (VM.GetStats,
// Manager.GetAllStats), as a table or JSON; `top` refreshes the table like virt-top until interrupted.
#include "Commands.h"
#include "Output.h"
#include "common/Format.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace hangar::client {
namespace {

using Stats = std::map<std::string, sdbus::Variant>;

struct Row
{
    std::string name;
    std::string path;
    Stats stats;
};

template <typename T> std::optional<T> field(const Stats& stats, const char* key)
{
    auto it = stats.find(key);
    if (it == stats.end() || !it->second.containsValueOfType<T>())
        return std::nullopt;
    return it->second.get<T>();
}

std::string percent(const Stats& s)
{
    const auto v = field<double>(s, "cpu_percent");
    if (!v)
        return "-";
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << *v;
    return out.str();
}

std::string bytes(const Stats& s, const char* key)
{
    const auto v = field<std::uint64_t>(s, key);
    return v ? formatBytes(*v) : "-";
}

std::string rate(const Stats& s, const char* key)
{
    const auto v = field<double>(s, key);
    return v ? formatBytes(static_cast<std::uint64_t>(*v)) + "/s" : "-";
}

Table statsTable(const std::vector<Row>& rows)
{
    Table table({"NAME", "CPU%", "MEM USED", "MEM", "DISK READ", "DISK WRITE", "NET RX", "NET TX"});
    for (const auto& r : rows)
        table.addRow({r.name, percent(r.stats), bytes(r.stats, "memory_used_bytes"),
                      bytes(r.stats, "memory_available_bytes"), rate(r.stats, "disk_read_bytes_per_sec"),
                      rate(r.stats, "disk_write_bytes_per_sec"), rate(r.stats, "net_rx_bytes_per_sec"),
                      rate(r.stats, "net_tx_bytes_per_sec")});
    return table;
}

nlohmann::json rowsJson(const std::vector<Row>& rows)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
        nlohmann::json stats = nlohmann::json::object();
        for (const auto& [key, value] : r.stats)
            stats[key] = variantToJson(value);
        out.push_back({{"Name", r.name}, {"ObjectPath", r.path}, {"Stats", stats}});
    }
    return out;
}

// Every running VM's figures in one call, with names from one GetManagedObjects: two round trips in all.
std::vector<Row> allRows(Connection& connection)
{
    auto& manager = connection.manager();
    const auto objects = manager.GetManagedObjects();
    std::vector<Row> rows;
    for (const auto& entry : manager.GetAllStats()) {
        const sdbus::ObjectPath& path = entry.get<0>();
        Row row{std::string(path), std::string(path), entry.get<1>()};
        if (auto it = objects.find(path); it != objects.end()) {
            auto vm = it->second.find("org.hangar.Hangar1.VM");
            if (vm != it->second.end())
                if (auto name = vm->second.find("Name"); name != vm->second.end())
                    row.name = name->second.get<std::string>();
        }
        rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const double ca = field<double>(a.stats, "cpu_percent").value_or(-1);
        const double cb = field<double>(b.stats, "cpu_percent").value_or(-1);
        return ca != cb ? ca > cb : a.name < b.name;
    });
    return rows;
}

} // namespace

ExitCode runStats(Context& context, const std::vector<std::string>& names)
{
    std::vector<Row> rows;
    ExitCode result = ExitCode::Ok;
    if (names.empty()) {
        try {
            rows = allRows(context.connection());
        } catch (const sdbus::Error& e) {
            return context.reportError("read the stats", e);
        }
    }
    for (const auto& name : names) {
        try {
            const sdbus::ObjectPath path = context.connection().vmPath(name);
            VmProxy vm(context.connection().bus(), path);
            rows.push_back(Row{name, std::string(path), vm.GetStats()});
        } catch (const sdbus::Error& e) {
            result = combine(result, context.reportVmError("read the stats of", name, e));
        }
    }
    if (context.json()) {
        printJson(std::cout, rowsJson(rows), true);
    } else if (rows.empty() && names.empty()) {
        std::cout << "No running VMs.\n";
    } else {
        statsTable(rows).print(std::cout);
    }
    std::cout.flush();
    return result;
}

ExitCode runTop(Context& context, const TopOptions& options)
{
    // SIGINT/SIGTERM end the loop between refreshes: wait for them with the refresh delay as the timeout, so the
    // display refreshes on time and Ctrl-C answers at once.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    const bool tty = isatty(STDOUT_FILENO) != 0;

    for (unsigned round = 0; !options.iterations || round < *options.iterations; ++round) {
        std::vector<Row> rows;
        std::uint32_t total = 0;
        std::uint32_t running = 0;
        try {
            rows = allRows(context.connection());
            total = context.connection().manager().VMCount();
            running = context.connection().manager().RunningVMCount();
        } catch (const sdbus::Error& e) {
            return context.reportError("read the stats", e);
        }
        if (context.json()) {
            printJson(std::cout, rowsJson(rows), false);
        } else {
            if (tty)
                std::cout << "\033[H\033[2J"; // home and clear: redraw in place
            const std::time_t now = std::time(nullptr);
            std::cout << "hangarctl top  " << formatLocalTime(static_cast<std::uint64_t>(now) * 1'000'000) << "  "
                      << total << " VMs, " << running << " running\n\n";
            statsTable(rows).print(std::cout);
        }
        std::cout.flush();
        if (options.iterations && round + 1 == *options.iterations)
            break;
        timespec delay{};
        delay.tv_sec = static_cast<time_t>(options.delaySec);
        delay.tv_nsec = static_cast<long>((options.delaySec - static_cast<double>(delay.tv_sec)) * 1e9);
        if (sigtimedwait(&stopSignals, nullptr, &delay) > 0)
            return ExitCode::Ok; // Ctrl-C is how one leaves top
    }
    return ExitCode::Ok;
}

} // namespace hangar::client
