// Every a{sv} key hangard accepts is documented in the comments of dbus/*.xml (issue 15, item 7), which
// scripts/dbus-doc.py turns into docs/api.md and org.hangar.Hangar1(5). The accepted keys are not copied into the
// test: each method that takes a dictionary is called on the real hangard with a key that no method accepts, and its
// InvalidArgument names the keys that method's validation allows ("unknown spec key 'x'; allowed keys: a, b"). So the
// source of truth is the validation code itself, and a method or key added later is checked without a change here.
// The documented keys come from `dbus-doc.py --keys`, the same parser that writes the documentation.
#include "CliFixture.h"

using namespace hangar::it;

namespace {

constexpr const char* kBogus = "zz.undocumented";

// The keys after "allowed keys: " in hangard's message, or nullopt when it is no such message.
std::optional<std::set<std::string>> allowedKeys(const std::string& message)
{
    const std::string marker = "allowed keys: ";
    const auto at = message.find(marker);
    if (at == std::string::npos || !contains(message, kBogus))
        return std::nullopt;
    std::set<std::string> keys;
    std::istringstream in(message.substr(at + marker.size()));
    for (std::string key; std::getline(in, key, ',');) {
        key.erase(0, key.find_first_not_of(' '));
        keys.insert(key);
    }
    return keys;
}

class ApiDocKeysTest : public CliTest
{
protected:
    // An object of each interface for the methods to be called on.
    std::map<std::string, std::string> objects()
    {
        create("probe");
        create("probe-source");
        EXPECT_EQ(ctl({"publish", "probe-source", "probe-image"}).exitCode, 0);
        return {{"org.hangar.Hangar1.Manager", "/org/hangar/Hangar1"},
                {"org.hangar.Hangar1.VM", ctlJson({"status", "probe"}).value("ObjectPath", "")},
                {"org.hangar.Hangar1.Image", ctlJson({"image", "show", "probe-image"}).value("ObjectPath", "")}};
    }

    // Calls method with plausible arguments and dict as every a{sv}; the error's name and message ("" on success).
    std::pair<std::string, std::string> call(sdbus::IProxy& proxy, const std::string& iface, const std::string& method,
                                             const Json& in, const std::map<std::string, sdbus::Variant>& dict)
    {
        auto message = proxy.createMethodCall(iface, method);
        for (const auto& arg : in) {
            const std::string type = arg[0].get<std::string>();
            if (type == "a{sv}")
                message << dict;
            else if (type == "s")
                message << std::string("probe-new");
            else if (type == "u")
                message << static_cast<std::uint32_t>(geteuid());
            else if (type == "t")
                message << std::uint64_t{0};
            else if (type == "b")
                message << false;
            else if (type == "as") // a valid argv (Exec) and a valid package list (InstallPackages)
                message << std::vector<std::string>{"true"};
            else if (type == "o")
                message << sdbus::ObjectPath("/");
            else if (type == "h")
                message << sdbus::UnixFd(m_null);
            else
                ADD_FAILURE() << iface << "." << method << ": the test has no value for an argument of type " << type;
        }
        try {
            proxy.callMethod(message);
        } catch (const sdbus::Error& e) {
            return {e.getName(), e.getMessage()};
        }
        return {};
    }

