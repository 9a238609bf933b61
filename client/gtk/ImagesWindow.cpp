#include "ImagesWindow.h"

#include "Format.h"

#include <fcntl.h>
#include <unistd.h>

namespace hangar::gtk {

ImagesWindow::Columns::Columns()
{
    add(path);
    add(name);
    add(format);
    add(virtualSize);
    add(size);
    add(state);
    add(owner);
    add(usedBy);
}

ImagesWindow::ImagesWindow(Bus& bus, Inventory& inventory) : m_bus(bus), m_inventory(inventory)
{
    set_title("Hangar — Images");
    get_accessible()->set_name("Images");
    set_default_size(820, 360);
    m_box.set_border_width(8);

    m_name.set_placeholder_text("name (default: from the file name)");
    m_name.get_accessible()->set_name("Image name");
    m_import.signal_clicked().connect(sigc::mem_fun(*this, &ImagesWindow::onImport));
    m_delete.signal_clicked().connect(sigc::mem_fun(*this, &ImagesWindow::onDelete));
    m_buttons.pack_start(m_name, Gtk::PACK_EXPAND_WIDGET);
    m_buttons.pack_start(m_import, Gtk::PACK_SHRINK);
    m_buttons.pack_start(m_delete, Gtk::PACK_SHRINK);
    m_box.pack_start(m_buttons, Gtk::PACK_SHRINK);

    m_store = Gtk::ListStore::create(m_columns);
    m_store->set_sort_column(m_columns.name, Gtk::SORT_ASCENDING);
    m_view.set_model(m_store);
    m_view.get_accessible()->set_name("Image list");
    m_view.append_column("Name", m_columns.name);
    m_view.append_column("Format", m_columns.format);
    m_view.append_column("Virtual size", m_columns.virtualSize);
    m_view.append_column("On disk", m_columns.size);
    m_view.append_column("State", m_columns.state);
    m_view.append_column("Owner", m_columns.owner);
    m_view.append_column("Used by", m_columns.usedBy);
    m_scroll.add(m_view);
    m_box.pack_start(m_scroll, Gtk::PACK_EXPAND_WIDGET);

    m_progress.set_show_text(true);
    m_progress.get_accessible()->set_name("Job progress");
    m_cancel.signal_clicked().connect([this] {
        if (!m_job.empty())
            m_bus.call(m_job, kJobInterface, "Cancel", args({options()}), nullptr,
                       [this](const BusError& e) { message("Cancelling failed — " + e.text()); });
    });
    m_jobBox.pack_start(m_progress, Gtk::PACK_EXPAND_WIDGET);
    m_jobBox.pack_start(m_cancel, Gtk::PACK_SHRINK);
    m_jobBox.set_no_show_all(true);
    m_progress.show();
    m_cancel.show();
    m_box.pack_start(m_jobBox, Gtk::PACK_SHRINK);

    m_message.set_xalign(0);
    m_message.set_line_wrap(true);
    m_message.set_selectable(true);
    m_message.get_accessible()->set_name("Image message");
    m_box.pack_start(m_message, Gtk::PACK_SHRINK);
    add(m_box);

    m_connections.push_back(m_inventory.signalAdded.connect(sigc::mem_fun(*this, &ImagesWindow::onChanged)));
    m_connections.push_back(m_inventory.signalChanged.connect(sigc::mem_fun(*this, &ImagesWindow::onChanged)));
    m_connections.push_back(m_inventory.signalRemoved.connect(sigc::mem_fun(*this, &ImagesWindow::onChanged)));
    m_connections.push_back(
        m_inventory.signalJobCompleted.connect(sigc::mem_fun(*this, &ImagesWindow::onJobCompleted)));
    show_all_children();
    refresh();
}

ImagesWindow::~ImagesWindow()
{
    for (auto& c : m_connections)
        c.disconnect();
}

std::string ImagesWindow::vmName(const std::string& path) const
{
    const std::string name = m_inventory.string(path, kVmInterface, "Name");
    return name.empty() ? path : name;
}

void ImagesWindow::onChanged(const std::string& path, const std::string& interface)
{
    if (interface == kImageInterface || interface == kVmInterface)
        refresh();
    if (interface == kJobInterface && path == m_job)
        showJob();
}

void ImagesWindow::refresh()
{
    m_store->clear();
    for (const auto& path : m_inventory.objects(kImageInterface)) {
        auto row = *m_store->append();
        row[m_columns.path] = path;
        row[m_columns.name] = m_inventory.string(path, kImageInterface, "Name");
        row[m_columns.format] = m_inventory.string(path, kImageInterface, "Format");
        row[m_columns.virtualSize] = formatBytes(m_inventory.number(path, kImageInterface, "VirtualSizeBytes"));
        row[m_columns.size] = formatBytes(m_inventory.number(path, kImageInterface, "SizeBytes"));
        row[m_columns.state] = m_inventory.string(path, kImageInterface, "State");
        row[m_columns.owner] = userName(static_cast<std::uint32_t>(m_inventory.number(path, kImageInterface, "Owner")));
        std::string users;
        for (const auto& vm : m_inventory.strings(path, kImageInterface, "UsedBy"))
            users += (users.empty() ? "" : ", ") + vmName(vm);
        row[m_columns.usedBy] = users.empty() ? "—" : users;
    }
}

void ImagesWindow::onImport()
{
    m_chooser = std::make_unique<Gtk::FileChooserDialog>(*this, "Import an image file", Gtk::FILE_CHOOSER_ACTION_OPEN);
    m_chooser->get_accessible()->set_name("Import an image file");
    m_chooser->set_current_folder(Glib::get_home_dir());
    m_chooser->add_button("_Cancel", Gtk::RESPONSE_CANCEL);
    m_chooser->add_button("_Import", Gtk::RESPONSE_ACCEPT);
    m_chooser->signal_response().connect([this](int response) {
        const std::string file = m_chooser->get_filename();
        m_chooser->hide();
        if (response == Gtk::RESPONSE_ACCEPT && !file.empty())
            importFile(file);
    });
    m_chooser->show();
}

void ImagesWindow::importFile(const std::string& file)
{
    // The GUI opens the file with the user's own rights; the daemon only ever sees the fd.
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        message("Cannot open " + file + ": " + Glib::strerror(errno));
        return;
    }
    std::string name = m_name.get_text();
    if (name.empty()) {
        // From "Debian-12.qcow2": "debian-12"; the daemon still checks the naming rule and says so.
        name = Glib::path_get_basename(file);
        name = name.substr(0, name.find('.'));
        for (char& c : name)
            c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    }
    GVariant* handle = g_variant_ref_sink(g_variant_new_handle(0));
    m_bus.callWithFd(
        kManagerPath, kManagerInterface, "ImportImage", args({str(name), Glib::VariantBase(handle), options()}), fd,
        [this, name](const Glib::VariantContainerBase& reply) {
            Glib::VariantBase job;
            reply.get_child(job, 0);
            follow(g_variant_get_string(job.gobj(), nullptr), "Import of " + name);
        },
        [this, name](const BusError& e) { message("Importing " + name + " failed — " + e.text()); });
    ::close(fd); // the call holds its own duplicate
    message("Importing " + name + "…");
    m_progress.set_fraction(0);
}

