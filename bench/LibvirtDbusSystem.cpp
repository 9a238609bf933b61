#include "LibvirtDbusSystem.h"

#include "Domains.h"

#include <map>

namespace hangar::bench {
namespace {

constexpr const char* kService = "org.libvirt";
constexpr const char* kConnectPath = "/org/libvirt/Test";
constexpr const char* kConnect = "org.libvirt.Connect";
constexpr const char* kDomain = "org.libvirt.Domain";
// virDomainEventType
constexpr int kEventStarted = 2;
constexpr int kEventStopped = 5;

MessagePtr domainCall(Bus& bus, const std::string& path, const char* member)
{
    auto m = bus.newCall(kService, path.c_str(), kDomain, member);
    check(sd_bus_message_append(m.get(), "u", 0u), member);
    return m;
}

class LibvirtDbusClient final : public Client
{
public:
    LibvirtDbusClient(const std::string& address, const std::vector<std::string>& paths)
        : m_bus(address), m_paths(paths)
    {}
    void start(std::size_t vm) override { m_bus.call(domainCall(m_bus, m_paths.at(vm), "Create").get()); }
    void stop(std::size_t vm) override { m_bus.call(domainCall(m_bus, m_paths.at(vm), "Destroy").get()); }

private:
    Bus m_bus;
    const std::vector<std::string>& m_paths;
};

class LibvirtDbusWatcher final : public Watcher
{
public:
    LibvirtDbusWatcher(const std::string& address, const std::vector<std::string>& paths)
        : m_bus(address), m_paths(paths)
    {
        m_bus.matchSignal(nullptr, kConnectPath, kConnect, "DomainEvent", [this](sd_bus_message* m) {
            const auto now = Clock::now();
            const char* path = nullptr;
            int event = 0;
            int detail = 0;
            check(sd_bus_message_read(m, "oii", &path, &event, &detail), "read DomainEvent");
            if (!m_seen && m_watched == path && event == m_want)
                m_seen = now;
        });
    }

