// A VM's snapshots: the list (ListSnapshots), take a new one, revert to one, delete one. Errors appear in the
// dialog with the daemon's message.
#pragma once

#include "Bus.h"

#include <gtkmm.h>

namespace hangar::gtk {

class SnapshotsDialog : public Gtk::Dialog
{
public:
    SnapshotsDialog(Gtk::Window& parent, Bus& bus, std::string vmPath, const std::string& vmName);

private:
    struct Columns : Gtk::TreeModelColumnRecord
    {
        Columns();
        Gtk::TreeModelColumn<Glib::ustring> name, description, created, state, current;
    };
    void refresh();
    void act(const char* method, const std::string& what);
    std::string selected() const;
    void fail(const std::string& what, const BusError& error);

    Bus& m_bus;
    std::string m_path;
    Columns m_columns;
    Glib::RefPtr<Gtk::ListStore> m_store;
    Gtk::TreeView m_view;
    Gtk::ScrolledWindow m_scroll;
    Gtk::Box m_row{Gtk::ORIENTATION_HORIZONTAL, 6};
    Gtk::Entry m_newName;
    Gtk::Button m_take{"_Take Snapshot", true};
    Gtk::Button m_revert{"_Revert", true};
    Gtk::Button m_delete{"_Delete", true};
    Gtk::Label m_message;
};

} // namespace hangar::gtk