void ImagesWindow::follow(const std::string& job, const std::string& what)
{
    m_jobWhat = what;
    m_job = job;
    m_jobBox.show();
    showJob();
    if (auto outcome = m_inventory.jobOutcome(job))
        onJobCompleted(job, outcome->first, outcome->second);
}

void ImagesWindow::onJobCompleted(const std::string& job, bool success, const std::string& text)
{
    if (job != m_job)
        return;
    message(m_jobWhat + (success ? " finished" : " failed") + (text.empty() ? "" : " — " + text));
    m_jobBox.hide();
    m_job.clear();
}

void ImagesWindow::showJob()
{
    const double progress = m_inventory.real(m_job, kJobInterface, "Progress");
    m_progress.set_fraction(progress);
    // Bytes is the job's total (0 when unknown), not what is done so far.
    const auto total = m_inventory.number(m_job, kJobInterface, "Bytes");
    m_progress.set_text(std::to_string(static_cast<int>(progress * 100)) + "%" +
                        (total ? " of " + formatBytes(total) : std::string()));
    m_cancel.set_sensitive(m_inventory.flag(m_job, kJobInterface, "Cancelable"));
}

void ImagesWindow::onDelete()
{
    auto iter = m_view.get_selection()->get_selected();
    if (!iter) {
        message("Select an image first.");
        return;
    }
    const std::string path = Glib::ustring((*iter)[m_columns.path]);
    const std::string name = Glib::ustring((*iter)[m_columns.name]);
    m_bus.call(
        path, kImageInterface, "Delete", args({options()}),
        [this, name](const Glib::VariantContainerBase&) { message("Deleted " + name + "."); },
        [this, name](const BusError& e) { message("Deleting " + name + " failed — " + e.text()); });
}

void ImagesWindow::message(const std::string& text)
{
    m_message.set_text(text);
}

} // namespace hangar::gtk
