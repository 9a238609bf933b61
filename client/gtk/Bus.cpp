#include "Bus.h"

#include <giomm/unixfdlist.h>
#include <glib-unix.h>
#include <unistd.h>

namespace hangar::gtk {

namespace {

constexpr int kNoTimeout = G_MAXINT;
constexpr const char* kErrorPrefix = "org.hangar.Hangar1.Error.";

Glib::RefPtr<Gio::DBus::Connection> connect(const std::string& spec)
{
    if (spec == "system")
        return Gio::DBus::Connection::get_sync(Gio::DBus::BUS_TYPE_SYSTEM);
    if (spec == "session")
        return Gio::DBus::Connection::get_sync(Gio::DBus::BUS_TYPE_SESSION);
    return Gio::DBus::Connection::create_for_address_sync(spec, Gio::DBus::CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                                    Gio::DBus::CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION);
}

} // namespace

Bus::Bus(const std::string& spec)
    : m_connection(connect(spec)), m_description(spec == "system"    ? "the system bus"
                                                 : spec == "session" ? "the session bus"
                                                                     : "the bus at " + spec)
{}

BusError Bus::toBusError(const Glib::Error& error)
{
    const Glib::ustring remote = Gio::DBus::ErrorUtils::get_remote_error(error);
    // A copy, because strip_remote_error changes the error it is given.
    Glib::Error copy(g_error_copy(error.gobj()));
    Gio::DBus::ErrorUtils::strip_remote_error(copy);
    std::string name = remote;
    if (name.rfind(kErrorPrefix, 0) == 0)
        name = name.substr(std::string(kErrorPrefix).size());
    return BusError{name, copy.what()};
}

void Bus::call(const std::string& path, const char* interface, const char* method,
               const Glib::VariantContainerBase& args, const Reply& onReply, const Failure& onFailure)
{
    auto connection = m_connection;
    m_connection->call(
        path, interface, method, args,
        [connection, onReply, onFailure](Glib::RefPtr<Gio::AsyncResult>& result) {
            try {
                auto reply = connection->call_finish(result);
                if (onReply)
                    onReply(reply);
            } catch (const Glib::Error& e) {
                if (onFailure)
                    onFailure(toBusError(e));
            }
        },
        kService, kNoTimeout, Gio::DBus::CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
}

void Bus::callWithFd(const std::string& path, const char* interface, const char* method,
                     const Glib::VariantContainerBase& args, int fd, const Reply& onReply, const Failure& onFailure)
{
    auto fds = Gio::UnixFDList::create();
    fds->append(fd); // duplicates
    auto connection = m_connection;
    m_connection->call(
        path, interface, method, args,
        [connection, onReply, onFailure](Glib::RefPtr<Gio::AsyncResult>& result) {
            try {
                Glib::RefPtr<Gio::UnixFDList> outFds;
                auto reply = connection->call_finish(result, outFds);
                if (onReply)
                    onReply(reply);
            } catch (const Glib::Error& e) {
                if (onFailure)
                    onFailure(toBusError(e));
            }
        },
        fds, kService, kNoTimeout, Gio::DBus::CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
}

void Bus::callForFd(const std::string& path, const char* interface, const char* method,
                    const Glib::VariantContainerBase& args, const FdReply& onReply, const Failure& onFailure)
{
    auto connection = m_connection;
    m_connection->call(
        path, interface, method, args,
        [connection, onReply, onFailure](Glib::RefPtr<Gio::AsyncResult>& result) {
            try {
                Glib::RefPtr<Gio::UnixFDList> outFds;
                auto reply = connection->call_finish(result, outFds);
                Glib::VariantBase child;
                reply.get_child(child, 0);
                const gint32 handle = g_variant_get_handle(child.gobj());
                int fd = -1;
                if (outFds && handle >= 0 && handle < outFds->get_length())
                    fd = outFds->get(handle); // a duplicate we own
                if (fd < 0) {
                    if (onFailure)
                        onFailure(BusError{"", "the daemon's reply carried no file descriptor"});
                    return;
                }
                if (onReply)
                    onReply(reply, fd);
                else
                    ::close(fd);
            } catch (const Glib::Error& e) {
                if (onFailure)
                    onFailure(toBusError(e));
            }
        },
        Glib::RefPtr<Gio::UnixFDList>(), kService, kNoTimeout, Gio::DBus::CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
}

Glib::VariantBase options(const std::map<Glib::ustring, Glib::VariantBase>& entries)
{
    GVariantBuilder builder;
    g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
    for (const auto& [key, value] : entries)
        g_variant_builder_add(&builder, "{sv}", key.c_str(), const_cast<GVariant*>(value.gobj()));
    // The builder's result is floating: sink it so the wrapper owns the one reference.
    return Glib::VariantBase(g_variant_ref_sink(g_variant_builder_end(&builder)));
}

Glib::VariantContainerBase args(const std::vector<Glib::VariantBase>& values)
{
    return Glib::VariantContainerBase::create_tuple(values);
}

} // namespace hangar::gtk
