#include "HangarSystem.h"

#include "Domains.h"
#include "Scenarios.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace hangar::bench {
namespace {

constexpr const char* kService = "org.hangar.Hangar1";
constexpr const char* kManagerPath = "/org/hangar/Hangar1";
constexpr const char* kManager = "org.hangar.Hangar1.Manager";
constexpr const char* kVm = "org.hangar.Hangar1.VM";

MessagePtr createCall(Bus& bus, const std::string& name)
{
    auto m = bus.newCall(kService, kManagerPath, kManager, "CreateVM");
    check(sd_bus_message_append(m.get(), "sa{sv}", name.c_str(), 3, "vcpus", "u", kVcpus, "memory_mib", "t", kMemoryMiB,
                                "disk_gib", "t", std::uint64_t{10}),
          "append CreateVM");
    return m;
}

MessagePtr lifecycleCall(Bus& bus, const std::string& path, bool start)
{
    auto m = bus.newCall(kService, path.c_str(), kVm, start ? "Start" : "Stop");
    if (start)
        check(sd_bus_message_append(m.get(), "a{sv}", 0), "append Start");
    else
        check(sd_bus_message_append(m.get(), "a{sv}", 1, "force", "b", 1), "append Stop");
    return m;
}

// One VM's properties out of GetManagedObjects (the a{sv} of interface org.hangar.Hangar1.VM).
VmInfo readVmProperties(sd_bus_message* m)
{
    VmInfo vm;
    check(sd_bus_message_enter_container(m, 'a', "{sv}"), "enter properties");
    while (check(sd_bus_message_enter_container(m, 'e', "sv"), "enter property") > 0) {
        const std::string key = readString(m);
        if (key == "Name")
            vm.name = readVariantString(m);
        else if (key == "UUID")
            vm.uuid = readVariantString(m);
        else if (key == "State")
            vm.state = readVariantString(m);
        else if (key == "VCPUs")
            vm.vcpus = readVariantU32(m);
        else if (key == "MemoryMiB")
            vm.memoryMiB = readVariantU64(m);
        else
            check(sd_bus_message_skip(m, "v"), "skip property");
        check(sd_bus_message_exit_container(m), "exit property");
    }
    check(sd_bus_message_exit_container(m), "exit properties");
    return vm;
}

class HangarClient final : public Client
{
public:
    HangarClient(const std::string& address, const std::vector<std::string>& paths) : m_bus(address), m_paths(paths) {}
    void start(std::size_t vm) override { m_bus.call(lifecycleCall(m_bus, m_paths.at(vm), true).get()); }
    void stop(std::size_t vm) override { m_bus.call(lifecycleCall(m_bus, m_paths.at(vm), false).get()); }

private:
    Bus m_bus;
    const std::vector<std::string>& m_paths;
};

class HangarWatcher final : public Watcher
{
public:
    HangarWatcher(const std::string& address, const std::vector<std::string>& paths) : m_bus(address), m_paths(paths)
    {
        m_bus.matchSignal(nullptr, nullptr, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                          [this](sd_bus_message* m) { onPropertiesChanged(m); });
    }

    Clock::duration changeSeen(std::size_t vm, bool running, bool& signalBeforeReply) override
    {
        m_watched = m_paths.at(vm);
        m_want = running ? "running" : "stopped";
        m_seen.reset();
        std::optional<Clock::time_point> replied;
        std::optional<CallError> error;
        const auto sent = Clock::now();
        auto call = lifecycleCall(m_bus, m_watched, running);
        m_bus.callAsync(call.get(), [&](sd_bus_message*, const CallError* e) {
            replied = Clock::now();
            if (e)
                error = *e;
        });
        if (!m_bus.processUntil([&] { return (m_seen && replied) || error; }, std::chrono::seconds(30)))
            throw CallError("local", "no PropertiesChanged(State=" + m_want + ") within 30 s");
        if (error)
            throw *error;
        signalBeforeReply = *m_seen < *replied;
        return *m_seen - sent;
    }

private:
    void onPropertiesChanged(sd_bus_message* m)
    {
        const auto now = Clock::now();
        if (m_seen || m_watched != sd_bus_message_get_path(m))
            return;
        if (readString(m) != kVm)
            return;
        check(sd_bus_message_enter_container(m, 'a', "{sv}"), "enter changed");
        while (check(sd_bus_message_enter_container(m, 'e', "sv"), "enter changed entry") > 0) {
            const std::string key = readString(m);
            if (key == "State") {
                if (readVariantString(m) == m_want)
                    m_seen = now;
            } else {
                check(sd_bus_message_skip(m, "v"), "skip");
            }
            check(sd_bus_message_exit_container(m), "exit changed entry");
        }
    }

    Bus m_bus;
    const std::vector<std::string>& m_paths;
    std::string m_watched, m_want;
    std::optional<Clock::time_point> m_seen;
};

} // namespace

HangarSystem::HangarSystem(std::string hangard, const std::string& dir)
    : m_hangard(std::move(hangard)), m_dir(dir), m_bus(dir)
{
    startDaemon("allow-all");
}

HangarSystem::~HangarSystem()
{
    m_client.reset();
    m_daemon.reset();
    m_polkitd.reset();
}

