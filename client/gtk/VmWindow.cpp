#include "VmWindow.h"

#include "Format.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vncdisplay.h>
#include <vte/vte.h>

namespace hangar::gtk {

namespace {
const char* const kDisplayPage = "display";
const char* const kMessagePage = "message";
} // namespace

VmWindow::VmWindow(Bus& bus, Inventory& inventory, std::string path)
    : m_bus(bus), m_inventory(inventory), m_path(std::move(path))
{
    set_default_size(860, 640);
    m_state.set_xalign(0);
    m_state.set_margin_start(8);
    m_state.set_margin_top(4);
    m_state.set_margin_bottom(4);
    m_state.get_accessible()->set_name("VM state");
    m_box.pack_start(m_state, Gtk::PACK_SHRINK);

    // Display page.
    m_vnc = Glib::wrap(vnc_display_new());
    m_vnc->get_accessible()->set_name("Guest display");
    m_displayConnect.signal_clicked().connect(sigc::mem_fun(*this, &VmWindow::connectDisplay));
    m_ctrlAltDel.signal_clicked().connect([this] {
        const guint keys[] = {GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_Delete};
        vnc_display_send_keys(VNC_DISPLAY(m_vnc->gobj()), keys, 3);
    });
    m_scale.set_active(true);
    m_scale.signal_toggled().connect(
        [this] { vnc_display_set_scaling(VNC_DISPLAY(m_vnc->gobj()), m_scale.get_active()); });
    vnc_display_set_scaling(VNC_DISPLAY(m_vnc->gobj()), TRUE);
    // The daemon lets any number of callers hold the display: ask QEMU to share it rather than take it over
    // (an exclusive ClientInit is refused by QEMU here).
    vnc_display_set_shared_flag(VNC_DISPLAY(m_vnc->gobj()), TRUE);
    m_displayBar.set_border_width(4);
    m_displayBar.pack_start(m_displayConnect, Gtk::PACK_SHRINK);
    m_displayBar.pack_start(m_ctrlAltDel, Gtk::PACK_SHRINK);
    m_displayBar.pack_start(m_scale, Gtk::PACK_SHRINK);
    m_displayMessage.set_line_wrap(true);
    m_displayMessage.get_accessible()->set_name("Display message");
    m_displayStack.add(*Gtk::manage(m_vnc), kDisplayPage);
    m_displayStack.add(m_displayMessage, kMessagePage);
    m_displayPage.pack_start(m_displayBar, Gtk::PACK_SHRINK);
    m_displayPage.pack_start(m_displayStack, Gtk::PACK_EXPAND_WIDGET);
    m_notebook.append_page(m_displayPage, "Display");

    g_signal_connect_swapped(m_vnc->gobj(), "vnc-disconnected", G_CALLBACK(+[](VmWindow* self) {
                                 if (self->m_displayOpen)
                                     self->closeDisplay(self->guestRuns() ? "The display connection closed."
                                                                          : "The VM is not running.");
                             }),
                             this);
    g_signal_connect_swapped(m_vnc->gobj(), "vnc-error", G_CALLBACK(+[](VmWindow* self, const char* message) {
                                 self->closeDisplay(std::string("Display error: ") + message);
                             }),
                             this);

    // Serial console page.
    VteTerminal* terminal = VTE_TERMINAL(vte_terminal_new());
    m_terminal = Glib::wrap(GTK_WIDGET(terminal));
    m_terminal->get_accessible()->set_name("Serial console");
    g_signal_connect(terminal, "commit", G_CALLBACK(&VmWindow::onCommit), this);
    m_consoleConnect.signal_clicked().connect([this] { connectConsole(false); });
    m_takeOver.signal_clicked().connect([this] { connectConsole(true); });
    m_takeOver.set_tooltip_text("Close the other session on this console and use it here");
    m_consoleBar.set_border_width(4);
    m_consoleBar.pack_start(m_consoleConnect, Gtk::PACK_SHRINK);
    m_consoleBar.pack_start(m_takeOver, Gtk::PACK_SHRINK);
    m_consoleMessage.set_line_wrap(true);
    m_consoleMessage.get_accessible()->set_name("Console message");
    m_consoleStack.add(*Gtk::manage(m_terminal), kDisplayPage);
    m_consoleStack.add(m_consoleMessage, kMessagePage);
    m_consolePage.pack_start(m_consoleBar, Gtk::PACK_SHRINK);
    m_consolePage.pack_start(m_consoleStack, Gtk::PACK_EXPAND_WIDGET);
    m_notebook.append_page(m_consolePage, "Serial console");

    m_box.pack_start(m_notebook, Gtk::PACK_EXPAND_WIDGET);
    add(m_box);
    show_all_children();
    m_takeOver.hide();

    m_connections.push_back(m_inventory.signalChanged.connect(sigc::mem_fun(*this, &VmWindow::onChanged)));
    m_connections.push_back(m_inventory.signalRemoved.connect(sigc::mem_fun(*this, &VmWindow::onRemoved)));
    updateState();
}

void VmWindow::on_show()
{
    Gtk::Window::on_show();
    if (guestRuns()) {
        connectDisplay();
        connectConsole(false);
    } else if (m_inventory.has(m_path, kVmInterface)) {
        closeDisplay("The VM is not running.");
        closeConsole("The VM is not running.");
    }
}

void VmWindow::on_hide()
{
    // A closed window gives the console back (it is exclusive) and leaves the display to others.
    closeDisplay("");
    closeConsole("");
    Gtk::Window::on_hide();
}

VmWindow::~VmWindow()
{
    for (auto& c : m_connections)
        c.disconnect();
    closeConsole("");
    if (m_displayOpen)
        vnc_display_close(VNC_DISPLAY(m_vnc->gobj()));
}

bool VmWindow::guestRuns() const
{
    const std::string state = m_inventory.string(m_path, kVmInterface, "State");
    return state == "running" || state == "paused" || state == "shutting-down" || state == "suspended";
}

void VmWindow::updateState()
{
    const std::string name = m_inventory.string(m_path, kVmInterface, "Name");
    const std::string state = m_inventory.string(m_path, kVmInterface, "State");
    set_title("Hangar — " + name);
    get_accessible()->set_name("VM " + name);
    m_state.set_markup("<b>" + Glib::Markup::escape_text(name) + "</b>   <span foreground=\"" + stateColour(state) +
                       "\">" + Glib::Markup::escape_text(stateText(state)) + "</span>");
    if (state == m_lastState)
        return;
    const bool wasRunning = m_lastState == "running" || m_lastState == "paused";
    m_lastState = state;
    if (!guestRuns()) {
        // A stopped VM has no screen: say so rather than keep the last frame.
        closeDisplay("The VM is " + state + ".");
        closeConsole("The VM is " + state + ".");
    } else if (!wasRunning && is_visible()) {
        connectDisplay();
        connectConsole(false);
    }
    m_displayConnect.set_sensitive(guestRuns());
    m_consoleConnect.set_sensitive(guestRuns());
    m_ctrlAltDel.set_sensitive(m_displayOpen);
}

void VmWindow::onChanged(const std::string& path, const std::string& interface)
{
    if (path == m_path && interface == kVmInterface)
        updateState();
}

void VmWindow::onRemoved(const std::string& path, const std::string& interface)
{
    if (path != m_path || interface != kVmInterface)
        return;
    const std::string why = m_inventory.daemonPresent() ? "This VM was deleted." : "hangard went away.";
    m_state.set_text(why);
    closeDisplay(why);
    closeConsole(why);
    m_displayConnect.set_sensitive(false);
    m_consoleConnect.set_sensitive(false);
}

void VmWindow::connectDisplay()
{
    if (m_displayOpen)
        return;
    displayMessage("Connecting to the display…");
    m_bus.callForFd(
        m_path, kVmInterface, "OpenGraphics", args({options()}),
        [this](const Glib::VariantContainerBase&, int fd) {
            // gtk-vnc's socket takes the fd over and closes it on vnc_display_close.
            if (!vnc_display_open_fd(VNC_DISPLAY(m_vnc->gobj()), fd)) {
                ::close(fd);
                displayMessage("gtk-vnc could not use the display connection.");
                return;
            }
            m_displayOpen = true;
            m_ctrlAltDel.set_sensitive(true);
            m_displayStack.set_visible_child(kDisplayPage);
        },
        [this](const BusError& error) { displayMessage("The display is not available — " + error.text()); });
}

void VmWindow::closeDisplay(const std::string& why)
{
    if (m_displayOpen) {
        m_displayOpen = false;
        vnc_display_close(VNC_DISPLAY(m_vnc->gobj()));
    }
    m_ctrlAltDel.set_sensitive(false);
    displayMessage(why);
}

void VmWindow::displayMessage(const std::string& text)
{
    m_displayMessage.set_text(text);
    m_displayStack.set_visible_child(kMessagePage);
}

void VmWindow::connectConsole(bool force)
{
    if (m_consoleFd >= 0 && !force)
        return;
    consoleMessage("Connecting to the serial console…", false);
    m_bus.callForFd(
        m_path, kVmInterface, "OpenConsole", args({options({{"force", Glib::Variant<bool>::create(force)}})}),
        [this](const Glib::VariantContainerBase&, int fd) {
            closeConsole("");
            m_consoleFd = fd;
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            m_consoleWatch = Glib::signal_io().connect(sigc::mem_fun(*this, &VmWindow::onConsoleReadable), fd,
                                                       Glib::IO_IN | Glib::IO_HUP | Glib::IO_ERR);
            m_takeOver.hide();
            m_consoleStack.set_visible_child(kDisplayPage);
            m_terminal->grab_focus();
        },
        [this](const BusError& error) {
            if (error.name == "Busy" && guestRuns())
                consoleMessage("Another session holds this console (" + error.message + ").", true);
            else
                consoleMessage("The serial console is not available — " + error.text(), false);
        });
}

bool VmWindow::onConsoleReadable(Glib::IOCondition)
{
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(m_consoleFd, buffer, sizeof buffer);
        if (n > 0) {
            vte_terminal_feed(VTE_TERMINAL(m_terminal->gobj()), buffer, n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        // End of file: the guest stopped or another session took the console over.
        m_consoleWatch.disconnect();
        ::close(m_consoleFd);
        m_consoleFd = -1;
        consoleMessage(guestRuns() ? "The console was closed (another session may have taken it over)."
                                   : "The VM is not running.",
                       guestRuns());
        return false;
    }
}

void VmWindow::onCommit(VteTerminal*, gchar* text, guint size, gpointer self)
{
    auto* window = static_cast<VmWindow*>(self);
    if (window->m_consoleFd < 0)
        return;
    // Small writes of typed keys to a local socket; a full buffer would drop keys rather than freeze the window.
    ssize_t written = 0;
    while (written < static_cast<ssize_t>(size)) {
        const ssize_t n = ::write(window->m_consoleFd, text + written, size - written);
        if (n <= 0)
            break;
        written += n;
    }
}

void VmWindow::closeConsole(const std::string& why)
{
    if (m_consoleFd >= 0) {
        m_consoleWatch.disconnect();
        ::close(m_consoleFd);
        m_consoleFd = -1;
    }
    if (!why.empty())
        consoleMessage(why, false);
}

void VmWindow::consoleMessage(const std::string& text, bool offerTakeOver)
{
    m_consoleMessage.set_text(text);
    m_consoleStack.set_visible_child(kMessagePage);
    m_takeOver.set_visible(offerTakeOver);
}

} // namespace hangar::gtk
