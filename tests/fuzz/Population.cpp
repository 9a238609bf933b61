// The real objects the fuzzer calls: discovered through Introspect (the manager and every child node, recursively),
// kept alive (a running VM, a stopped VM with a snapshot, an image published from a VM, a job while one lives), and
// the inventory settled before it becomes the reference a refused call is compared with.
#include "FuzzSession.h"

#include <filesystem>
#include <iostream>
#include <thread>

namespace hangar::fuzz {

namespace {

using Dict = std::map<std::string, sdbus::Variant>;
constexpr std::size_t kMaxVms = 24; // beyond this, VMs the fuzzer made by chance are deleted again
constexpr std::size_t kMaxImages = 6;

bool ours(const std::string& interface)
{
    return interface.rfind("org.hangar.Hangar1.", 0) == 0 || interface == kProperties;
}

} // namespace

sdbus::IProxy& FuzzSession::proxy(const std::string& path)
{
    auto& slot = m_proxies[path];
    if (!slot)
        slot = sdbus::createProxy(*m_connection, kService, path);
    return *slot;
}

Inventory FuzzSession::inventory()
{
    return readInventory(proxy(kManagerPath), m_config.callTimeout);
}

std::optional<std::string> FuzzSession::simpleCall(const std::string& path, const std::string& interface,
                                                   const std::string& member,
                                                   const std::function<void(sdbus::MethodCall&)>& args)
{
    auto& p = proxy(path);
    auto call = p.createMethodCall(interface, member);
    args(call);
    try {
        auto reply =
            p.callMethod(call, static_cast<std::uint64_t>(std::chrono::microseconds(m_config.callTimeout).count()));
        std::string type, contents;
        reply.peekType(type, contents);
        std::string out = "ok";
        if (type == "o") {
            sdbus::ObjectPath o;
            reply >> o;
            out = o;
        }
        return out;
    } catch (const sdbus::Error& e) {
        m_setupError = e.getName();
        std::cerr << "fuzz: setting up, " << interface << "." << member << " on " << path << ": " << e.getName() << ": "
                  << e.getMessage() << "\n";
        return std::nullopt;
    }
}

void FuzzSession::discover()
{
    // Introspect from the manager down; every interface seen goes into the catalogue (the XML files put the ones
    // with no live object there, e.g. Job), every object under the interfaces it has.
    m_implementers.clear();
    std::vector<std::string> todo{kManagerPath};
    while (!todo.empty()) {
        const std::string path = todo.back();
        todo.pop_back();
        std::string text;
        try {
            auto& p = proxy(path);
            auto call = p.createMethodCall("org.freedesktop.DBus.Introspectable", "Introspect");
            auto reply =
                p.callMethod(call, static_cast<std::uint64_t>(std::chrono::microseconds(m_config.callTimeout).count()));
            reply >> text;
        } catch (const sdbus::Error&) {
            continue; // gone meanwhile (a job)
        }
        const Node node = parseIntrospection(text);
        for (const auto& iface : node.interfaces) {
            if (!ours(iface.name))
                continue;
            m_catalogue[iface.name] = iface;
            m_implementers[iface.name].push_back(path);
        }
        for (const auto& child : node.children)
            todo.push_back(path == "/" ? "/" + child : path + "/" + child);
    }
}

void FuzzSession::updatePools()
{
    m_pools.objectPaths = m_reference.paths();
    m_pools.objectPaths.push_back(kManagerPath);
    m_pools.names = m_reference.names();
    m_pools.interfaces.clear();
    m_pools.members.clear();
    for (const auto& [name, iface] : m_catalogue) {
        m_pools.interfaces.push_back(name);
        for (const auto& m : iface.methods)
            m_pools.members.push_back(m.name);
        for (const auto& p : iface.properties)
            m_pools.members.push_back(p.name);
    }
}

void FuzzSession::settle()
{
    // A success may still be on its way (a job finishing, a state passing): wait, with a deadline, until nothing
    // moves and two reads agree, then take that as the reference.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto read = [this](Inventory& into) {
        try {
            into = inventory();
            return true;
        } catch (const sdbus::Error& e) {
            unreadable(e.getName() + ": " + e.getMessage(), "while settling");
            return false;
        }
    };
    Inventory last;
    bool haveLast = read(last);
    if (haveLast && !m_dirty && !last.moving() && last == m_reference) {
        updatePools();
        return; // most successes are reads: nothing moved
    }
    for (;;) {
        if (haveLast)
            for (const auto& job : last.jobs)
                burstOn(job, 4);
        Inventory now;
        const bool haveNow = read(now);
        if (haveNow && haveLast && !now.moving() && now == last) {
            m_reference = now;
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            std::cerr << "fuzz: the inventory did not settle within 15 s; going on with it as it is\n";
            if (haveNow)
                m_reference = now;
            m_dirty = !haveNow; // no reference to compare with until a read works again
            updatePools();
            return;
        }
        last = now;
        haveLast = haveNow;
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the poll interval of a wait with a deadline
    }
    m_dirty = false;
    updatePools();
}

