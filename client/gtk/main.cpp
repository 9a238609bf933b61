// hangar-gtk: a small desktop frontend of hangard over its D-Bus API only.
//   hangar-gtk [--bus=system|session|ADDRESS]     (default: $HANGAR_BUS, else the system bus)
#include "Bus.h"
#include "Inventory.h"
#include "MainWindow.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>
#include <vncutil.h>

namespace {

constexpr const char* kUsage = "usage: hangar-gtk [--bus=system|session|ADDRESS] [GTK options]\n"
                               "  --bus  where hangard is: the system bus (default), the session bus, or a D-Bus\n"
                               "         address such as unix:path=/tmp/bus (also $HANGAR_BUS)\n";

} // namespace

int main(int argc, char** argv)
{
    std::string bus = std::getenv("HANGAR_BUS") ? std::getenv("HANGAR_BUS") : "system";
    std::vector<char*> rest{argv[0]};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--bus=", 0) == 0) {
            bus = arg.substr(6);
        } else if (arg == "--bus" && i + 1 < argc) {
            bus = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        } else {
            rest.push_back(argv[i]);
        }
    }
    // gtk-vnc's protocol trace (with G_MESSAGES_DEBUG=all), for when a display does not come up.
    if (std::getenv("HANGAR_GTK_VNC_DEBUG"))
        vnc_util_set_debug(TRUE);
    int restCount = static_cast<int>(rest.size());
    char** restArgs = rest.data();
    auto app = Gtk::Application::create(restCount, restArgs, "org.hangar.HangarGtk", Gio::APPLICATION_NON_UNIQUE);
    Glib::set_application_name("Hangar");

    std::unique_ptr<hangar::gtk::Bus> connection;
    try {
        connection = std::make_unique<hangar::gtk::Bus>(bus);
    } catch (const Glib::Error& e) {
        std::cerr << "hangar-gtk: cannot connect to " << bus << ": " << e.what() << "\n" << kUsage;
        return 1;
    }
    hangar::gtk::Inventory inventory(*connection);
    hangar::gtk::MainWindow window(*connection, inventory);
    return app->run(window);
}
