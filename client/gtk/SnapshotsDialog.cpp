#include "SnapshotsDialog.h"

#include <ctime>

namespace hangar::gtk {

SnapshotsDialog::Columns::Columns()
{
    add(name);
    add(description);
    add(created);
    add(state);
    add(current);
}

SnapshotsDialog::SnapshotsDialog(Gtk::Window& parent, Bus& bus, std::string vmPath, const std::string& vmName)
    : Gtk::Dialog("Snapshots of " + vmName, parent, false), m_bus(bus), m_path(std::move(vmPath))
{
    get_accessible()->set_name("Snapshots of " + vmName);
    set_default_size(620, 320);
    m_store = Gtk::ListStore::create(m_columns);
    m_view.set_model(m_store);
    m_view.get_accessible()->set_name("Snapshots");
    m_view.append_column("Name", m_columns.name);
    m_view.append_column("Taken", m_columns.created);
    m_view.append_column("VM was", m_columns.state);
    m_view.append_column("Current", m_columns.current);
    m_view.append_column("Description", m_columns.description);
    m_scroll.add(m_view);
    m_scroll.set_vexpand(true);

    m_newName.set_placeholder_text("new snapshot name");
    m_newName.get_accessible()->set_name("Snapshot name");
    m_take.signal_clicked().connect([this] {
        const std::string name = m_newName.get_text();
        m_bus.call(
            m_path, kVmInterface, "CreateSnapshot", args({str(name), options()}),
            [this](const Glib::VariantContainerBase&) {
                m_newName.set_text("");
                refresh();
            },
            [this, name](const BusError& e) { fail("Taking snapshot " + name, e); });
    });
    m_revert.signal_clicked().connect([this] { act("RevertToSnapshot", "Reverting to"); });
    m_delete.signal_clicked().connect([this] { act("DeleteSnapshot", "Deleting"); });
    m_row.pack_start(m_newName, Gtk::PACK_EXPAND_WIDGET);
    m_row.pack_start(m_take, Gtk::PACK_SHRINK);
    m_row.pack_start(m_revert, Gtk::PACK_SHRINK);
    m_row.pack_start(m_delete, Gtk::PACK_SHRINK);

    m_message.set_line_wrap(true);
    m_message.set_xalign(0);
    m_message.get_accessible()->set_name("Snapshot message");
    auto* box = get_content_area();
    box->set_spacing(6);
    box->set_border_width(12);
    box->pack_start(m_scroll, Gtk::PACK_EXPAND_WIDGET);
    box->pack_start(m_row, Gtk::PACK_SHRINK);
    box->pack_start(m_message, Gtk::PACK_SHRINK);
    add_button("_Close", Gtk::RESPONSE_CLOSE);
    signal_response().connect([this](int) { hide(); });
    show_all_children();
    refresh();
}

void SnapshotsDialog::refresh()
{
    m_bus.call(
        m_path, kVmInterface, "ListSnapshots", Glib::VariantContainerBase(),
        [this](const Glib::VariantContainerBase& reply) {
            m_store->clear();
            Glib::VariantBase list;
            reply.get_child(list, 0);
            GVariantIter iter;
            g_variant_iter_init(&iter, list.gobj());
            const gchar *name = nullptr, *description = nullptr, *state = nullptr;
            gint64 created = 0;
            gboolean current = false;
            while (g_variant_iter_next(&iter, "(&s&sx&sb)", &name, &description, &created, &state, &current)) {
                auto row = *m_store->append();
                row[m_columns.name] = name;
                row[m_columns.description] = description;
                const std::time_t seconds = static_cast<std::time_t>(created / 1000000);
                char text[32];
                std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&seconds));
                row[m_columns.created] = text;
                row[m_columns.state] = state;
                row[m_columns.current] = current ? "yes" : "";
            }
        },
        [this](const BusError& e) { fail("Listing snapshots", e); });
}

std::string SnapshotsDialog::selected() const
{
    auto iter = const_cast<Gtk::TreeView&>(m_view).get_selection()->get_selected();
    return iter ? Glib::ustring((*iter)[m_columns.name]).raw() : std::string();
}

void SnapshotsDialog::act(const char* method, const std::string& what)
{
    const std::string name = selected();
    if (name.empty()) {
        m_message.set_text("Select a snapshot first.");
        return;
    }
    m_message.set_text("");
    m_bus.call(
        m_path, kVmInterface, method, args({str(name), options()}),
        [this](const Glib::VariantContainerBase&) { refresh(); },
        [this, what, name](const BusError& e) { fail(what + " " + name, e); });
}

void SnapshotsDialog::fail(const std::string& what, const BusError& error)
{
    m_message.set_text(what + " failed — " + error.text());
}

} // namespace hangar::gtk
