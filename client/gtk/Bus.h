// The GUI's D-Bus link to hangard: one GDBus connection on the GLib main loop and asynchronous method calls whose
// replies and errors come back as callbacks on that loop, so the UI thread never waits for the daemon.
#pragma once

#include <functional>
#include <giomm.h>
#include <map>
#include <string>
#include <vector>

namespace hangar::gtk {

inline constexpr const char* kService = "org.hangar.Hangar1";
inline constexpr const char* kManagerPath = "/org/hangar/Hangar1";
inline constexpr const char* kManagerInterface = "org.hangar.Hangar1.Manager";
inline constexpr const char* kVmInterface = "org.hangar.Hangar1.VM";
inline constexpr const char* kImageInterface = "org.hangar.Hangar1.Image";
inline constexpr const char* kJobInterface = "org.hangar.Hangar1.Job";

// A failed call as the user should read it: the short error name ("Busy") and the daemon's own message.
struct BusError
{
    std::string name;    // "Busy", "PermissionDenied", ... or the full D-Bus name for errors not from hangard
    std::string message; // the daemon's words
    std::string text() const { return name.empty() ? message : name + ": " + message; }
};

class Bus
{
public:
    using Reply = std::function<void(const Glib::VariantContainerBase&)>;
    using FdReply = std::function<void(const Glib::VariantContainerBase&, int fd)>;
    using Failure = std::function<void(const BusError&)>;

    // spec: "system", "session" or a D-Bus address ("unix:path=..."). Throws Glib::Error when it cannot connect.
    explicit Bus(const std::string& spec);

    const Glib::RefPtr<Gio::DBus::Connection>& connection() const { return m_connection; }
    const std::string& description() const { return m_description; }

    // A state-changing call: may take as long as the user needs to answer the desktop's polkit agent, so it has no
    // timeout and allows interactive authorization (auth.no_user_interaction is never passed from the GUI).
    void call(const std::string& path, const char* interface, const char* method,
              const Glib::VariantContainerBase& args, const Reply& onReply, const Failure& onFailure);
    // The same, passing one fd (as handle 0 in args) to the daemon; the fd is duplicated, the caller keeps its own.
    void callWithFd(const std::string& path, const char* interface, const char* method,
                    const Glib::VariantContainerBase& args, int fd, const Reply& onReply, const Failure& onFailure);
    // The same, for methods that return one fd (OpenConsole, OpenGraphics). The callback owns the fd.
    void callForFd(const std::string& path, const char* interface, const char* method,
                   const Glib::VariantContainerBase& args, const FdReply& onReply, const Failure& onFailure);

    static BusError toBusError(const Glib::Error& error);

private:
    Glib::RefPtr<Gio::DBus::Connection> m_connection;
    std::string m_description;
};

// An a{sv} argument built from (key, value) pairs; an empty one for the options most methods take.
Glib::VariantBase options(const std::map<Glib::ustring, Glib::VariantBase>& entries = {});
// A method's arguments as one tuple.
Glib::VariantContainerBase args(const std::vector<Glib::VariantBase>& values);
inline Glib::VariantBase str(const std::string& s)
{
    return Glib::Variant<Glib::ustring>::create(s);
}

} // namespace hangar::gtk
