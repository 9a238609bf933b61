#include "BusClient.h"

namespace hangar::e2e {

using namespace std::chrono_literals;

std::string describe(const sdbus::Error& e)
{
    return e.getName() + ": " + e.getMessage();
}

BusClient::BusClient(const std::string& address)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(address)),
      m_manager(sdbus::createProxy(*m_connection, kBusName, kManagerPath))
{
    m_match = m_connection->addMatch(
        "type='signal',sender='org.hangar.Hangar1',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged'",
        [this](sdbus::Message& msg) {
            std::string iface;
            std::map<std::string, sdbus::Variant> changed;
            std::vector<std::string> invalidated;
            msg >> iface >> changed >> invalidated;
            std::lock_guard lock(m_mutex);
            // A job's Result comes just before its Completed.
            if (auto result = changed.find("Result"); iface == kJobIface && result != changed.end())
                m_results[msg.getPath()] = result->second.get<Dict>();
            if (iface != kVmIface)
                return;
            // AgentConnected is recorded among the States as "agent:true" / "agent:false".
            if (auto agent = changed.find("AgentConnected"); agent != changed.end())
                m_changes.push_back(
                    {msg.getPath(), agent->second.get<bool>() ? "agent:true" : "agent:false", Clock::now()});
            // Likewise ConsoleAttached ("console:true") and GraphicsClients ("graphics:1").
            if (auto console = changed.find("ConsoleAttached"); console != changed.end())
                m_changes.push_back(
                    {msg.getPath(), console->second.get<bool>() ? "console:true" : "console:false", Clock::now()});
            if (auto graphics = changed.find("GraphicsClients"); graphics != changed.end())
                m_changes.push_back(
                    {msg.getPath(), "graphics:" + std::to_string(graphics->second.get<std::uint32_t>()), Clock::now()});
            auto it = changed.find("State");
            if (it == changed.end())
                return;
            m_changes.push_back({msg.getPath(), it->second.get<std::string>(), Clock::now()});
        });
    // Before any job exists: a job that ends at once cannot end unseen.
    m_completedMatch = m_connection->addMatch(
        "type='signal',sender='org.hangar.Hangar1',interface='org.hangar.Hangar1.Job',member='Completed'",
        [this](sdbus::Message& msg) {
            JobEnd end;
            msg >> end.success >> end.message;
            std::lock_guard lock(m_mutex);
            m_completed[msg.getPath()] = end;
        });
    m_connection->enterEventLoopAsync();
}

BusClient::~BusClient()
{
    m_connection->leaveEventLoop();
}

std::unique_ptr<sdbus::IProxy> BusClient::proxy(const std::string& path)
{
    return sdbus::createProxy(*m_connection, kBusName, path);
}

std::optional<std::string> BusClient::find(const std::string& method, const std::string& name)
{
    try {
        sdbus::ObjectPath path;
        m_manager->callMethod(method).onInterface(kManagerIface).withArguments(name).storeResultsTo(path);
        return std::string(path);
    } catch (const sdbus::Error& e) {
        if (e.getName() == "org.hangar.Hangar1.Error.NotFound")
            return std::nullopt;
        throw;
    }
}

sdbus::ObjectPath BusClient::createVm(const std::string& name, const Dict& spec)
{
    sdbus::ObjectPath path;
    m_manager->callMethod("CreateVM")
        .onInterface(kManagerIface)
        .withTimeout(120s)
        .withArguments(name, spec)
        .storeResultsTo(path);
    return path;
}

void BusClient::vmCall(const std::string& path, const std::string& method, const Dict& options,
                       std::chrono::seconds timeout)
{
    proxy(path)->callMethod(method).onInterface(kVmIface).withTimeout(timeout).withArguments(options);
}

Dict BusClient::getStats(const std::string& path)
{
    Dict stats;
    proxy(path)->callMethod("GetStats").onInterface(kVmIface).withTimeout(30s).storeResultsTo(stats);
    return stats;
}

