// The main window: the caller's VMs (or everyone's), live from the Inventory, with their state, resources and a
// CPU/memory sparkline, and the actions on the selected VM. Errors from the daemon appear in the info bar with the
// daemon's own message.
#pragma once

#include "Bus.h"
#include "Inventory.h"
#include "Sparkline.h"

#include <gtkmm.h>
#include <map>
#include <memory>
#include <set>

namespace hangar::gtk {

class ImagesWindow;
class VmWindow;

class MainWindow : public Gtk::ApplicationWindow
{
public:
    MainWindow(Bus& bus, Inventory& inventory);
    ~MainWindow() override;

    void showError(const std::string& what, const BusError& error);
    void showMessage(const std::string& text, Gtk::MessageType type);

private:
    struct Columns : Gtk::TreeModelColumnRecord
    {
        Columns();
        Gtk::TreeModelColumn<Glib::ustring> path, name, state, stateRaw, colour, owner, vcpus, memory, disk, image;
        Gtk::TreeModelColumn<Glib::RefPtr<Gdk::Pixbuf>> activity;
        Gtk::TreeModelColumn<Glib::ustring> activityText;
    };

    Gtk::Button& addButton(Gtk::Box& box, const char* label, const char* tooltip, void (MainWindow::*handler)());
    void buildList();
    void onAdded(const std::string& path, const std::string& interface);
    void onRemoved(const std::string& path, const std::string& interface);
    void onDaemon(bool present, const std::string& message);
    void updateRow(const std::string& path);
    void removeRow(const std::string& path);
    void rebuildRows();
    bool visible(const std::string& path) const;
    void updateSensitivity();
    void updateStatus();
    bool sampleStats();
    std::string selectedPath() const;
    std::string selectedName() const;

    // Actions on the selected VM (VmActions.cpp).
    void onCreate();
    void onStart();
    void onShutDown();
    void onForceOff();
    void onReboot();
    void onPause();
    void onResume();
    void onRename();
    void onClone();
    void onSnapshots();
    void onPublish();
    void onDelete();
    void onOpen();
    void onImages();
    void vmCall(const char* method, const Glib::VariantContainerBase& args, const std::string& what);
    void keepDialog(std::unique_ptr<Gtk::Dialog> dialog);
    void askText(const std::string& title, const std::string& prompt, const std::string& initial,
                 const std::function<void(const std::string&)>& onOk);

    Bus& m_bus;
    Inventory& m_inventory;
    Columns m_columns;
    Glib::RefPtr<Gtk::ListStore> m_store;
    std::map<std::string, Gtk::TreeIter> m_rows;
    std::map<std::string, Sparkline> m_activity;
    std::set<std::string> m_noFigures; // running VMs the last stats reply had no figures for
    std::map<std::string, std::unique_ptr<VmWindow>> m_vmWindows;
    std::unique_ptr<ImagesWindow> m_images;
    std::unique_ptr<Gtk::Dialog> m_dialog;
    sigc::connection m_statsTimer;
    bool m_sampling = false;

    Gtk::Box m_box{Gtk::ORIENTATION_VERTICAL};
    Gtk::Box m_actions{Gtk::ORIENTATION_HORIZONTAL, 4};
    Gtk::Box m_vmActions{Gtk::ORIENTATION_HORIZONTAL, 4};
    Gtk::InfoBar m_infoBar;
    Gtk::Label m_infoLabel;
    Gtk::ScrolledWindow m_scroll;
    Gtk::TreeView m_view;
    Gtk::CheckButton m_everyone{"Everyone's VMs"};
    Gtk::Label m_status;
    std::vector<std::pair<Gtk::Button*, std::vector<std::string>>> m_stateButtons; // enabled in these states
};

} // namespace hangar::gtk
