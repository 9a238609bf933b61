#include "Inventory.h"

namespace hangar::gtk {

namespace {
constexpr const char* kObjectManager = "org.freedesktop.DBus.ObjectManager";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";
} // namespace

Inventory::Inventory(Bus& bus) : m_bus(bus)
{
    auto connection = m_bus.connection();
    auto handler = [this](const Glib::RefPtr<Gio::DBus::Connection>&, const Glib::ustring&, const Glib::ustring& path,
                          const Glib::ustring& interface, const Glib::ustring& member,
                          const Glib::VariantContainerBase& parameters) {
        onSignal(path, interface, member, parameters);
    };
    // Subscribed before the first read, so no change between the read and the subscription is missed.
    m_subscriptions.push_back(connection->signal_subscribe(handler, kService, kObjectManager, "", kManagerPath));
    m_subscriptions.push_back(connection->signal_subscribe(handler, kService, kProperties, "PropertiesChanged"));
    m_subscriptions.push_back(connection->signal_subscribe(handler, kService, kJobInterface, "Completed"));
    m_watch = Gio::DBus::watch_name(
        connection, kService,
        [this](const Glib::RefPtr<Gio::DBus::Connection>&, const Glib::ustring&, const Glib::ustring&) { reload(); },
        [this](const Glib::RefPtr<Gio::DBus::Connection>&, const Glib::ustring&) {
            m_present = false; // first, so that what is removed now is known to be gone with the daemon
            clear();
            signalDaemon.emit(false, "hangard is not running on " + m_bus.description());
        });
}

Inventory::~Inventory()
{
    Gio::DBus::unwatch_name(m_watch);
    for (guint id : m_subscriptions)
        m_bus.connection()->signal_unsubscribe(id);
}

void Inventory::clear()
{
    ++m_generation;
    auto old = std::move(m_objects);
    m_objects.clear();
    for (const auto& [path, interfaces] : old)
        for (const auto& [interface, properties] : interfaces)
            signalRemoved.emit(path, interface);
}

void Inventory::reload()
{
    clear();
    const unsigned generation = m_generation;
    m_bus.call(
        kManagerPath, kObjectManager, "GetManagedObjects", Glib::VariantContainerBase(),
        [this, generation](const Glib::VariantContainerBase& reply) {
            if (generation != m_generation)
                return;
            Glib::VariantBase objects;
            reply.get_child(objects, 0);
            GVariantIter iter;
            g_variant_iter_init(&iter, objects.gobj());
            const gchar* path = nullptr;
            GVariant* interfaces = nullptr;
            while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
                addInterfaces(path, interfaces);
                g_variant_unref(interfaces);
            }
            m_present = true;
            signalDaemon.emit(true, "");
        },
        [this](const BusError& error) {
            m_present = false;
            signalDaemon.emit(false, "cannot read hangard's objects: " + error.text());
        });
}

void Inventory::addInterfaces(const std::string& path, GVariant* interfaces)
{
    GVariantIter iter;
    g_variant_iter_init(&iter, interfaces);
    const gchar* interface = nullptr;
    GVariant* properties = nullptr;
    while (g_variant_iter_next(&iter, "{&s@a{sv}}", &interface, &properties)) {
        Properties& target = m_objects[path][interface];
        GVariantIter inner;
        g_variant_iter_init(&inner, properties);
        const gchar* name = nullptr;
        GVariant* value = nullptr;
        while (g_variant_iter_next(&inner, "{&sv}", &name, &value))
            target[name] = Glib::VariantBase(value); // takes the reference
        g_variant_unref(properties);
        signalAdded.emit(path, interface);
    }
}

