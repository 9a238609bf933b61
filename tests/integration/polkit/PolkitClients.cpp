// The clients of the authorization tests: gdbus calls as the test users and what they print, and root's view of
// the inventory through sdbus-c++ (PolkitHarness.h).
#include "PolkitHarness.h"

#include <regex>
#include <stdexcept>

namespace hangar::it::polkit {

// ---- Clients -------------------------------------------------------------------------------------------------------

std::string CallResult::describe() const
{
    std::string text = "exit " + std::to_string(exitCode);
    if (!errorName.empty())
        text += ", " + errorName + ": " + errorMessage;
    if (!out.empty())
        text += "\nstdout: " + out;
    if (!err.empty())
        text += "\nstderr: " + err;
    return text;
}

CallResult toCallResult(const RunResult& r)
{
    CallResult c{r.exitCode, r.out, r.err, {}, {}};
    static const std::regex error(R"(GDBus\.Error:([A-Za-z_][A-Za-z0-9_.]*): ([^\n]*))");
    std::smatch m;
    if (std::regex_search(c.err, m, error)) {
        c.errorName = m[1];
        c.errorMessage = m[2];
    }
    return c;
}

std::vector<std::string> gdbusCall(const std::string& busAddress, const std::string& path, const std::string& method,
                                   const std::vector<std::string>& args, const std::string& destination)
{
    std::vector<std::string> argv{"/usr/bin/gdbus", "call",          "--address", busAddress, "--dest",
                                  destination,      "--object-path", path,        "--method", method};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

CallResult callAs(const std::string& busAddress, const TestUser& user, const std::string& path,
                  const std::string& method, const std::vector<std::string>& args, std::chrono::seconds timeout)
{
    return toCallResult(run(asUser(user, gdbusCall(busAddress, path, method, args)), {}, timeout));
}

// ---- What gdbus prints ---------------------------------------------------------------------------------------------

std::string vmPathIn(const std::string& gdbusOutput)
{
    static const std::regex path("'(/org/hangar/Hangar1/vm/[A-Za-z0-9_]+)'");
    std::smatch m;
    return std::regex_search(gdbusOutput, m, path) ? std::string(m[1]) : std::string();
}

std::vector<EventRow> parseEvents(const std::string& gdbusOutput)
{
    // (id, time_usec, uid, vm_uuid, vm_name, action, outcome, message, severity); GVariant text names the type of the
    // first row's numbers only, and quotes a string with "..." when it contains a '.
    static const std::string str = R"(('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))";
    static const std::regex row(R"(\((?:uint64 )?\d+, (?:uint64 )?\d+, (?:uint32 )?(\d+), )" + str + ", " + str + ", " +
                                str + ", " + str + ", " + str + ", " + str + R"(\))");
    auto unquote = [](const std::string& s) { return s.substr(1, s.size() - 2); };
    std::vector<EventRow> rows;
    for (auto it = std::sregex_iterator(gdbusOutput.begin(), gdbusOutput.end(), row); it != std::sregex_iterator();
         ++it) {
        const auto& m = *it;
        rows.push_back(EventRow{static_cast<std::uint32_t>(std::stoul(m[1])), unquote(m[3]), unquote(m[4]),
                                unquote(m[5]), unquote(m[6])});
    }
    return rows;
}

std::optional<std::uint64_t> quotaNumber(const std::string& gdbusOutput, const std::string& section,
                                         const std::string& key)
{
    const std::string open = "'" + section + "': <{";
    const auto begin = gdbusOutput.find(open);
    if (begin == std::string::npos)
        return std::nullopt;
    const auto end = gdbusOutput.find("}>", begin);
    const std::string body = gdbusOutput.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    const std::regex number("'" + key + R"(': <(?:uint32 |uint64 |int32 |int64 )?(\d+)>)");
    std::smatch m;
    if (!std::regex_search(body, m, number))
        return std::nullopt;
    return std::stoull(m[1]);
}

// ---- Root's view -----------------------------------------------------------------------------------------------

RootView::RootView(const std::string& busAddress)
    : m_connection(sdbus::createSessionBusConnectionWithAddress(busAddress))
{}

sdbus::Variant RootView::property(const std::string& path, const std::string& interface, const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, path);
    sdbus::Variant value;
    proxy->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(interface, name)
        .storeResultsTo(value);
    return value;
}

std::uint32_t RootView::vmCount()
{
    return property(kManagerPath, kManager, "VMCount").get<std::uint32_t>();
}

std::uint32_t RootView::runningVmCount()
{
    return property(kManagerPath, kManager, "RunningVMCount").get<std::uint32_t>();
}

std::vector<VmRow> RootView::allVms()
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::uint32_t, sdbus::ObjectPath>> rows;
    proxy->callMethod("ListVMs")
        .onInterface(kManager)
        .withArguments(std::map<std::string, sdbus::Variant>{{"all", sdbus::Variant(true)}})
        .storeResultsTo(rows);
    std::vector<VmRow> out;
    for (const auto& r : rows)
        out.push_back(VmRow{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>()});
    return out;
}

std::optional<std::string> RootView::findVm(const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    sdbus::ObjectPath path;
    try {
        proxy->callMethod("GetVM").onInterface(kManager).withArguments(name).storeResultsTo(path);
    } catch (const sdbus::Error& e) {
        if (e.getName() == kNotFound)
            return std::nullopt;
        throw;
    }
    return std::string(path);
}

bool RootView::objectExists(const std::string& path)
{
    for (const auto& vm : allVms()) {
        if (vm.path == path)
            return true;
    }
    return false;
}

std::string RootView::state(const std::string& path)
{
    return property(path, kVm, "State").get<std::string>();
}
std::string RootView::name(const std::string& path)
{
    return property(path, kVm, "Name").get<std::string>();
}
std::string RootView::uuid(const std::string& path)
{
    return property(path, kVm, "UUID").get<std::string>();
}
std::uint32_t RootView::owner(const std::string& path)
{
    return property(path, kVm, "Owner").get<std::uint32_t>();
}

std::vector<EventRow> RootView::eventsAbout(const std::string& uuid)
{
    auto proxy = sdbus::createProxy(*m_connection, kService, kManagerPath);
    std::vector<sdbus::Struct<std::uint64_t, std::uint64_t, std::uint32_t, std::string, std::string, std::string,
                              std::string, std::string, std::string>>
        rows;
    proxy->callMethod("GetEvents")
        .onInterface(kManager)
        .withArguments(std::map<std::string, sdbus::Variant>{{"vm", sdbus::Variant(uuid)},
                                                             {"limit", sdbus::Variant(std::uint32_t{10000})}})
        .storeResultsTo(rows);
    std::vector<EventRow> out;
    for (const auto& r : rows)
        out.push_back(EventRow{r.get<2>(), r.get<4>(), r.get<5>(), r.get<6>(), r.get<7>()});
    return out;
}

std::string RootView::waitForState(const std::string& path, const std::string& want, std::chrono::milliseconds deadline)
{
    std::string seen;
    waitFor(
        [&] {
            seen = state(path);
            return seen == want;
        },
        deadline);
    return seen;
}

bool RootView::nameHasOwner(const std::string& name)
{
    auto proxy = sdbus::createProxy(*m_connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool has = false;
    proxy->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(name).storeResultsTo(has);
    return has;
}

} // namespace hangar::it::polkit