    void SetUp() override
    {
        CliTest::SetUp();
        m_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    void TearDown() override
    {
        close(m_null);
        CliTest::TearDown();
    }

    int m_null = -1;
};

TEST_F(ApiDocKeysTest, EveryKeyHangardAcceptsIsDocumentedInTheInterfaceXml)
{
    const RunResult keys =
        run({"/usr/bin/python3", HANGAR_SOURCE_DIR "/scripts/dbus-doc.py", "--keys", HANGAR_SOURCE_DIR "/dbus"});
    ASSERT_EQ(keys.exitCode, 0) << keys.err;
    const Json documented = Json::parse(keys.out);
    const auto paths = objects();
    auto connection = sdbus::createSessionBusConnectionWithAddress(bus->address());

    std::size_t probed = 0;
    for (const auto& [qualified, method] : documented.items()) {
        if (qualified == "*")
            continue;
        const std::string iface = qualified.substr(0, qualified.rfind('.'));
        const std::string name = qualified.substr(qualified.rfind('.') + 1);
        bool takesDict = false;
        for (const auto& arg : method["in"])
            takesDict = takesDict || arg[0] == "a{sv}";
        if (!takesDict)
            continue;
        const auto path = paths.find(iface);
        if (path == paths.end()) {
            // A Job exists only while an import or publish runs; Job.Cancel reads its options with readOptions(),
            // the code every auth-only method (VM.Start, ...) uses, which is probed here.
            EXPECT_EQ(iface, "org.hangar.Hangar1.Job") << "no object of " << iface << " to call " << name << " on";
            continue;
        }
        auto proxy = sdbus::createProxy(*connection, "org.hangar.Hangar1", path->second);

        std::vector<std::pair<std::string, std::map<std::string, sdbus::Variant>>> dicts{
            {"", {{kBogus, sdbus::Variant(true)}}}};
        // Dictionaries inside the dictionary (CreateVM's users and write_files) have keys of their own.
        for (const auto& [key, type] : method["keys"].items()) {
            if (type == "aa{sv}")
                dicts.push_back({key,
                                 {{key, sdbus::Variant(std::vector<std::map<std::string, sdbus::Variant>>{
                                            {{kBogus, sdbus::Variant(true)}}})}}});
        }
        for (auto& [nested, dict] : dicts) {
            auto [error, message] = call(*proxy, iface, name, method["in"], dict);
            // A nested dictionary may require a key before it looks at the others ("users[0]: the key 'name' is
            // required"): give it one, a string, and ask again.
            const std::regex required("the key '([a-z_]+)' is required");
            std::smatch match;
            for (int tries = 0; tries < 3 && !nested.empty() && std::regex_search(message, match, required); ++tries) {
                auto& inner = dict[nested];
                auto list = inner.get<std::vector<std::map<std::string, sdbus::Variant>>>();
                list[0][match[1].str()] = sdbus::Variant(std::string("/probe"));
                inner = sdbus::Variant(list);
                std::tie(error, message) = call(*proxy, iface, name, method["in"], dict);
            }
            const auto allowed = allowedKeys(message);
            ASSERT_TRUE(allowed.has_value())
                << qualified << (nested.empty() ? "" : " (" + nested + ")")
                << ": expected InvalidArgument naming the allowed keys, got " << error << ": " << message;
            for (const auto& key : *allowed) {
                EXPECT_TRUE(method["keys"].contains(key) || documented["*"].contains(key))
                    << qualified << " accepts key '" << key << "'" << (nested.empty() ? "" : " in " + nested)
                    << ", which its comment in dbus/" << iface << ".xml does not document as `" << key
                    << "  TYPE  meaning`";
            }
            ++probed;
        }
    }
    EXPECT_GE(probed, 15u) << "the methods with a{sv} arguments were not found in dbus-doc.py --keys";
}

TEST_F(ApiDocKeysTest, AnUndocumentedKeyWouldBeFound)
{
    // The check above, on a dictionary the daemon reads with a key the documentation lacks: what makes it fail.
    const auto allowed = allowedKeys(std::string("unknown spec key '") + kBogus + "'; allowed keys: vcpus, warp");
    ASSERT_TRUE(allowed.has_value());
    const RunResult keys =
        run({"/usr/bin/python3", HANGAR_SOURCE_DIR "/scripts/dbus-doc.py", "--keys", HANGAR_SOURCE_DIR "/dbus"});
    const Json createVm = Json::parse(keys.out)["org.hangar.Hangar1.Manager.CreateVM"]["keys"];
    EXPECT_TRUE(createVm.contains("vcpus"));
    EXPECT_FALSE(createVm.contains("warp"));
}

} // namespace
