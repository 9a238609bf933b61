#include "Load.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace hangar::bench {
namespace {

constexpr const char* kService = "org.hangar.Hangar1";
constexpr const char* kManagerPath = "/org/hangar/Hangar1";
constexpr const char* kManager = "org.hangar.Hangar1.Manager";
constexpr const char* kVm = "org.hangar.Hangar1.VM";

long openFds(pid_t pid)
{
    std::error_code ec;
    long n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n;
}

// What one client thread saw.
struct ClientTally
{
    std::map<std::string, Samples> perMethod;
    std::size_t errors = 0;
    std::map<std::string, std::size_t> errorsByName;
    std::string firstError;
};

// One client: the life of VMs of its own, load-<client>-<k>, from CreateVM to Delete, with the reads a frontend
// makes between (the VM's properties, the caller's list, and now and then the whole inventory).
class LoadClient
{
public:
    LoadClient(const std::string& address, std::size_t index) : m_bus(address), m_index(index) {}

    // Runs VM lives until stop; what ends after measureFrom is tallied.
    void run(const std::atomic<bool>& stop, const std::atomic<bool>& measuring, ClientTally& tally)
    {
        for (std::size_t k = 0; !stop.load(); ++k) {
            const std::string name = "load-" + std::to_string(m_index) + "-" + std::to_string(k);
            std::string path;
            timed("CreateVM", measuring, tally, [&] {
                auto m = m_bus.newCall(kService, kManagerPath, kManager, "CreateVM");
                check(sd_bus_message_append(m.get(), "sa{sv}", name.c_str(), 3, "vcpus", "u", kVcpus, "memory_mib", "t",
                                            kMemoryMiB, "disk_gib", "t", std::uint64_t{1}),
                      "append CreateVM");
                path = readString(m_bus.call(m.get()).get(), 'o');
            });
            if (path.empty())
                continue;
            timed("Properties.GetAll", measuring, tally, [&] {
                auto m = m_bus.newCall(kService, path.c_str(), "org.freedesktop.DBus.Properties", "GetAll");
                check(sd_bus_message_append(m.get(), "s", kVm), "append GetAll");
                m_bus.call(m.get());
            });
            timed("Start", measuring, tally, [&] { vmCall(path, "Start", false); });
            timed("ListVMs", measuring, tally, [&] {
                auto m = m_bus.newCall(kService, kManagerPath, kManager, "ListVMs");
                check(sd_bus_message_append(m.get(), "a{sv}", 0), "append ListVMs");
                m_bus.call(m.get());
            });
            if (k % 8 == 0)
                timed("GetManagedObjects", measuring, tally, [&] {
                    auto m = m_bus.newCall(kService, kManagerPath, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects");
                    m_bus.call(m.get());
                });
            timed("Stop (force)", measuring, tally, [&] { vmCall(path, "Stop", true); });
            timed("Delete", measuring, tally, [&] { vmCall(path, "Delete", false); });
        }
    }

private:
    void vmCall(const std::string& path, const char* method, bool force)
    {
        auto m = m_bus.newCall(kService, path.c_str(), kVm, method);
        if (force)
            check(sd_bus_message_append(m.get(), "a{sv}", 1, "force", "b", 1), "append");
        else
            check(sd_bus_message_append(m.get(), "a{sv}", 0), "append");
        m_bus.call(m.get());
    }

    template <typename Fn>
    void timed(const char* method, const std::atomic<bool>& measuring, ClientTally& tally, Fn&& fn)
    {
        const bool counted = measuring.load();
        const auto t0 = Clock::now();
        try {
            fn();
            if (counted)
                tally.perMethod[method].add(Clock::now() - t0);
        } catch (const CallError& e) {
            if (!counted)
                return;
            ++tally.errors;
            ++tally.errorsByName[std::string(method) + ": " + e.name()];
            if (tally.firstError.empty())
                tally.firstError = std::string(method) + ": " + e.what();
        }
    }

    Bus m_bus;
    std::size_t m_index;
};

std::string kib(long v)
{
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << static_cast<double>(v) / 1024.0 << " MiB";
    return s.str();
}

} // namespace

LoadResult load(HangarSystem& system, const LoadOptions& options)
{
    const pid_t pid = *system.daemonPid();
    const std::string address = *system.busAddress();
    std::vector<std::unique_ptr<LoadClient>> clients;
    for (std::size_t i = 0; i < options.clients; ++i)
        clients.push_back(std::make_unique<LoadClient>(address, i));
    std::vector<ClientTally> tallies(options.clients);
    std::atomic<bool> stop{false}, measuring{false};
    std::vector<std::thread> threads;
    std::barrier sync(static_cast<std::ptrdiff_t>(options.clients + 1));
    for (std::size_t i = 0; i < options.clients; ++i)
        threads.emplace_back([&, i] {
            sync.arrive_and_wait();
            clients[i]->run(stop, measuring, tallies[i]);
        });
    sync.arrive_and_wait();
    std::this_thread::sleep_for(options.warmup);

    LoadResult r;
    r.fdsAfterWarmup = r.fdsMin = r.fdsMax = openFds(pid);
    r.rssAfterWarmupKiB = r.rssPeakKiB = rssKiB(pid).value_or(0);
    measuring = true;
    const auto started = Clock::now();
    while (Clock::now() - started < options.duration) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        const long fds = openFds(pid);
        r.fdsMin = std::min(r.fdsMin, fds);
        r.fdsMax = std::max(r.fdsMax, fds);
        r.rssPeakKiB = std::max(r.rssPeakKiB, rssKiB(pid).value_or(0));
    }
    measuring = false;
    r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    stop = true;
    for (auto& t : threads)
        t.join();
    clients.clear(); // their connections close: what the daemon held for them goes
    std::this_thread::sleep_for(options.idle);
    r.fdsAfterIdle = openFds(pid);
    r.rssAfterIdleKiB = rssKiB(pid).value_or(0);

