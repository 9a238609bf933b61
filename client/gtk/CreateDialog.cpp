#include "CreateDialog.h"

#include "Format.h"

#include <algorithm>

namespace hangar::gtk {

namespace {
constexpr guint64 kGiB = 1024ULL * 1024 * 1024;
}

CreateDialog::CreateDialog(Gtk::Window& parent, const Inventory& inventory)
    : Gtk::Dialog("New virtual machine", parent, true), m_inventory(inventory),
      m_vcpus(Gtk::Adjustment::create(1, 1, 256, 1, 2)), m_memory(Gtk::Adjustment::create(512, 64, 4194304, 64, 512)),
      m_disk(Gtk::Adjustment::create(10, 1, 65536, 1, 10))
{
    get_accessible()->set_name("New virtual machine");
    m_grid.set_row_spacing(6);
    m_grid.set_column_spacing(12);
    m_grid.set_border_width(12);
    m_name.set_placeholder_text("lower-case letters, digits and -");
    m_name.set_activates_default(true);
    addRow(0, "_Name", m_name, "Name");

    m_image.append("", "None (blank disk)");
    std::vector<std::pair<std::string, std::string>> images;
    for (const auto& path : inventory.objects(kImageInterface))
        if (inventory.string(path, kImageInterface, "State") == "ready")
            images.emplace_back(inventory.string(path, kImageInterface, "Name"), path);
    std::sort(images.begin(), images.end());
    for (const auto& [imageName, path] : images) {
        const std::string os = inventory.string(path, kImageInterface, "OSName"); // "Debian 11", or "" for none
        m_image.append(path, imageName + " (" + (os.empty() ? "" : os + ", ") +
                                 inventory.string(path, kImageInterface, "Format") + ", " +
                                 formatBytes(inventory.number(path, kImageInterface, "VirtualSizeBytes")) + ")");
    }
    m_image.set_active(0);
    m_image.signal_changed().connect(sigc::mem_fun(*this, &CreateDialog::onImageChanged));
    addRow(1, "_Image", m_image, "Image");
    addRow(2, "_vCPUs", m_vcpus, "vCPUs");
    addRow(3, "_Memory (MiB)", m_memory, "Memory (MiB)");
    addRow(4, "_Disk (GiB)", m_disk, "Disk (GiB)");
    get_content_area()->pack_start(m_grid);

    add_button("_Cancel", Gtk::RESPONSE_CANCEL);
    add_button("C_reate", Gtk::RESPONSE_OK);
    set_default_response(Gtk::RESPONSE_OK);
    show_all_children();
}

void CreateDialog::addRow(int row, const char* label, Gtk::Widget& widget, const char* accessibleName)
{
    auto* text = Gtk::manage(new Gtk::Label(label, true));
    text->set_xalign(0);
    text->set_mnemonic_widget(widget);
    widget.get_accessible()->set_name(accessibleName);
    widget.set_hexpand(true);
    m_grid.attach(*text, 0, row);
    m_grid.attach(widget, 1, row);
}

void CreateDialog::onImageChanged()
{
    // An image's virtual size is the smallest useful disk: start there (the daemon's own default too).
    const std::string path = m_image.get_active_id();
    if (path.empty())
        return;
    const guint64 bytes = m_inventory.number(path, kImageInterface, "VirtualSizeBytes");
    m_disk.set_value(static_cast<double>(std::max<guint64>(1, (bytes + kGiB - 1) / kGiB)));
}

std::string CreateDialog::name() const
{
    return m_name.get_text();
}

Glib::VariantBase CreateDialog::spec() const
{
    std::map<Glib::ustring, Glib::VariantBase> entries{
        {"vcpus", Glib::Variant<guint32>::create(static_cast<guint32>(m_vcpus.get_value_as_int()))},
        {"memory_mib", Glib::Variant<guint64>::create(static_cast<guint64>(m_memory.get_value()))},
        {"disk_gib", Glib::Variant<guint64>::create(static_cast<guint64>(m_disk.get_value()))}};
    const std::string imagePath = const_cast<Gtk::ComboBoxText&>(m_image).get_active_id();
    if (!imagePath.empty())
        entries["image"] = Glib::Variant<Glib::ustring>::create(m_inventory.string(imagePath, kImageInterface, "Name"));
    return options(entries);
}

} // namespace hangar::gtk
