// Client-side proxies for integration tests, generated from dbus/*.xml like hangarctl's, recording the signals
// they receive so tests can wait for them.
#pragma once

#include "hangar/dbus/org.hangar.Hangar1.Manager.proxy.h"
#include "hangar/dbus/org.hangar.Hangar1.VM.proxy.h"

#include <mutex>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::it {

using Dict = std::map<std::string, sdbus::Variant>;

struct SeenEvent
{
    uint32_t uid;
    std::string vmName, action, outcome, message, severity;
};

struct SeenAlert
{
    std::string id, severity, subject, message;
};

class ManagerClient final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::Manager_proxy,
                                                          sdbus::ObjectManager_proxy, sdbus::Properties_proxy>
{
public:
    explicit ManagerClient(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, "org.hangar.Hangar1", "/org/hangar/Hangar1")
    {
        registerProxy();
    }
    ~ManagerClient() { unregisterProxy(); }

    std::vector<SeenEvent> events() const
    {
        std::lock_guard lock(m_mutex);
        return m_events;
    }
    std::vector<SeenAlert> alerts() const
    {
        std::lock_guard lock(m_mutex);
        return m_alerts;
    }
    std::vector<std::string> added() const
    {
        std::lock_guard lock(m_mutex);
        return m_added;
    }
    std::vector<std::string> removed() const
    {
        std::lock_guard lock(m_mutex);
        return m_removed;
    }

private:
    void onEvent(const uint64_t&, const uint64_t&, const uint32_t& uid, const std::string&, const std::string& vmName,
                 const std::string& action, const std::string& outcome, const std::string& message,
                 const std::string& severity) override
    {
        std::lock_guard lock(m_mutex);
        m_events.push_back({uid, vmName, action, outcome, message, severity});
    }
    void onAlert(const std::string& id, const std::string& severity, const std::string& subject,
                 const std::string& message) override
    {
        std::lock_guard lock(m_mutex);
        m_alerts.push_back({id, severity, subject, message});
    }
    void onInterfacesAdded(const sdbus::ObjectPath& path,
                           const std::map<std::string, std::map<std::string, sdbus::Variant>>&) override
    {
        std::lock_guard lock(m_mutex);
        m_added.push_back(path);
    }
    void onInterfacesRemoved(const sdbus::ObjectPath& path, const std::vector<std::string>&) override
    {
        std::lock_guard lock(m_mutex);
        m_removed.push_back(path);
    }
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override
    {}

    mutable std::mutex m_mutex;
    std::vector<SeenEvent> m_events;
    std::vector<SeenAlert> m_alerts;
    std::vector<std::string> m_added, m_removed;
};

class VmClient final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::VM_proxy, sdbus::Properties_proxy>
{
public:
    VmClient(sdbus::IConnection& connection, const std::string& path)
        : ProxyInterfaces(connection, "org.hangar.Hangar1", path)
    {
        registerProxy();
    }
    ~VmClient() { unregisterProxy(); }

    // Every value State took in PropertiesChanged, in order.
    std::vector<std::string> states() const
    {
        std::lock_guard lock(m_mutex);
        return m_states;
    }
    std::vector<std::string> changedNames() const
    {
        std::lock_guard lock(m_mutex);
        return m_changed;
    }

private:
    void onPropertiesChanged(const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                             const std::vector<std::string>& invalidated) override
    {
        std::lock_guard lock(m_mutex);
        if (iface != "org.hangar.Hangar1.VM")
            return;
        for (const auto& [name, value] : changed) {
            m_changed.push_back(name);
            if (name == "State")
                m_states.push_back(value.get<std::string>());
        }
        m_changed.insert(m_changed.end(), invalidated.begin(), invalidated.end());
    }

    mutable std::mutex m_mutex;
    std::vector<std::string> m_states;
    std::vector<std::string> m_changed;
};

} // namespace hangar::it
