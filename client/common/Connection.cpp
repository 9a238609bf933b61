#include "common/Connection.h"

#include "common/Errors.h"

#include <cstdlib>

namespace hangar::client {

BusSpec BusSpec::parse(const std::string& text)
{
    if (text.empty() || text == "system")
        return BusSpec{Kind::System, {}};
    if (text == "session" || text == "user")
        return BusSpec{Kind::Session, {}};
    // Every D-Bus address is "transport:key=value[,...]"; anything else is a typo of system/session.
    if (text.find(':') != std::string::npos && text.find('=') != std::string::npos)
        return BusSpec{Kind::Address, text};
    throw UsageError("invalid bus '" + text +
                     "': expected system, session or a D-Bus address such as unix:path=/run/hangar/bus");
}

std::string BusSpec::describe() const
{
    switch (kind) {
    case Kind::System:
        return "the system bus";
    case Kind::Session:
        return "the session bus";
    case Kind::Address:
        break;
    }
    return "the bus at " + address;
}

ManagerProxy::ManagerProxy(sdbus::IConnection& connection, EventHandler onEvent, RemovedHandler onRemoved)
    : ProxyInterfaces(connection, kBusName, kManagerPath), m_onEvent(std::move(onEvent)),
      m_onRemoved(std::move(onRemoved))
{
    registerProxy();
}

ManagerProxy::~ManagerProxy()
{
    unregisterProxy();
}

void ManagerProxy::onEvent(const uint64_t& id, const uint64_t& timeUsec, const uint32_t& uid, const std::string& vmUuid,
                           const std::string& vmName, const std::string& action, const std::string& outcome,
                           const std::string& message, const std::string& severity)
{
    if (m_onEvent)
        m_onEvent(EventRecord{id, timeUsec, uid, vmUuid, vmName, action, outcome, message, severity});
}

void ManagerProxy::onInterfacesAdded(const sdbus::ObjectPath&,
                                     const std::map<std::string, std::map<std::string, sdbus::Variant>>&)
{}

void ManagerProxy::onInterfacesRemoved(const sdbus::ObjectPath& path, const std::vector<std::string>& interfaces)
{
    if (!m_onRemoved)
        return;
    for (const auto& interface : interfaces) {
        if (interface == kVmInterface || interface == kImageInterface || interface == kJobInterface) {
            m_onRemoved(path);
            return;
        }
    }
}

VmProxy::VmProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path, ChangedHandler onChanged)
    : ProxyInterfaces(connection, kBusName, path), m_onChanged(std::move(onChanged))
{
    registerProxy();
}

VmProxy::~VmProxy()
{
    unregisterProxy();
}

void VmProxy::onPropertiesChanged(const std::string& interfaceName,
                                  const std::map<std::string, sdbus::Variant>& changed,
                                  const std::vector<std::string>& invalidated)
{
    if (m_onChanged && interfaceName == kVmInterface)
        m_onChanged(changed, invalidated);
}

ImageProxy::ImageProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path)
    : ProxyInterfaces(connection, kBusName, path)
{
    registerProxy();
}

ImageProxy::~ImageProxy()
{
    unregisterProxy();
}

JobProxy::JobProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path, ChangedHandler onChanged)
    : ProxyInterfaces(connection, kBusName, path), m_onChanged(std::move(onChanged))
{
    registerProxy();
}

JobProxy::~JobProxy()
{
    unregisterProxy();
}

void JobProxy::onPropertiesChanged(const std::string& interfaceName,
                                   const std::map<std::string, sdbus::Variant>& changed,
                                   const std::vector<std::string>& invalidated)
{
    if (m_onChanged && interfaceName == kJobInterface)
        m_onChanged(changed, invalidated);
}

namespace {

std::unique_ptr<sdbus::IConnection> openBus(const BusSpec& spec)
{
    switch (spec.kind) {
    case BusSpec::Kind::System:
        return sdbus::createSystemBusConnection();
    case BusSpec::Kind::Session:
        return sdbus::createSessionBusConnection();
    case BusSpec::Kind::Address:
        break;
    }
    return sdbus::createSessionBusConnectionWithAddress(spec.address);
}

} // namespace

Connection::Connection(BusSpec spec) : m_spec(std::move(spec))
{
    try {
        m_bus = openBus(m_spec);
    } catch (const sdbus::Error& e) {
        std::string hint;
        if (m_spec.kind == BusSpec::Kind::Session && !std::getenv("DBUS_SESSION_BUS_ADDRESS") &&
            !std::getenv("XDG_RUNTIME_DIR"))
            hint = "; neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set";
        throw UnreachableError("cannot connect to " + m_spec.describe() + ": " + describe(e) + hint);
    }
}

Connection::~Connection()
{
    // Stop the loop thread first, so no handler runs while the proxies it would call into are being destroyed.
    stopEventLoop();
    m_daemonWatch.reset();
    m_manager.reset();
}

ManagerProxy& Connection::manager()
{
    if (!m_manager)
        m_manager = std::make_unique<ManagerProxy>(*m_bus);
    return *m_manager;
}

void Connection::setCallTimeout(std::chrono::microseconds timeout)
{
    m_bus->setMethodCallTimeout(static_cast<uint64_t>(timeout.count()));
}

void Connection::startEventLoop()
{
    if (m_loopRunning)
        return;
    m_bus->enterEventLoopAsync();
    m_loopRunning = true;
}

void Connection::stopEventLoop()
{
    if (!m_loopRunning)
        return;
    m_bus->leaveEventLoop();
    m_loopRunning = false;
}

DaemonWatch& Connection::daemonWatch()
{
    if (!m_daemonWatch)
        m_daemonWatch = std::make_unique<DaemonWatch>(*m_bus);
    return *m_daemonWatch;
}

sdbus::ObjectPath Connection::vmPath(const std::string& name)
{
    return manager().GetVM(name);
}

sdbus::ObjectPath Connection::imagePath(const std::string& name)
{
    return manager().GetImage(name);
}

} // namespace hangar::client
