// MainWindow's actions on VMs: each is one asynchronous call on the selected VM (or the manager), with the
// daemon's error shown in the info bar. Dialogs are shown without a nested main loop (no Gtk::Dialog::run), so
// the window, the bus and the accessibility bridge keep being served while one is open.
#include "CreateDialog.h"
#include "ImagesWindow.h"
#include "MainWindow.h"
#include "SnapshotsDialog.h"
#include "VmWindow.h"

namespace hangar::gtk {

void MainWindow::keepDialog(std::unique_ptr<Gtk::Dialog> dialog)
{
    m_dialog = std::move(dialog);
    m_dialog->set_transient_for(*this);
    m_dialog->show();
}

void MainWindow::askText(const std::string& title, const std::string& prompt, const std::string& initial,
                         const std::function<void(const std::string&)>& onOk)
{
    auto dialog = std::make_unique<Gtk::Dialog>(title, *this, true);
    dialog->get_accessible()->set_name(title);
    auto* label = Gtk::manage(new Gtk::Label(prompt, true));
    auto* entry = Gtk::manage(new Gtk::Entry());
    label->set_mnemonic_widget(*entry);
    entry->set_text(initial);
    entry->set_activates_default(true);
    // The prompt without its mnemonic and colon ("New _name:" is "New name") names the entry for assistive tools.
    std::string accessible;
    for (char c : prompt)
        if (c != '_' && c != ':')
            accessible += c;
    entry->get_accessible()->set_name(accessible);
    auto* box = dialog->get_content_area();
    box->set_spacing(6);
    box->set_border_width(12);
    box->pack_start(*label, Gtk::PACK_SHRINK);
    box->pack_start(*entry, Gtk::PACK_SHRINK);
    dialog->add_button("_Cancel", Gtk::RESPONSE_CANCEL);
    dialog->add_button("_OK", Gtk::RESPONSE_OK);
    dialog->set_default_response(Gtk::RESPONSE_OK);
    dialog->signal_response().connect([this, entry, onOk](int response) {
        const std::string text = entry->get_text();
        m_dialog->hide();
        if (response == Gtk::RESPONSE_OK)
            onOk(text);
    });
    box->show_all();
    keepDialog(std::move(dialog));
}

void MainWindow::vmCall(const char* method, const Glib::VariantContainerBase& arguments, const std::string& what)
{
    const std::string path = selectedPath();
    if (path.empty())
        return;
    const std::string label = what + " " + selectedName();
    m_bus.call(path, kVmInterface, method, arguments, nullptr,
               [this, label](const BusError& error) { showError(label, error); });
}

void MainWindow::onCreate()
{
    auto dialog = std::make_unique<CreateDialog>(*this, m_inventory);
    auto* create = dialog.get();
    create->signal_response().connect([this, create](int response) {
        create->hide();
        if (response != Gtk::RESPONSE_OK)
            return;
        const std::string name = create->name();
        m_bus.call(
            kManagerPath, kManagerInterface, "CreateVM", args({str(name), create->spec()}),
            [this, name](const Glib::VariantContainerBase&) {
                showMessage("Created " + name + ".", Gtk::MESSAGE_INFO);
            },
            [this, name](const BusError& error) { showError("Creating " + name, error); });
    });
    keepDialog(std::move(dialog));
}

void MainWindow::onStart()
{
    vmCall("Start", args({options()}), "Starting");
}

void MainWindow::onShutDown()
{
    vmCall("Stop", args({options()}), "Shutting down");
}

void MainWindow::onForceOff()
{
    vmCall("Stop", args({options({{"force", Glib::Variant<bool>::create(true)}})}), "Forcing off");
}

void MainWindow::onReboot()
{
    vmCall("Reboot", args({options()}), "Rebooting");
}

void MainWindow::onPause()
{
    vmCall("Pause", args({options()}), "Pausing");
}

void MainWindow::onResume()
{
    vmCall("Resume", args({options()}), "Resuming");
}

void MainWindow::onRename()
{
    const std::string path = selectedPath();
    const std::string old = selectedName();
    askText("Rename " + old, "New _name:", old, [this, path, old](const std::string& name) {
        m_bus.call(path, kVmInterface, "Rename", args({str(name), options()}), nullptr,
                   [this, old](const BusError& error) { showError("Renaming " + old, error); });
    });
}

void MainWindow::onClone()
{
    const std::string path = selectedPath();
    const std::string old = selectedName();
    askText("Clone " + old, "Name of the _clone:", old + "-clone", [this, path, old](const std::string& name) {
        m_bus.call(
            path, kVmInterface, "Clone", args({str(name), options()}),
            [this, name](const Glib::VariantContainerBase&) {
                showMessage("Cloned as " + name + ".", Gtk::MESSAGE_INFO);
            },
            [this, old](const BusError& error) { showError("Cloning " + old, error); });
    });
}

void MainWindow::onSnapshots()
{
    const std::string path = selectedPath();
    if (path.empty())
        return;
    keepDialog(std::make_unique<SnapshotsDialog>(*this, m_bus, path, selectedName()));
}

void MainWindow::onPublish()
{
    const std::string path = selectedPath();
    const std::string vm = selectedName();
    askText("Publish " + vm, "Image _name:", vm + "-image", [this, path, vm](const std::string& image) {
        m_bus.call(
            path, kVmInterface, "Publish", args({str(image), options()}),
            [this, image](const Glib::VariantContainerBase& reply) {
                Glib::VariantBase job;
                reply.get_child(job, 0);
                onImages();
                m_images->follow(g_variant_get_string(job.gobj(), nullptr), "Publishing " + image);
            },
            [this, vm](const BusError& error) { showError("Publishing " + vm, error); });
    });
}

void MainWindow::onDelete()
{
    const std::string path = selectedPath();
    const std::string name = selectedName();
    const std::string state = m_inventory.string(path, kVmInterface, "State");
    const bool running = state != "stopped" && state != "crashed";
    auto dialog = std::make_unique<Gtk::MessageDialog>(*this, "Delete " + name + "?", false, Gtk::MESSAGE_QUESTION,
                                                       Gtk::BUTTONS_NONE, true);
    dialog->get_accessible()->set_name("Delete " + name);
    dialog->set_secondary_text(running ? "It is " + state + ": it will be powered off, and its disk removed."
                                       : "Its disk is removed. This cannot be undone.");
    dialog->add_button("_Cancel", Gtk::RESPONSE_CANCEL);
    dialog->add_button("_Delete", Gtk::RESPONSE_OK);
    dialog->signal_response().connect([this, path, name, running](int response) {
        m_dialog->hide();
        if (response != Gtk::RESPONSE_OK)
            return;
        m_bus.call(path, kVmInterface, "Delete", args({options({{"force", Glib::Variant<bool>::create(running)}})}),
                   nullptr, [this, name](const BusError& error) { showError("Deleting " + name, error); });
    });
    keepDialog(std::move(dialog));
}

void MainWindow::onOpen()
{
    const std::string path = selectedPath();
    if (path.empty())
        return;
    auto& window = m_vmWindows[path];
    if (!window)
        window = std::make_unique<VmWindow>(m_bus, m_inventory, path);
    window->present();
}

void MainWindow::onImages()
{
    if (!m_images)
        m_images = std::make_unique<ImagesWindow>(m_bus, m_inventory);
    m_images->present();
}

} // namespace hangar::gtk
