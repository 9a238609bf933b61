// Images (for administrators): the list with the VMs that use each one, import from a file the user picks (the
// GUI opens it and passes the fd to ImportImage, so the daemon never opens a path), the import job's progress with
// Cancel, and delete (the daemon's refusal, naming the VMs, is shown).
#pragma once

#include "Bus.h"
#include "Inventory.h"

#include <gtkmm.h>
#include <memory>

namespace hangar::gtk {

class ImagesWindow : public Gtk::Window
{
public:
    ImagesWindow(Bus& bus, Inventory& inventory);
    ~ImagesWindow() override;

    // Shows a job's progress with Cancel until it completes (an import started here, or a VM's Publish).
    void follow(const std::string& job, const std::string& what);

private:
    struct Columns : Gtk::TreeModelColumnRecord
    {
        Columns();
        Gtk::TreeModelColumn<Glib::ustring> path, name, format, virtualSize, size, state, owner, usedBy;
    };
    void refresh();
    void onChanged(const std::string& path, const std::string& interface);
    void onImport();
    void importFile(const std::string& file);
    void showJob();
    void onJobCompleted(const std::string& job, bool success, const std::string& text);
    void onDelete();
    void message(const std::string& text);
    std::string vmName(const std::string& path) const;

    Bus& m_bus;
    Inventory& m_inventory;
    Columns m_columns;
    Glib::RefPtr<Gtk::ListStore> m_store;
    std::string m_job;
    std::string m_jobWhat;
    std::unique_ptr<Gtk::FileChooserDialog> m_chooser;
    std::vector<sigc::connection> m_connections;

    Gtk::Box m_box{Gtk::ORIENTATION_VERTICAL, 6};
    Gtk::Box m_buttons{Gtk::ORIENTATION_HORIZONTAL, 6};
    Gtk::Entry m_name;
    Gtk::Button m_import{"_Import File…", true};
    Gtk::Button m_delete{"_Delete Image", true};
    Gtk::ScrolledWindow m_scroll;
    Gtk::TreeView m_view;
    Gtk::Box m_jobBox{Gtk::ORIENTATION_HORIZONTAL, 6};
    Gtk::ProgressBar m_progress;
    Gtk::Button m_cancel{"_Cancel Job", true};
    Gtk::Label m_message;
};

} // namespace hangar::gtk