void Inventory::onSignal(const Glib::ustring& path, const Glib::ustring& interface, const Glib::ustring& member,
                         const Glib::VariantContainerBase& parameters)
{
    GVariant* params = const_cast<GVariant*>(parameters.gobj());
    if (interface == kObjectManager && member == "InterfacesAdded") {
        const gchar* object = nullptr;
        GVariant* interfaces = nullptr;
        g_variant_get(params, "(&o@a{sa{sv}})", &object, &interfaces);
        addInterfaces(object, interfaces);
        g_variant_unref(interfaces);
    } else if (interface == kObjectManager && member == "InterfacesRemoved") {
        const gchar* object = nullptr;
        GVariantIter* names = nullptr;
        g_variant_get(params, "(&oas)", &object, &names);
        const gchar* name = nullptr;
        auto it = m_objects.find(object);
        while (g_variant_iter_next(names, "&s", &name)) {
            if (it != m_objects.end() && it->second.erase(name) > 0)
                signalRemoved.emit(object, name);
        }
        g_variant_iter_free(names);
        if (it != m_objects.end() && it->second.empty())
            m_objects.erase(it);
    } else if (interface == kJobInterface && member == "Completed") {
        gboolean success = false;
        const gchar* message = nullptr;
        g_variant_get(params, "(b&s)", &success, &message);
        constexpr std::size_t kRemembered = 64;
        if (m_jobOutcomes.size() >= kRemembered)
            m_jobOutcomes.erase(m_jobOutcomes.begin());
        m_jobOutcomes[path] = {success != 0, message};
        signalJobCompleted.emit(path, success != 0, message);
    } else if (interface == kProperties && member == "PropertiesChanged") {
        const gchar* changedInterface = nullptr;
        GVariant* changed = nullptr;
        g_variant_get(params, "(&s@a{sv}as)", &changedInterface, &changed, nullptr);
        auto object = m_objects.find(path);
        if (object != m_objects.end()) {
            auto target = object->second.find(changedInterface);
            if (target != object->second.end()) {
                GVariantIter inner;
                g_variant_iter_init(&inner, changed);
                const gchar* name = nullptr;
                GVariant* value = nullptr;
                while (g_variant_iter_next(&inner, "{&sv}", &name, &value))
                    target->second[name] = Glib::VariantBase(value);
                signalChanged.emit(path, changedInterface);
            }
        }
        g_variant_unref(changed);
    }
}

std::optional<std::pair<bool, std::string>> Inventory::jobOutcome(const std::string& job) const
{
    auto it = m_jobOutcomes.find(job);
    if (it == m_jobOutcomes.end())
        return std::nullopt;
    return it->second;
}

std::vector<std::string> Inventory::objects(const std::string& interface) const
{
    std::vector<std::string> paths;
    for (const auto& [path, interfaces] : m_objects)
        if (interfaces.count(interface))
            paths.push_back(path);
    return paths;
}

bool Inventory::has(const std::string& path, const std::string& interface) const
{
    auto it = m_objects.find(path);
    return it != m_objects.end() && it->second.count(interface);
}

const Glib::VariantBase* Inventory::find(const std::string& path, const std::string& interface,
                                         const std::string& property) const
{
    auto object = m_objects.find(path);
    if (object == m_objects.end())
        return nullptr;
    auto properties = object->second.find(interface);
    if (properties == object->second.end())
        return nullptr;
    auto value = properties->second.find(property);
    return value == properties->second.end() ? nullptr : &value->second;
}

std::string Inventory::string(const std::string& path, const std::string& interface, const std::string& property) const
{
    const auto* v = find(path, interface, property);
    if (!v || !g_variant_is_of_type(const_cast<GVariant*>(v->gobj()), G_VARIANT_TYPE_STRING))
        return {};
    return g_variant_get_string(const_cast<GVariant*>(v->gobj()), nullptr);
}

guint64 Inventory::number(const std::string& path, const std::string& interface, const std::string& property) const
{
    const auto* v = find(path, interface, property);
    if (!v)
        return 0;
    GVariant* g = const_cast<GVariant*>(v->gobj());
    if (g_variant_is_of_type(g, G_VARIANT_TYPE_UINT64))
        return g_variant_get_uint64(g);
    if (g_variant_is_of_type(g, G_VARIANT_TYPE_UINT32))
        return g_variant_get_uint32(g);
    return 0;
}

double Inventory::real(const std::string& path, const std::string& interface, const std::string& property) const
{
    const auto* v = find(path, interface, property);
    GVariant* g = v ? const_cast<GVariant*>(v->gobj()) : nullptr;
    return g && g_variant_is_of_type(g, G_VARIANT_TYPE_DOUBLE) ? g_variant_get_double(g) : 0.0;
}

bool Inventory::flag(const std::string& path, const std::string& interface, const std::string& property) const
{
    const auto* v = find(path, interface, property);
    GVariant* g = v ? const_cast<GVariant*>(v->gobj()) : nullptr;
    return g && g_variant_is_of_type(g, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean(g);
}

std::vector<std::string> Inventory::strings(const std::string& path, const std::string& interface,
                                            const std::string& property) const
{
    std::vector<std::string> out;
    const auto* v = find(path, interface, property);
    GVariant* g = v ? const_cast<GVariant*>(v->gobj()) : nullptr;
    if (!g || !(g_variant_is_of_type(g, G_VARIANT_TYPE("as")) || g_variant_is_of_type(g, G_VARIANT_TYPE("ao"))))
        return out;
    GVariantIter iter;
    g_variant_iter_init(&iter, g);
    const gchar* s = nullptr;
    while (g_variant_iter_next(&iter, g_variant_is_of_type(g, G_VARIANT_TYPE("as")) ? "&s" : "&o", &s))
        out.emplace_back(s);
    return out;
}

} // namespace hangar::gtk
