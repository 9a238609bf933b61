// hangard's objects as the GUI sees them: filled by one GetManagedObjects call and kept current by the
// ObjectManager's InterfacesAdded / InterfacesRemoved and every object's PropertiesChanged signals (no polling).
// When the daemon goes away the inventory empties; when it comes back it is read again.
#pragma once

#include "Bus.h"

#include <map>
#include <optional>
#include <sigc++/sigc++.h>
#include <string>
#include <vector>

namespace hangar::gtk {

class Inventory
{
public:
    explicit Inventory(Bus& bus);
    ~Inventory();
    Inventory(const Inventory&) = delete;
    Inventory& operator=(const Inventory&) = delete;

    // Object paths that carry this interface, in no particular order.
    std::vector<std::string> objects(const std::string& interface) const;
    bool has(const std::string& path, const std::string& interface) const;

    std::string string(const std::string& path, const std::string& interface, const std::string& property) const;
    guint64 number(const std::string& path, const std::string& interface, const std::string& property) const;
    double real(const std::string& path, const std::string& interface, const std::string& property) const;
    bool flag(const std::string& path, const std::string& interface, const std::string& property) const;
    std::vector<std::string> strings(const std::string& path, const std::string& interface,
                                     const std::string& property) const;

    bool daemonPresent() const { return m_present; }

    // How a job ended (success, message), if its Completed signal was seen. Jobs on a fast hypervisor can end
    // before the caller has even read the reply that named them, so every Completed is remembered (the last few).
    std::optional<std::pair<bool, std::string>> jobOutcome(const std::string& job) const;
    sigc::signal<void(const std::string&, bool, const std::string&)> signalJobCompleted;

    // (path, interface): an object got an interface, lost it, or some of its properties changed.
    sigc::signal<void(const std::string&, const std::string&)> signalAdded;
    sigc::signal<void(const std::string&, const std::string&)> signalRemoved;
    sigc::signal<void(const std::string&, const std::string&)> signalChanged;
    // The daemon appeared (true) or went away (false); also when the first read failed (with the error).
    sigc::signal<void(bool, const std::string&)> signalDaemon;

private:
    using Properties = std::map<std::string, Glib::VariantBase>;
    void reload();
    void clear();
    void addInterfaces(const std::string& path, GVariant* interfaces);
    void onSignal(const Glib::ustring& path, const Glib::ustring& interface, const Glib::ustring& member,
                  const Glib::VariantContainerBase& parameters);
    const Glib::VariantBase* find(const std::string& path, const std::string& interface,
                                  const std::string& property) const;

    Bus& m_bus;
    std::map<std::string, std::map<std::string, Properties>> m_objects;
    std::vector<guint> m_subscriptions;
    std::map<std::string, std::pair<bool, std::string>> m_jobOutcomes;
    guint m_watch = 0;
    bool m_present = false;
    unsigned m_generation = 0; // ignores a GetManagedObjects reply that an older (re)load asked for
};

} // namespace hangar::gtk