void HangarSystem::startDaemon(const std::string& authorizer)
{
    m_client.reset();
    NotifySocket notify(m_dir + "/hangard.notify");
    const auto started = Clock::now();
    m_daemon = std::make_unique<Child>(
        std::vector<std::string>{m_hangard, "--bus=" + m_bus.address(), "--hypervisor=test:///default",
                                 "--state-dir=" + m_dir + "/state", "--config=/nonexistent",
                                 "--authorizer=" + authorizer},
        std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify.path()}}, m_dir + "/hangard.log");
    if (!notify.waitReady(std::chrono::minutes(5), [this] { return m_daemon->running(); }))
        throw std::runtime_error("hangard did not report READY=1:\n" + tail(log(), 20));
    m_lastStartup = Clock::now() - started;
    m_client = std::make_unique<Bus>(m_bus.address());
}

Clock::duration HangarSystem::restart(const std::string& authorizer)
{
    m_client.reset();
    const int status = m_daemon->stop(SIGTERM, std::chrono::seconds(60));
    if (status != 0)
        throw std::runtime_error("hangard exited with status " + std::to_string(status) + " on SIGTERM:\n" +
                                 tail(log(), 20));
    startDaemon(authorizer);
    return m_lastStartup;
}

void HangarSystem::startPolkitd(const std::string& polkitd)
{
    m_polkitd = std::make_unique<Child>(
        std::vector<std::string>{polkitd, "--no-debug"},
        std::map<std::string, std::string>{{"DBUS_SYSTEM_BUS_ADDRESS", m_bus.address()}}, m_dir + "/polkitd.log");
    Bus bus(m_bus.address());
    if (!waitFor([&] { return bus.nameHasOwner("org.freedesktop.PolicyKit1"); }, std::chrono::seconds(20)))
        throw std::runtime_error("polkitd did not take its name:\n" + tail(readFile(m_dir + "/polkitd.log"), 20));
}

std::string HangarSystem::log() const
{
    return readFile(m_dir + "/hangard.log");
}

bool HangarSystem::populate(std::size_t n, Clock::time_point deadline)
{
    if (n <= m_paths.size())
        return true;
    const std::size_t first = m_paths.size();
    m_paths.resize(n);
    const std::size_t done = pipelined(
        *m_client, n - first, 32, [&](std::size_t i) { return createCall(*m_client, domainName(first + i)); },
        [&](std::size_t i, sd_bus_message* reply) { m_paths[first + i] = readString(reply, 'o'); }, deadline);
    m_paths.resize(first + done);
    return m_paths.size() == n;
}

std::vector<VmInfo> HangarSystem::readInventory()
{
    auto call = m_client->newCall(kService, kManagerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
    auto reply = m_client->call(call.get());
    sd_bus_message* m = reply.get();
    std::vector<VmInfo> vms;
    check(sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}"), "enter objects");
    while (check(sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}"), "enter object") > 0) {
        readString(m, 'o');
        check(sd_bus_message_enter_container(m, 'a', "{sa{sv}}"), "enter interfaces");
        while (check(sd_bus_message_enter_container(m, 'e', "sa{sv}"), "enter interface") > 0) {
            if (readString(m) == kVm)
                vms.push_back(readVmProperties(m));
            else
                check(sd_bus_message_skip(m, "a{sv}"), "skip interface");
            check(sd_bus_message_exit_container(m), "exit interface");
        }
        check(sd_bus_message_exit_container(m), "exit interfaces");
        check(sd_bus_message_exit_container(m), "exit object");
    }
    check(sd_bus_message_exit_container(m), "exit objects");
    return vms;
}

std::unique_ptr<Client> HangarSystem::connect()
{
    return std::make_unique<HangarClient>(m_bus.address(), m_paths);
}

std::unique_ptr<Watcher> HangarSystem::watch()
{
    return std::make_unique<HangarWatcher>(m_bus.address(), m_paths);
}

int runPolkitClient(const std::string& busAddress, std::size_t pairs)
{
    Bus bus(busAddress);
    std::string path;
    try {
        auto create = createCall(bus, "polkit-bench");
        path = readString(bus.call(create.get()).get(), 'o');
    } catch (const CallError& e) {
        std::cerr << "CreateVM as uid " << getuid() << " failed: " << e.what() << '\n';
        return 1;
    }
    std::size_t errors = 0;
    const auto timed = [&](bool start) -> std::optional<double> {
        auto call = lifecycleCall(bus, path, start);
        const auto t0 = Clock::now();
        try {
            bus.call(call.get());
        } catch (const CallError& e) {
            if (errors++ == 0)
                std::cerr << "first error: " << e.what() << '\n';
            return std::nullopt;
        }
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    };
    for (std::size_t i = 0; i < 5; ++i) { // warm-up: connections, caches, polkitd's first rule evaluation
        timed(true);
        timed(false);
    }
    errors = 0;
    const auto end = Clock::now() + kScenarioTime;
    for (std::size_t i = 0; i < pairs && Clock::now() < end; ++i) {
        if (auto us = timed(true))
            std::cout << "start_us " << *us << '\n';
        if (auto us = timed(false))
            std::cout << "stop_us " << *us << '\n';
    }
    std::cout << "errors " << errors << '\n';
    return 0;
}

} // namespace hangar::bench
