#include "Inventory.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace hangar::fuzz {

namespace {

using Objects = std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

// Properties that change without anyone calling: left out of the comparison.
const std::set<std::string> kMoving{"Addresses", "GraphicsAddress", "Progress",       "ProgressValid",
                                    "Rate",      "Bytes",           "ExpectedEndTime"};
const std::set<std::string> kPassingStates{"creating", "deleting", "shutting-down", "importing"};

std::string render(const sdbus::Variant& v)
{
    const std::string type = v.peekValueType();
    std::ostringstream os;
    if (type == "s")
        os << '"' << v.get<std::string>() << '"';
    else if (type == "u")
        os << v.get<std::uint32_t>();
    else if (type == "t")
        os << v.get<std::uint64_t>();
    else if (type == "i")
        os << v.get<std::int32_t>();
    else if (type == "x")
        os << v.get<std::int64_t>();
    else if (type == "b")
        os << (v.get<bool>() ? "true" : "false");
    else if (type == "d")
        os << v.get<double>();
    else if (type == "o")
        os << v.get<sdbus::ObjectPath>();
    else if (type == "as" || type == "ao") {
        std::vector<std::string> items;
        if (type == "as")
            items = v.get<std::vector<std::string>>();
        else
            for (const auto& p : v.get<std::vector<sdbus::ObjectPath>>())
                items.push_back(p);
        os << '[';
        for (std::size_t i = 0; i < items.size(); ++i)
            os << (i ? ", " : "") << items[i];
        os << ']';
    } else {
        os << "<" << type << ">";
    }
    return os.str();
}

bool isJob(const std::string& path)
{
    return path.rfind("/org/hangar/Hangar1/job/", 0) == 0;
}

} // namespace

bool Inventory::moving() const
{
    if (!jobs.empty())
        return true;
    for (const auto& [path, props] : objects)
        for (const auto& [key, value] : props)
            if (key.size() > 6 && key.compare(key.size() - 6, 6, ".State") == 0 &&
                kPassingStates.count(value.substr(1, value.size() - 2)))
                return true;
    return false;
}

std::vector<std::string> Inventory::names() const
{
    std::vector<std::string> out;
    for (const auto& [path, props] : objects)
        for (const auto& [key, value] : props) {
            if (key.size() > 5 && key.compare(key.size() - 5, 5, ".Name") == 0 && value.size() >= 2)
                out.push_back(value.substr(1, value.size() - 2));
            if (key == "org.hangar.Hangar1.VM.Snapshots" && value.size() > 2) {
                std::istringstream in(value.substr(1, value.size() - 2));
                for (std::string s; std::getline(in, s, ',');)
                    out.push_back(s.substr(s.find_first_not_of(' ')));
            }
        }
    return out;
}

std::vector<std::string> Inventory::paths() const
{
    std::vector<std::string> out;
    for (const auto& [path, props] : objects)
        out.push_back(path);
    out.insert(out.end(), jobs.begin(), jobs.end());
    return out;
}

std::vector<std::string> Inventory::withState(const std::string& interface, const std::string& state) const
{
    std::vector<std::string> out;
    for (const auto& [path, props] : objects)
        if (auto it = props.find(interface + ".State"); it != props.end() && it->second == '"' + state + '"')
            out.push_back(path);
    return out;
}

Inventory readInventory(sdbus::IProxy& manager, std::chrono::microseconds timeout)
{
    auto call = manager.createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
    auto reply = manager.callMethod(call, static_cast<std::uint64_t>(timeout.count()));
    Objects objects;
    reply >> objects;
    Inventory inv;
    for (const auto& [path, interfaces] : objects) {
        if (isJob(path)) {
            inv.jobs.push_back(path);
            continue;
        }
        auto& props = inv.objects[path];
        for (const auto& [iface, values] : interfaces)
            for (const auto& [name, value] : values)
                if (!kMoving.count(name))
                    props[iface + "." + name] = render(value);
    }
    return inv;
}

std::string difference(const Inventory& before, const Inventory& after)
{
    std::ostringstream os;
    for (const auto& [path, props] : before.objects) {
        auto it = after.objects.find(path);
        if (it == after.objects.end()) {
            os << "  " << path << " disappeared\n";
            continue;
        }
        for (const auto& [key, value] : props) {
            auto now = it->second.find(key);
            if (now == it->second.end())
                os << "  " << path << " " << key << " disappeared (was " << value << ")\n";
            else if (now->second != value)
                os << "  " << path << " " << key << ": " << value << " -> " << now->second << "\n";
        }
        for (const auto& [key, value] : it->second)
            if (!props.count(key))
                os << "  " << path << " " << key << " appeared: " << value << "\n";
    }
    for (const auto& [path, props] : after.objects)
        if (!before.objects.count(path))
            os << "  " << path << " appeared\n";
    return os.str();
}

} // namespace hangar::fuzz
