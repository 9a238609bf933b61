// One VM's window: its graphical display (gtk-vnc on the fd of VM.OpenGraphics: no TCP port, no password) with
// Ctrl+Alt+Del and scaling, and its serial console (VTE on the fd of VM.OpenConsole: the socket's bytes are fed to
// the terminal, what the user types is written back, as virt-manager's serial console does). Both close and say so
// when the VM stops; the daemon's refusals (NotSupported, Busy when another session holds the console) are shown.
#pragma once

#include "Bus.h"
#include "Inventory.h"

#include <gtkmm.h>
#include <string>

typedef struct _VteTerminal VteTerminal; // NOLINT(bugprone-reserved-identifier): VTE's own C type

namespace hangar::gtk {

class VmWindow : public Gtk::Window
{
public:
    VmWindow(Bus& bus, Inventory& inventory, std::string path);
    ~VmWindow() override;

protected:
    void on_show() override;
    void on_hide() override;

private:
    void onChanged(const std::string& path, const std::string& interface);
    void onRemoved(const std::string& path, const std::string& interface);
    void updateState();
    bool guestRuns() const;

    void connectDisplay();
    void closeDisplay(const std::string& why);
    void displayMessage(const std::string& text);

    void connectConsole(bool force);
    void closeConsole(const std::string& why);
    bool onConsoleReadable(Glib::IOCondition condition);
    void consoleMessage(const std::string& text, bool offerTakeOver);
    static void onCommit(VteTerminal* terminal, gchar* text, guint size, gpointer self);

    Bus& m_bus;
    Inventory& m_inventory;
    std::string m_path;
    std::string m_lastState;
    std::vector<sigc::connection> m_connections;
    int m_consoleFd = -1;
    sigc::connection m_consoleWatch;
    bool m_displayOpen = false;

    Gtk::Box m_box{Gtk::ORIENTATION_VERTICAL};
    Gtk::Label m_state;
    Gtk::Notebook m_notebook;

    Gtk::Box m_displayPage{Gtk::ORIENTATION_VERTICAL};
    Gtk::Box m_displayBar{Gtk::ORIENTATION_HORIZONTAL, 6};
    Gtk::Button m_displayConnect{"_Connect Display", true};
    Gtk::Button m_ctrlAltDel{"Send Ctrl+Alt+_Del", true};
    Gtk::CheckButton m_scale{"_Scale to Window", true};
    Gtk::Stack m_displayStack;
    Gtk::Label m_displayMessage;
    Gtk::Widget* m_vnc = nullptr; // a VncDisplay, owned by m_displayStack

    Gtk::Box m_consolePage{Gtk::ORIENTATION_VERTICAL};
    Gtk::Box m_consoleBar{Gtk::ORIENTATION_HORIZONTAL, 6};
    Gtk::Button m_consoleConnect{"C_onnect Console", true};
    Gtk::Button m_takeOver{"_Take Over Console", true};
    Gtk::Stack m_consoleStack;
    Gtk::Label m_consoleMessage;
    Gtk::Widget* m_terminal = nullptr; // a VteTerminal, owned by m_consoleStack
};

} // namespace hangar::gtk