    for (const auto& t : tallies) {
        for (const auto& [method, samples] : t.perMethod) {
            r.perMethod[method].append(samples);
            r.all.append(samples);
        }
        r.errors += t.errors;
        for (const auto& [name, n] : t.errorsByName)
            r.errorsByName[name] += n;
        if (r.firstError.empty())
            r.firstError = t.firstError;
    }
    return r;
}

std::string loadReport(const LoadResult& r, const LoadOptions& options, std::size_t inventory)
{
    std::ostringstream s;
    s << "Load: " << options.clients << " clients, each on its own connection, x " << options.duration.count()
      << " s measured after " << options.warmup.count() << " s of warm-up; hangard on libvirt's test driver with "
      << inventory
      << " other VMs stored. Each client: CreateVM, Properties.GetAll, Start, ListVMs, (every 8th VM) "
         "GetManagedObjects, Stop (force), Delete, on VMs of its own.\n\n";
    s << "| call | calls | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |\n";
    auto row = [&](const std::string& name, const Samples& samples) {
        const Summary sum = samples.summary();
        s << "| " << name << " | " << sum.count << " | " << formatMicros(sum.p50) << " | " << formatMicros(sum.p99)
          << " | " << formatMicros(sum.max) << " |\n";
    };
    for (const auto& [method, samples] : r.perMethod)
        row(method, samples);
    row("**all calls**", r.all);
    s << "\n| figure | value |\n| --- | ---: |\n";
    s << "| calls/s | " << static_cast<long>(static_cast<double>(r.all.size()) / r.seconds) << " |\n";
    s << "| errors | " << r.errors << " |\n";
    s << "| open fds after warm-up / min / max while measured / after idle | " << r.fdsAfterWarmup << " / " << r.fdsMin
      << " / " << r.fdsMax << " / " << r.fdsAfterIdle << " |\n";
    s << "| RSS after warm-up / peak / after " << options.idle.count() << " s idle | " << kib(r.rssAfterWarmupKiB)
      << " / " << kib(r.rssPeakKiB) << " / " << kib(r.rssAfterIdleKiB) << " |\n";
    const double drift = r.rssAfterWarmupKiB ? 100.0 * static_cast<double>(r.rssAfterIdleKiB - r.rssAfterWarmupKiB) /
                                                   static_cast<double>(r.rssAfterWarmupKiB)
                                             : 0.0;
    std::ostringstream d;
    d.precision(1);
    d << std::fixed << drift;
    s << "| RSS after idle vs after warm-up | " << (drift >= 0 ? "+" : "") << d.str() << " % |\n";
    if (r.errors) {
        s << "\nErrors by call and name:";
        for (const auto& [name, n] : r.errorsByName)
            s << ' ' << name << " x" << n << ';';
        s << " first: " << r.firstError << '\n';
    }
    return s.str();
}

} // namespace hangar::bench