    Clock::duration changeSeen(std::size_t vm, bool running, bool& signalBeforeReply) override
    {
        m_watched = m_paths.at(vm);
        m_want = running ? kEventStarted : kEventStopped;
        m_seen.reset();
        std::optional<Clock::time_point> replied;
        std::optional<CallError> error;
        const auto sent = Clock::now();
        auto call = domainCall(m_bus, m_watched, running ? "Create" : "Destroy");
        m_bus.callAsync(call.get(), [&](sd_bus_message*, const CallError* e) {
            replied = Clock::now();
            if (e)
                error = *e;
        });
        if (!m_bus.processUntil([&] { return (m_seen && replied) || error; }, std::chrono::seconds(30)))
            throw CallError("local", "no DomainEvent within 30 s");
        if (error)
            throw *error;
        signalBeforeReply = *m_seen < *replied;
        return *m_seen - sent;
    }

private:
    Bus m_bus;
    const std::vector<std::string>& m_paths;
    std::string m_watched;
    int m_want = 0;
    std::optional<Clock::time_point> m_seen;
};

} // namespace

LibvirtDbusSystem::LibvirtDbusSystem(const std::string& libvirtDbus, const std::string& dir) : m_dir(dir), m_bus(dir)
{
    m_daemon = std::make_unique<Child>(
        std::vector<std::string>{libvirtDbus, "--session"},
        std::map<std::string, std::string>{{"DBUS_SESSION_BUS_ADDRESS", m_bus.address()}}, dir + "/libvirt-dbus.log");
    m_client = std::make_unique<Bus>(m_bus.address());
    if (!waitFor([&] { return m_client->nameHasOwner(kService); }, std::chrono::seconds(20)))
        throw std::runtime_error("libvirt-dbus did not take its name:\n" +
                                 tail(readFile(dir + "/libvirt-dbus.log"), 20));
    // The test driver starts with one running domain, "test": remove it, so this system holds exactly the N.
    auto lookup = m_client->newCall(kService, kConnectPath, kConnect, "DomainLookupByName");
    check(sd_bus_message_append(lookup.get(), "s", "test"), "append");
    const std::string builtin = readString(m_client->call(lookup.get()).get(), 'o');
    m_client->call(domainCall(*m_client, builtin, "Destroy").get());
    m_client->call(domainCall(*m_client, builtin, "Undefine").get());
}

LibvirtDbusSystem::~LibvirtDbusSystem()
{
    m_client.reset();
    m_daemon.reset();
}

bool LibvirtDbusSystem::populate(std::size_t n, Clock::time_point deadline)
{
    if (n <= m_paths.size())
        return true;
    const std::size_t first = m_paths.size();
    m_paths.resize(n);
    const std::size_t done = pipelined(
        *m_client, n - first, 32,
        [&](std::size_t i) {
            auto m = m_client->newCall(kService, kConnectPath, kConnect, "DomainDefineXML");
            check(sd_bus_message_append(m.get(), "s", domainXml(first + i).c_str()), "append DomainDefineXML");
            return m;
        },
        [&](std::size_t i, sd_bus_message* reply) { m_paths[first + i] = readString(reply, 'o'); }, deadline);
    m_paths.resize(first + done);
    return m_paths.size() == n;
}

std::vector<VmInfo> LibvirtDbusSystem::readInventory(std::size_t window)
{
    auto list = m_client->newCall(kService, kConnectPath, kConnect, "ListDomains");
    check(sd_bus_message_append(list.get(), "u", 0u), "append ListDomains");
    auto reply = m_client->call(list.get());
    std::vector<std::string> paths;
    check(sd_bus_message_enter_container(reply.get(), 'a', "o"), "enter ao");
    const char* path = nullptr;
    while (check(sd_bus_message_read(reply.get(), "o", &path), "read o") > 0)
        paths.emplace_back(path);
    check(sd_bus_message_exit_container(reply.get()), "exit ao");

    // Per domain: GetAll (Name, UUID), GetState (state), GetXMLDesc (vCPUs and memory: the Domain interface has no
    // other way to memory; cockpit-machines reads the XML too). libvirt-dbus 1.4.1 wraps each value of GetAll in a
    // second variant (v containing v containing s); readVariantString unwraps that.
    std::vector<VmInfo> vms(paths.size());
    pipelined(
        *m_client, paths.size() * 3, window,
        [&](std::size_t i) {
            const std::string& p = paths[i / 3];
            switch (i % 3) {
            case 0: {
                auto m = m_client->newCall(kService, p.c_str(), "org.freedesktop.DBus.Properties", "GetAll");
                check(sd_bus_message_append(m.get(), "s", kDomain), "append GetAll");
                return m;
            }
            case 1:
                return domainCall(*m_client, p, "GetState");
            default:
                return domainCall(*m_client, p, "GetXMLDesc");
            }
        },
        [&](std::size_t i, sd_bus_message* m) {
            VmInfo& vm = vms[i / 3];
            switch (i % 3) {
            case 0:
                check(sd_bus_message_enter_container(m, 'a', "{sv}"), "enter properties");
                while (check(sd_bus_message_enter_container(m, 'e', "sv"), "enter property") > 0) {
                    const std::string key = readString(m);
                    if (key == "Name")
                        vm.name = readVariantString(m);
                    else if (key == "UUID")
                        vm.uuid = readVariantString(m);
                    else
                        check(sd_bus_message_skip(m, "v"), "skip property");
                    check(sd_bus_message_exit_container(m), "exit property");
                }
                check(sd_bus_message_exit_container(m), "exit properties");
                break;
            case 1: {
                int state = 0;
                int reason = 0;
                check(sd_bus_message_read(m, "(ii)", &state, &reason), "read GetState");
                vm.state = stateName(state);
                break;
            }
            default:
                parseDomainXml(readString(m), vm.vcpus, vm.memoryMiB);
            }
        });
    return vms;
}

std::unique_ptr<Client> LibvirtDbusSystem::connect()
{
    return std::make_unique<LibvirtDbusClient>(m_bus.address(), m_paths);
}

std::unique_ptr<Watcher> LibvirtDbusSystem::watch()
{
    return std::make_unique<LibvirtDbusWatcher>(m_bus.address(), m_paths);
}

} // namespace hangar::bench
