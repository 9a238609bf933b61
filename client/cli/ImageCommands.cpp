// image list, image show and image delete: the images VMs are made from (org.hangar.Hangar1.Image). Reading needs
// no authorization. An image's UsedBy holds VM object paths; they are shown as the VMs' names, all resolved from one
// GetManagedObjects rather than one call per VM.
#include "Commands.h"
#include "Output.h"
#include "common/Format.h"

#include <iostream>

namespace hangar::client {
namespace {

using Properties = std::map<std::string, sdbus::Variant>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, Properties>>;
using VmNames = std::map<sdbus::ObjectPath, std::string>;

VmNames vmNames(const ManagedObjects& objects)
{
    VmNames names;
    for (const auto& [path, interfaces] : objects) {
        auto vm = interfaces.find(kVmInterface);
        if (vm == interfaces.end())
            continue;
        if (auto name = vm->second.find("Name"); name != vm->second.end() && name->second.peekValueType() == "s")
            names.emplace(path, name->second.get<std::string>());
    }
    return names;
}

const Properties* imageProperties(const ManagedObjects& objects, const sdbus::ObjectPath& path)
{
    auto object = objects.find(path);
    if (object == objects.end())
        return nullptr;
    auto image = object->second.find(kImageInterface);
    return image == object->second.end() ? nullptr : &image->second;
}

template <typename T> std::optional<T> property(const Properties& properties, const char* name, const char* type)
{
    auto it = properties.find(name);
    if (it == properties.end() || it->second.peekValueType() != type)
        return std::nullopt;
    return it->second.get<T>();
}

std::vector<sdbus::ObjectPath> usedBy(const Properties& properties)
{
    return property<std::vector<sdbus::ObjectPath>>(properties, "UsedBy", "ao")
        .value_or(std::vector<sdbus::ObjectPath>{});
}

// A VM hangarctl has no name for (gone meanwhile, or not published) is shown by its object path.
std::vector<std::string> usedByNames(const Properties& properties, const VmNames& names)
{
    std::vector<std::string> result;
    for (const auto& path : usedBy(properties)) {
        auto it = names.find(path);
        result.push_back(it == names.end() ? std::string(path) : it->second);
    }
    return result;
}

nlohmann::json toJson(const Properties& properties, const sdbus::ObjectPath& path, const VmNames& names)
{
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [name, value] : properties)
        object[name] = variantToJson(value);
    if (auto owner = property<std::uint32_t>(properties, "Owner", "u"))
        object["OwnerName"] = userName(*owner);
    object["UsedByNames"] = usedByNames(properties, names);
    object["ObjectPath"] = std::string(path);
    return object;
}

std::string sizeText(const Properties& properties, const char* name)
{
    auto bytes = property<std::uint64_t>(properties, name, "t");
    // Nothing is known of the size until the import has filled the image.
    if (!bytes || (*bytes == 0 && property<std::string>(properties, "State", "s") == "importing"))
        return "-";
    return formatBytes(*bytes);
}

struct FieldView
{
    const char* property;
    const char* label;
};

constexpr FieldView kImageFields[] = {
    {"Name", "Name"},
    {"State", "State"},
    {"Format", "Format"},
    {"OSName", "OS"},
    {"OS", "OS id"},
    {"VirtualSizeBytes", "Virtual size"},
    {"SizeBytes", "Size on disk"},
    {"Owner", "Owner"},
    {"Description", "Description"},
    {"CreatedAt", "Created"},
    {"UsedBy", "Used by"},
};

std::string fieldText(const std::string& name, const sdbus::Variant& value, const Properties& properties,
                      const VmNames& names)
{
    const std::string type = value.peekValueType();
    if (name == "VirtualSizeBytes" || name == "SizeBytes")
        return sizeText(properties, name.c_str());
    if (name == "Owner" && type == "u")
        return userName(value.get<std::uint32_t>()) + " (" + std::to_string(value.get<std::uint32_t>()) + ")";
    if (name == "CreatedAt" && type == "t")
        return formatTimeAgo(value.get<std::uint64_t>(), currentTimeUsec());
    if (name == "UsedBy") {
        std::string text;
        for (const auto& vm : usedByNames(properties, names))
            text += (text.empty() ? "" : ", ") + vm;
        return text.empty() ? "-" : text;
    }
    if (type == "s" && value.get<std::string>().empty())
        return "-";
    return variantToText(value);
}

void printImage(const Properties& properties, const sdbus::ObjectPath& path, const VmNames& names)
{
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& field : kImageFields) {
        if (auto it = properties.find(field.property); it != properties.end())
            fields.emplace_back(field.label, fieldText(it->first, it->second, properties, names));
    }
    // Properties a newer hangard has and this hangarctl does not know: shown by their D-Bus name.
    for (const auto& [name, value] : properties) {
        bool known = false;
        for (const auto& field : kImageFields)
            known = known || name == field.property;
        if (!known)
            fields.emplace_back(name, fieldText(name, value, properties, names));
    }
    fields.emplace_back("Object path", std::string(path));
    printFields(std::cout, fields);
    std::cout.flush();
}