std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> BusClient::getAllStats()
{
    std::vector<sdbus::Struct<sdbus::ObjectPath, Dict>> all;
    m_manager->callMethod("GetAllStats").onInterface(kManagerIface).withTimeout(30s).storeResultsTo(all);
    return all;
}

int BusClient::openConsole(const std::string& path, const Dict& options)
{
    sdbus::UnixFd fd;
    proxy(path)
        ->callMethod("OpenConsole")
        .onInterface(kVmIface)
        .withTimeout(60s)
        .withArguments(options)
        .storeResultsTo(fd);
    return fd.release();
}

int BusClient::openLog(const std::string& path, const Dict& options)
{
    sdbus::UnixFd fd;
    proxy(path)->callMethod("OpenLog").onInterface(kVmIface).withTimeout(60s).withArguments(options).storeResultsTo(fd);
    return fd.release();
}

int BusClient::openGraphics(const std::string& path, const Dict& options)
{
    sdbus::UnixFd fd;
    proxy(path)
        ->callMethod("OpenGraphics")
        .onInterface(kVmIface)
        .withTimeout(60s)
        .withArguments(options)
        .storeResultsTo(fd);
    return fd.release();
}

sdbus::Variant BusClient::vmProperty(const std::string& path, const std::string& name)
{
    return proxy(path)->getProperty(name).onInterface(kVmIface);
}

std::string BusClient::state(const std::string& path)
{
    return vmProperty(path, "State").get<std::string>();
}

std::optional<std::string> BusClient::findVm(const std::string& name)
{
    return find("GetVM", name);
}

sdbus::ObjectPath BusClient::importImage(const std::string& name, int fd, const Dict& options)
{
    sdbus::ObjectPath job;
    m_manager->callMethod("ImportImage")
        .onInterface(kManagerIface)
        .withTimeout(60s)
        .withArguments(name, sdbus::UnixFd(fd), options)
        .storeResultsTo(job);
    return job;
}

std::optional<std::string> BusClient::findImage(const std::string& name)
{
    return find("GetImage", name);
}

sdbus::Variant BusClient::imageProperty(const std::string& path, const std::string& name)
{
    return proxy(path)->getProperty(name).onInterface(kImageIface);
}

void BusClient::cancelJob(const std::string& path)
{
    proxy(path)->callMethod("Cancel").onInterface(kJobIface).withTimeout(30s).withArguments(Dict{});
}

void BusClient::forgetCompleted()
{
    const std::lock_guard lock(m_mutex);
    m_completed.clear();
}

std::optional<JobEnd> BusClient::waitCompleted(const std::string& path, std::chrono::milliseconds deadline)
{
    std::optional<JobEnd> end;
    it::waitFor(
        [&] {
            std::lock_guard lock(m_mutex);
            if (auto it = m_completed.find(path); it != m_completed.end()) {
                end = it->second;
                if (auto result = m_results.find(path); result != m_results.end())
                    end->result = result->second;
            }
            return end.has_value();
        },
        deadline);
    return end;
}

std::size_t BusClient::mark() const
{
    std::lock_guard lock(m_mutex);
    return m_changes.size();
}

std::optional<Clock::time_point> BusClient::waitState(const std::string& path, const std::string& state,
                                                      std::size_t mark, std::chrono::milliseconds deadline)
{
    std::optional<Clock::time_point> at;
    it::waitFor(
        [&] {
            std::lock_guard lock(m_mutex);
            for (std::size_t i = mark; i < m_changes.size(); ++i)
                if (m_changes[i].path == path && m_changes[i].state == state) {
                    at = m_changes[i].at;
                    return true;
                }
            return false;
        },
        deadline);
    return at;
}

std::string BusClient::statesSince(const std::string& path, std::size_t mark) const
{
    std::lock_guard lock(m_mutex);
    std::string out;
    for (std::size_t i = mark; i < m_changes.size(); ++i)
        if (m_changes[i].path == path)
            out += (out.empty() ? "" : " -> ") + m_changes[i].state;
    return out.empty() ? "(none)" : out;
}
} // namespace hangar::e2e
