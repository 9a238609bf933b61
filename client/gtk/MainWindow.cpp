#include "MainWindow.h"

#include "Format.h"
#include "ImagesWindow.h"
#include "VmWindow.h"

#include <unistd.h>

namespace hangar::gtk {

namespace {
constexpr int kStatsIntervalSec = 2;
const std::vector<std::string> kRunning{"running", "paused", "shutting-down", "suspended", "crashed"};
} // namespace

MainWindow::Columns::Columns()
{
    add(path);
    add(name);
    add(state);
    add(stateRaw);
    add(colour);
    add(owner);
    add(vcpus);
    add(memory);
    add(disk);
    add(image);
    add(activity);
    add(activityText);
}

MainWindow::MainWindow(Bus& bus, Inventory& inventory) : m_bus(bus), m_inventory(inventory)
{
    set_title("Hangar");
    set_default_size(1060, 480);
    set_icon_name("hangar-gtk");
    get_accessible()->set_name("Hangar");

    m_actions.set_border_width(6);
    addButton(m_actions, "New VM…", "Create a virtual machine", &MainWindow::onCreate);
    m_stateButtons.emplace_back(
        &addButton(m_actions, "Open", "Open the VM's display and serial console", &MainWindow::onOpen),
        std::vector<std::string>{});
    addButton(m_actions, "Images…", "Images VMs are made from (import, delete)", &MainWindow::onImages);
    m_everyone.set_tooltip_text("Show every user's VMs, with their owner (administrators)");
    m_everyone.signal_toggled().connect([this] {
        m_view.get_column(2)->set_visible(m_everyone.get_active());
        rebuildRows();
    });
    m_actions.pack_end(m_everyone, Gtk::PACK_SHRINK);
    m_box.pack_start(m_actions, Gtk::PACK_SHRINK);

    m_vmActions.set_border_width(6);
    auto stateButton = [this](const char* label, const char* tip, void (MainWindow::*handler)(),
                              std::vector<std::string> states) {
        m_stateButtons.emplace_back(&addButton(m_vmActions, label, tip, handler), std::move(states));
    };
    stateButton("Start", "Boot the VM", &MainWindow::onStart, {"stopped", "crashed"});
    stateButton("Shut Down", "Ask the guest to power off", &MainWindow::onShutDown, {"running", "paused"});
    stateButton("Force Off", "Power off at once, like pulling the plug", &MainWindow::onForceOff, kRunning);
    stateButton("Reboot", "Ask the guest to reboot", &MainWindow::onReboot, {"running"});
    stateButton("Pause", "Freeze the VM's CPUs", &MainWindow::onPause, {"running"});
    stateButton("Resume", "Let a paused VM run again", &MainWindow::onResume, {"paused"});
    stateButton("Rename…", "Give the VM a new name", &MainWindow::onRename, {});
    stateButton("Clone…", "Copy this stopped VM", &MainWindow::onClone, {"stopped"});
    stateButton("Publish…", "Make this stopped VM's disk a new image", &MainWindow::onPublish, {"stopped"});
    stateButton("Snapshots…", "Create, revert to and delete snapshots", &MainWindow::onSnapshots, {});
    stateButton("Delete…", "Delete the VM and its disk", &MainWindow::onDelete, {});
    m_box.pack_start(m_vmActions, Gtk::PACK_SHRINK);

    m_infoBar.set_show_close_button(true);
    m_infoBar.signal_response().connect([this](int) { m_infoBar.hide(); });
    m_infoLabel.set_line_wrap(true);
    m_infoLabel.set_selectable(true);
    m_infoLabel.get_accessible()->set_name("Message");
    dynamic_cast<Gtk::Container*>(m_infoBar.get_content_area())->add(m_infoLabel);
    m_infoBar.set_no_show_all(true);
    m_infoLabel.show();
    m_box.pack_start(m_infoBar, Gtk::PACK_SHRINK);

    buildList();
    m_scroll.add(m_view);
    m_scroll.set_policy(Gtk::POLICY_AUTOMATIC, Gtk::POLICY_AUTOMATIC);
    m_box.pack_start(m_scroll, Gtk::PACK_EXPAND_WIDGET);
    m_status.set_xalign(0);
    m_status.set_margin_start(6);
    m_status.set_margin_end(6);
    m_status.set_margin_top(3);
    m_status.set_margin_bottom(3);
    m_status.get_accessible()->set_name("Status");
    m_box.pack_start(m_status, Gtk::PACK_SHRINK);
    add(m_box);

    m_inventory.signalAdded.connect(sigc::mem_fun(*this, &MainWindow::onAdded));
    m_inventory.signalChanged.connect(sigc::mem_fun(*this, &MainWindow::onAdded));
    m_inventory.signalRemoved.connect(sigc::mem_fun(*this, &MainWindow::onRemoved));
    m_inventory.signalDaemon.connect(sigc::mem_fun(*this, &MainWindow::onDaemon));
    m_statsTimer =
        Glib::signal_timeout().connect_seconds(sigc::mem_fun(*this, &MainWindow::sampleStats), kStatsIntervalSec);
    show_all_children();
    updateSensitivity();
    updateStatus();
}

MainWindow::~MainWindow()
{
    m_statsTimer.disconnect();
}

Gtk::Button& MainWindow::addButton(Gtk::Box& box, const char* label, const char* tooltip, void (MainWindow::*handler)())
{
    auto* button = Gtk::manage(new Gtk::Button(label));
    button->set_tooltip_text(tooltip);
    button->signal_clicked().connect(sigc::mem_fun(*this, handler));
    box.pack_start(*button, Gtk::PACK_SHRINK);
    return *button;
}

void MainWindow::buildList()
{
    m_store = Gtk::ListStore::create(m_columns);
    m_store->set_sort_column(m_columns.name, Gtk::SORT_ASCENDING);
    m_view.set_model(m_store);
    m_view.get_accessible()->set_name("Virtual machines");
    m_view.append_column("Name", m_columns.name);
    {
        auto* renderer = Gtk::manage(new Gtk::CellRendererText());
        renderer->property_weight() = Pango::WEIGHT_BOLD;
        auto* column = Gtk::manage(new Gtk::TreeViewColumn("State", *renderer));
        column->add_attribute(renderer->property_text(), m_columns.state);
        column->add_attribute(renderer->property_foreground(), m_columns.colour);
        m_view.append_column(*column);
    }
    m_view.append_column("Owner", m_columns.owner);
    m_view.get_column(2)->set_visible(false);
    m_view.append_column("vCPUs", m_columns.vcpus);
    m_view.append_column("Memory", m_columns.memory);
    m_view.append_column("Disk", m_columns.disk);
    m_view.append_column("Image", m_columns.image);
    {
        auto* column = Gtk::manage(new Gtk::TreeViewColumn("CPU / memory"));
        column->pack_start(m_columns.activity, false);
        column->pack_start(m_columns.activityText, false);
        m_view.append_column(*column);
    }
    for (int i = 0; i < 7; ++i)
        m_view.get_column(i)->set_resizable(true);
    m_view.get_selection()->signal_changed().connect(sigc::mem_fun(*this, &MainWindow::updateSensitivity));
    m_view.signal_row_activated().connect([this](const Gtk::TreeModel::Path&, Gtk::TreeViewColumn*) { onOpen(); });
}

bool MainWindow::visible(const std::string& path) const
{
    return m_everyone.get_active() || m_inventory.number(path, kVmInterface, "Owner") == ::getuid();
}

void MainWindow::onAdded(const std::string& path, const std::string& interface)
{
    if (interface == kVmInterface) {
        if (visible(path))
            updateRow(path);
        else
            removeRow(path);
    }
    updateStatus();
}

void MainWindow::onRemoved(const std::string& path, const std::string& interface)
{
    if (interface == kVmInterface) {
        removeRow(path);
        m_activity.erase(path);
    }
    updateStatus();
}

void MainWindow::onDaemon(bool present, const std::string& message)
{
    if (present)
        m_infoBar.hide();
    else
        showMessage(message, Gtk::MESSAGE_WARNING);
    updateStatus();
}

void MainWindow::updateRow(const std::string& path)
{
    auto it = m_rows.find(path);
    Gtk::TreeIter iter = it != m_rows.end() ? it->second : m_store->append();
    m_rows[path] = iter;
    const auto& row = *iter;
    const std::string state = m_inventory.string(path, kVmInterface, "State");
    row[m_columns.path] = path;
    row[m_columns.name] = m_inventory.string(path, kVmInterface, "Name");
    row[m_columns.state] = stateText(state);
    row[m_columns.stateRaw] = state;
    row[m_columns.colour] = stateColour(state);
    row[m_columns.owner] = userName(static_cast<std::uint32_t>(m_inventory.number(path, kVmInterface, "Owner")));
    row[m_columns.vcpus] = std::to_string(m_inventory.number(path, kVmInterface, "VCPUs"));
    row[m_columns.memory] = formatMiB(m_inventory.number(path, kVmInterface, "MemoryMiB"));
    row[m_columns.disk] = formatMiB(m_inventory.number(path, kVmInterface, "DiskGiB") * 1024);
    const std::string image = m_inventory.string(path, kVmInterface, "Image");
    row[m_columns.image] = image.empty() ? "—" : image;
    auto activity = m_activity.find(path);
    if (state != "running" && activity != m_activity.end()) {
        m_activity.erase(activity);
        activity = m_activity.end();
    }
    if (activity == m_activity.end() || activity->second.empty()) {
        row[m_columns.activity] = Glib::RefPtr<Gdk::Pixbuf>();
        row[m_columns.activityText] = state != "running"        ? ""
                                      : m_noFigures.count(path) ? "no figures from the hypervisor"
                                                                : "sampling…";
    } else {
        row[m_columns.activity] = activity->second.render(80, 20);
        row[m_columns.activityText] = std::to_string(static_cast<int>(activity->second.lastCpu() * 100)) + "% CPU, " +
                                      std::to_string(static_cast<int>(activity->second.lastMemory() * 100)) + "% mem";
    }
    if (selectedPath() == path)
        updateSensitivity();
}

void MainWindow::removeRow(const std::string& path)
{
    auto it = m_rows.find(path);
    if (it == m_rows.end())
        return;
    m_store->erase(it->second);
    m_rows.erase(it);
    updateSensitivity();
}

void MainWindow::rebuildRows()
{
    for (const auto& path : m_inventory.objects(kVmInterface))
        onAdded(path, kVmInterface);
}

std::string MainWindow::selectedPath() const
{
    auto iter = const_cast<Gtk::TreeView&>(m_view).get_selection()->get_selected();
    return iter ? Glib::ustring((*iter)[m_columns.path]).raw() : std::string();
}

std::string MainWindow::selectedName() const
{
    auto iter = const_cast<Gtk::TreeView&>(m_view).get_selection()->get_selected();
    return iter ? Glib::ustring((*iter)[m_columns.name]).raw() : std::string();
}

void MainWindow::updateSensitivity()
{
    const std::string path = selectedPath();
    const std::string state = path.empty() ? "" : m_inventory.string(path, kVmInterface, "State");
    for (auto& [button, states] : m_stateButtons) {
        bool allowed = !path.empty();
        if (allowed && !states.empty())
            allowed = std::find(states.begin(), states.end(), state) != states.end();
        button->set_sensitive(allowed);
    }
}

void MainWindow::updateStatus()
{
    if (!m_inventory.daemonPresent()) {
        m_status.set_text("Not connected: hangard is not answering on " + m_bus.description());
        return;
    }
    std::size_t running = 0;
    for (const auto& [path, iter] : m_rows)
        if (m_inventory.string(path, kVmInterface, "State") == "running")
            ++running;
    m_status.set_text(std::to_string(m_rows.size()) + " VMs shown, " + std::to_string(running) + " running — " +
                      m_bus.description());
}

bool MainWindow::sampleStats()
{
    // Sampling the daemon's figures (it samples the hypervisor itself); only while something runs, one call at a
    // time.
    bool anyRunning = false;
    for (const auto& [path, iter] : m_rows)
        anyRunning = anyRunning || m_inventory.string(path, kVmInterface, "State") == "running";
    if (!anyRunning || m_sampling || !m_inventory.daemonPresent())
        return true;
    m_sampling = true;
    m_bus.call(
        kManagerPath, kManagerInterface, "GetAllStats", Glib::VariantContainerBase(),
        [this](const Glib::VariantContainerBase& reply) {
            m_sampling = false;
            Glib::VariantBase all;
            reply.get_child(all, 0);
            GVariantIter iter;
            g_variant_iter_init(&iter, all.gobj());
            const gchar* path = nullptr;
            GVariant* stats = nullptr;
            std::set<std::string> figured;
            while (g_variant_iter_next(&iter, "(&o@a{sv})", &path, &stats)) {
                double cpu = 0;
                guint64 used = 0, available = 0;
                const bool hasCpu = g_variant_lookup(stats, "cpu_percent", "d", &cpu);
                const bool hasMemory = g_variant_lookup(stats, "memory_used_bytes", "t", &used) &&
                                       g_variant_lookup(stats, "memory_available_bytes", "t", &available) &&
                                       available > 0;
                g_variant_unref(stats);
                if (!hasCpu && !hasMemory)
                    continue;
                figured.insert(path);
                const auto vcpus =
                    static_cast<double>(std::max<guint64>(1, m_inventory.number(path, kVmInterface, "VCPUs")));
                m_activity[path].add(cpu / (100.0 * vcpus),
                                     hasMemory ? static_cast<double>(used) / static_cast<double>(available) : 0);
                if (m_rows.count(path))
                    updateRow(path);
            }
            // Say so rather than "sampling…" forever where the hypervisor reports nothing (libvirt's test driver).
            std::set<std::string> none;
            for (const auto& [vm, iter] : m_rows)
                if (!figured.count(vm) && m_inventory.string(vm, kVmInterface, "State") == "running")
                    none.insert(vm);
            if (none != m_noFigures) {
                m_noFigures = std::move(none);
                for (const auto& [vm, iter] : m_rows)
                    updateRow(vm);
            }
        },
        [this](const BusError&) { m_sampling = false; });
    return true;
}

void MainWindow::showError(const std::string& what, const BusError& error)
{
    showMessage(what + " failed — " + error.text(), Gtk::MESSAGE_ERROR);
}

void MainWindow::showMessage(const std::string& text, Gtk::MessageType type)
{
    m_infoLabel.set_text(text);
    m_infoBar.set_message_type(type);
    m_infoBar.show();
}

} // namespace hangar::gtk
