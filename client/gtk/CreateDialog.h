// The "New VM" dialog: name, image (from the daemon's ready images), vCPUs, memory and disk. Turns its fields into
// CreateVM's arguments; the window makes the call.
#pragma once

#include "Inventory.h"

#include <gtkmm.h>

namespace hangar::gtk {

class CreateDialog : public Gtk::Dialog
{
public:
    CreateDialog(Gtk::Window& parent, const Inventory& inventory);

    std::string name() const;
    // CreateVM's spec: vcpus, memory_mib, disk_gib and image when one is chosen.
    Glib::VariantBase spec() const;

private:
    void onImageChanged();
    void addRow(int row, const char* label, Gtk::Widget& widget, const char* accessibleName);

    const Inventory& m_inventory;
    Gtk::Grid m_grid;
    Gtk::Entry m_name;
    Gtk::ComboBoxText m_image;
    Gtk::SpinButton m_vcpus;
    Gtk::SpinButton m_memory;
    Gtk::SpinButton m_disk;
};

} // namespace hangar::gtk