// The image's properties from objects, or read from the image itself when the ObjectManager does not list it.
Properties readImage(Context& context, const ManagedObjects& objects, const sdbus::ObjectPath& path)
{
    if (const Properties* properties = imageProperties(objects, path))
        return *properties;
    ImageProxy image(context.connection().bus(), path);
    return image.GetAll(kImageInterface);
}

} // namespace

nlohmann::json imageJson(Context& context, const sdbus::ObjectPath& path)
{
    ImageProxy image(context.connection().bus(), path);
    const Properties properties = image.GetAll(kImageInterface);
    VmNames names;
    if (!usedBy(properties).empty())
        names = vmNames(context.connection().manager().GetManagedObjects());
    return toJson(properties, path, names);
}

ExitCode runImageList(Context& context)
{
    ManagerProxy& manager = context.connection().manager();
    // ListImages is the list (sorted by name); one GetManagedObjects adds what its rows lack: State and UsedBy.
    ManagedObjects objects;
    decltype(manager.ListImages()) rows;
    try {
        rows = manager.ListImages();
        if (!rows.empty())
            objects = manager.GetManagedObjects();
    } catch (const sdbus::Error& e) {
        return context.reportError("list images", e);
    }
    const VmNames names = vmNames(objects);

    if (context.json()) {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& row : rows) {
            nlohmann::json image = {{"Name", row.get<0>()},
                                    {"Format", row.get<1>()},
                                    {"VirtualSizeBytes", row.get<2>()},
                                    {"SizeBytes", row.get<3>()},
                                    {"Owner", row.get<4>()},
                                    {"OwnerName", userName(row.get<4>())},
                                    {"UsedByNames", nlohmann::json::array()},
                                    {"ObjectPath", std::string(row.get<5>())}};
            if (const Properties* properties = imageProperties(objects, row.get<5>()))
                image.update(toJson(*properties, row.get<5>(), names));
            array.push_back(image);
        }
        printJson(std::cout, array, true);
        return ExitCode::Ok;
    }
    if (rows.empty()) {
        std::cout << "No images." << std::endl;
        return ExitCode::Ok;
    }
    Table table({"NAME", "OS", "FORMAT", "STATE", "VIRTUAL", "SIZE", "OWNER", "USED-BY"});
    for (const auto& row : rows) {
        std::string state = "-";
        std::string virtualSize = formatBytes(row.get<2>());
        std::string size = formatBytes(row.get<3>());
        std::string used = "-";
        std::string os = "-";
        // An image hangarctl has only the row of (published meanwhile, say) is shown without State and UsedBy.
        if (const Properties* properties = imageProperties(objects, row.get<5>())) {
            state = property<std::string>(*properties, "State", "s").value_or("-");
            if (properties->count("VirtualSizeBytes") != 0)
                virtualSize = sizeText(*properties, "VirtualSizeBytes");
            if (properties->count("SizeBytes") != 0)
                size = sizeText(*properties, "SizeBytes");
            used = std::to_string(usedBy(*properties).size());
            os = property<std::string>(*properties, "OS", "s").value_or("");
            os = os.empty() ? "-" : os;
        }
        table.addRow({row.get<0>(), os, row.get<1>(), state, virtualSize, size, userName(row.get<4>()), used});
    }
    table.print(std::cout);
    std::cout.flush();
    return ExitCode::Ok;
}

ExitCode runImageShow(Context& context, const std::string& name)
{
    try {
        const sdbus::ObjectPath path = context.connection().imagePath(name);
        const ManagedObjects objects = context.connection().manager().GetManagedObjects();
        const Properties properties = readImage(context, objects, path);
        if (context.json())
            printJson(std::cout, toJson(properties, path, vmNames(objects)), true);
        else
            printImage(properties, path, vmNames(objects));
        return ExitCode::Ok;
    } catch (const sdbus::Error& e) {
        return context.reportError("show image '" + name + "'", e);
    }
}

ExitCode runImageDelete(Context& context, const std::vector<std::string>& names)
{
    ExitCode result = ExitCode::Ok;
    nlohmann::json report = nlohmann::json::array();
    context.prepareAuthorizedCall();
    for (const auto& name : names) {
        try {
            ImageProxy image(context.connection().bus(), context.connection().imagePath(name));
            image.Delete(context.authOptions());
            if (context.json())
                report.push_back({{"name", name}, {"ok", true}});
            else
                std::cout << "Deleted image '" << sanitize(name) << "'." << std::endl;
        } catch (const sdbus::Error& e) {
            // Busy names the VMs that still use the image: hangard's message says which.
            result = combine(result, context.reportError("delete image '" + name + "'", e));
            report.push_back({{"name", name}, {"ok", false}, {"error", e.getName()}, {"message", e.getMessage()}});
        }
    }
    if (context.json())
        printJson(std::cout, report, true);
    return result;
}

} // namespace hangar::client
