// The bus a client talks to hangard on and the proxies it talks through (sdbus-c++). Picks the bus (system, session
// or an explicit address, e.g. from hangarctl's --bus or HANGAR_BUS), opens it, and wraps the proxies generated from
// dbus/*.xml so that their signal handlers only hand data to a callback. Those callbacks run on sdbus-c++'s
// event-loop thread while it holds the connection's lock: a blocking call from inside one would deadlock, so a client
// uses them to queue work and wake the thread that makes the calls (hangarctl's main thread, see cli/Waiter.h).
#pragma once

#include "common/DaemonWatch.h"
#include "hangar/dbus/org.hangar.Hangar1.Image.proxy.h"
#include "hangar/dbus/org.hangar.Hangar1.Job.proxy.h"
#include "hangar/dbus/org.hangar.Hangar1.Manager.proxy.h"
#include "hangar/dbus/org.hangar.Hangar1.VM.proxy.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::client {

inline constexpr const char* kBusName = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kVmInterface = "org.hangar.Hangar1.VM";
inline constexpr const char* kImageInterface = "org.hangar.Hangar1.Image";
inline constexpr const char* kJobInterface = "org.hangar.Hangar1.Job";

using Options = std::map<std::string, sdbus::Variant>;

struct BusSpec
{
    enum class Kind
    {
        System,
        Session,
        Address
    };
    Kind kind = Kind::System;
    std::string address;

    // "system", "session", or a D-Bus address ("unix:path=/run/x", "tcp:host=...,port=..."). Throws UsageError
    // (common/Errors.h).
    static BusSpec parse(const std::string& text);
    // "the system bus", "the session bus", "the bus at unix:path=/run/x": for messages.
    std::string describe() const;
};

// One row of the audit log, from GetEvents or the Event signal.
struct EventRecord
{
    std::uint64_t id = 0;
    std::uint64_t timeUsec = 0;
    std::uint32_t uid = 0;
    std::string vmUuid;
    std::string vmName;
    std::string action;
    std::string outcome;
    std::string message;
    std::string severity; // info, warning, error
};

// The Manager object. Event and InterfacesRemoved handlers are set once, before the event loop starts. The removal
// handler is called for every VM, image and job object that goes away.
class ManagerProxy final
    : public sdbus::ProxyInterfaces<org::hangar::Hangar1::Manager_proxy, sdbus::ObjectManager_proxy>
{
public:
    using EventHandler = std::function<void(const EventRecord&)>;
    using RemovedHandler = std::function<void(const sdbus::ObjectPath&)>;

    explicit ManagerProxy(sdbus::IConnection& connection, EventHandler onEvent = {}, RemovedHandler onRemoved = {});
    ~ManagerProxy();
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;

private:
    void onEvent(const uint64_t& id, const uint64_t& timeUsec, const uint32_t& uid, const std::string& vmUuid,
                 const std::string& vmName, const std::string& action, const std::string& outcome,
                 const std::string& message, const std::string& severity) override;
    // hangarctl lists alerts (GetAlerts) but does not follow them.
    void onAlert(const std::string&, const std::string&, const std::string&, const std::string&) override {}
    void onInterfacesAdded(const sdbus::ObjectPath& path,
                           const std::map<std::string, std::map<std::string, sdbus::Variant>>& interfaces) override;
    void onInterfacesRemoved(const sdbus::ObjectPath& path, const std::vector<std::string>& interfaces) override;

    EventHandler m_onEvent;
    RemovedHandler m_onRemoved;
};

// One VM object. The PropertiesChanged handler (only for the VM interface) is fixed at construction, so the match
// rule is in place before the constructor returns: a command that must not miss a change creates this first.
class VmProxy final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::VM_proxy, sdbus::Properties_proxy>
{
public:
    using ChangedHandler =
        std::function<void(const std::map<std::string, sdbus::Variant>& changed, const std::vector<std::string>&)>;

    VmProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path, ChangedHandler onChanged = {});
    ~VmProxy();
    VmProxy(const VmProxy&) = delete;
    VmProxy& operator=(const VmProxy&) = delete;

private:
    void onPropertiesChanged(const std::string& interfaceName, const std::map<std::string, sdbus::Variant>& changed,
                             const std::vector<std::string>& invalidated) override;

    ChangedHandler m_onChanged;
};

// One image object: its properties and Delete. No signal handlers: no client waits on an image's changes.
class ImageProxy final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::Image_proxy, sdbus::Properties_proxy>
{
public:
    ImageProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path);
    ~ImageProxy();
    ImageProxy(const ImageProxy&) = delete;
    ImageProxy& operator=(const ImageProxy&) = delete;

private:
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override
    {}
};

// One job object, for its progress: PropertiesChanged of the Job interface goes to the handler fixed at construction.
// Its Completed signal is not handled here: JobFollower subscribes to it for every job before the job exists.
class JobProxy final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::Job_proxy, sdbus::Properties_proxy>
{
public:
    using ChangedHandler = VmProxy::ChangedHandler;

    JobProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path, ChangedHandler onChanged);
    ~JobProxy();
    JobProxy(const JobProxy&) = delete;
    JobProxy& operator=(const JobProxy&) = delete;

private:
    void onCompleted(const bool&, const std::string&) override {}
    void onPropertiesChanged(const std::string& interfaceName, const std::map<std::string, sdbus::Variant>& changed,
                             const std::vector<std::string>& invalidated) override;

    ChangedHandler m_onChanged;
};

class Connection
{
public:
    // Opens the bus; throws UnreachableError (naming the bus) when that fails.
    explicit Connection(BusSpec spec);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sdbus::IConnection& bus() { return *m_bus; }
    const BusSpec& spec() const { return m_spec; }
    // A Manager proxy without signal handlers, made on first use.
    ManagerProxy& manager();

    // Upper bound for each method call. State-changing calls may wait for polkit to ask for a password.
    void setCallTimeout(std::chrono::microseconds timeout);

    // Runs sdbus-c++'s event loop on its own thread, so signal handlers fire. Block the signals the main thread
    // waits for (hangarctl's Waiter) before calling this: the new thread inherits the mask.
    void startEventLoop();
    // Joins the loop thread: after this no handler runs, so objects they point to may go.
    void stopEventLoop();

    // Whether hangard is still there, made on first use: every wait of a client asks this one watch (DaemonWatch.h).
    // Make it before the call whose answer is awaited, so it knows which hangard that call went to.
    DaemonWatch& daemonWatch();

    // Resolves a VM name to its object path (Manager.GetVM).
    sdbus::ObjectPath vmPath(const std::string& name);
    // Resolves an image name to its object path (Manager.GetImage).
    sdbus::ObjectPath imagePath(const std::string& name);

private:
    BusSpec m_spec;
    std::unique_ptr<sdbus::IConnection> m_bus;
    bool m_loopRunning = false;
    // Declared after m_bus so they are destroyed first: proxies and match slots must not outlive the connection.
    std::unique_ptr<ManagerProxy> m_manager;
    std::unique_ptr<DaemonWatch> m_daemonWatch;
};

} // namespace hangar::client