void FuzzSession::populate()
{
    // Keep the objects worth calling: a running VM, a stopped VM with a snapshot, an image. A seed the caller may
    // not make (a guest publishing) is not tried again; any other failure is, at the next batch.
    const std::string vm = "org.hangar.Hangar1.VM";
    const auto options = [](sdbus::MethodCall& c) { c << Dict{}; };
    auto fresh = [this](const std::string& what) {
        return m_config.namePrefix + "-" + what + "-" + std::to_string(++m_created);
    };
    auto create = [&](const std::string& name) {
        const Dict spec{{"memory_mib", sdbus::Variant(std::uint64_t{128})},
                        {"disk_gib", sdbus::Variant(std::uint64_t{1})}};
        auto path = simpleCall(kManagerPath, "org.hangar.Hangar1.Manager", "CreateVM",
                               [&](sdbus::MethodCall& c) { c << name << spec; });
        if (!path && m_setupError == "org.hangar.Hangar1.Error.QuotaExceeded") {
            // A generated SetQuota succeeded on the fuzzer's own uid (max_vms 0...): reset it and try again.
            simpleCall(kManagerPath, "org.hangar.Hangar1.Manager", "SetQuota", [&](sdbus::MethodCall& c) {
                c << m_pools.ownUid << Dict{{"reset", sdbus::Variant(true)}};
            });
            path = simpleCall(kManagerPath, "org.hangar.Hangar1.Manager", "CreateVM",
                              [&](sdbus::MethodCall& c) { c << name << spec; });
        }
        return path;
    };
    auto seed = [&](const std::string& kind, const std::function<bool()>& make) {
        if (m_cannotSeed.count(kind))
            return false;
        m_setupError.clear();
        if (make())
            return true;
        if (m_setupError == "org.hangar.Hangar1.Error.PermissionDenied")
            m_cannotSeed.insert(kind);
        return false;
    };

    bool changed = false;
    if (m_reference.withState(vm, "running").empty())
        changed |= seed("running", [&] {
            auto path = create(fresh("run"));
            return path && simpleCall(*path, vm, "Start", options).has_value();
        });
    bool haveSnapshot = false;
    for (const auto& path : m_reference.withState(vm, "stopped"))
        haveSnapshot = haveSnapshot || m_reference.objects.at(path).at(vm + ".Snapshots") != "[]";
    if (!haveSnapshot)
        changed |= seed("snapshot", [&] {
            auto path = create(fresh("stopped"));
            return path && simpleCall(*path, vm, "CreateSnapshot", [](sdbus::MethodCall& c) {
                               c << std::string("snap") << Dict{};
                           }).has_value();
        });
    bool haveImage = false;
    for (const auto& [path, props] : m_reference.objects)
        haveImage = haveImage || props.count("org.hangar.Hangar1.Image.Name");
    if (!haveImage)
        changed |= seed("image", [&] {
            const auto stopped = m_reference.withState(vm, "stopped");
            std::optional<std::string> source = stopped.empty() ? create(fresh("source")) : stopped.front();
            return source && simpleCall(*source, vm, "Publish", [&](sdbus::MethodCall& c) {
                                 c << fresh("img") << Dict{};
                             }).has_value();
        });

    // Too many objects make every GetManagedObjects slow: delete what the fuzzer made by chance.
    std::size_t vms = 0, images = 0;
    for (const auto& [path, props] : m_reference.objects) {
        const bool isVm = props.count(vm + ".Name"), isImage = props.count("org.hangar.Hangar1.Image.Name");
        vms += isVm;
        images += isImage;
        if ((isVm && vms > kMaxVms) || (isImage && images > kMaxImages)) {
            const std::string iface = isVm ? vm : "org.hangar.Hangar1.Image";
            changed |= simpleCall(path, iface, "Delete", [](sdbus::MethodCall& c) {
                           c << Dict{{"force", sdbus::Variant(true)}};
                       }).has_value();
        }
    }
    if (changed) {
        m_dirty = true;
        settle();
        discover();
    }
}

} // namespace hangar::fuzz
