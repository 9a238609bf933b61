// The fixture the image integration suites share (ImagePublishTest.cpp, ImageVmTest.cpp, ImageImportTest.cpp,
// ImageCliTest.cpp): ImageTest, the real hangard on libvirt's test driver with a client that records every signal
// hangard sends (SignalLog) and Image proxies made on first use; publishing a stopped VM as an image; the files an
// import is tried with (sparse zeros, qcow2 and ISO files made with qemu-img and xorriso).
#pragma once

#include "DaemonFixture.h"
#include "core/Types.h"
#include "hangar/dbus/org.hangar.Hangar1.Image.proxy.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace hangar::it {

using Json = nlohmann::json;
using Interfaces = std::map<std::string, std::map<std::string, sdbus::Variant>>;

inline constexpr const char* kImageInterface = "org.hangar.Hangar1.Image";
inline constexpr const char* kJobInterface = "org.hangar.Hangar1.Job";
inline constexpr const char* kVmInterface = "org.hangar.Hangar1.VM";
inline constexpr const char* kInvalidArgument = "org.hangar.Hangar1.Error.InvalidArgument";

inline bool startsWith(const std::string& text, const std::string& start)
{
    return text.rfind(start, 0) == 0;
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

template <typename Paths> bool hasPath(const Paths& paths, const std::string& path)
{
    return std::any_of(paths.begin(), paths.end(), [&](const auto& p) { return std::string(p) == path; });
}

inline sdbus::Variant text(const char* s)
{
    return sdbus::Variant(std::string(s));
}

inline std::int64_t nowUsec()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One signal hangard sent, as a client subscribed to everything under /org/hangar/Hangar1 saw it.
struct Signal
{
    std::string member;    // InterfacesAdded, InterfacesRemoved, Completed, PropertiesChanged
    std::string path;      // the object it is about (for InterfacesAdded/Removed, the one named in the body)
    std::string interface; // PropertiesChanged: whose properties changed
    Interfaces added;      // InterfacesAdded: the interfaces with all their properties
    std::vector<std::string> removed;
    std::map<std::string, sdbus::Variant> changed;
    bool success = false; // Completed
    std::string message;
};

// Every signal from hangard's objects, in the order they arrived. One match rule on the connection, subscribed
// before the calls: a job that ends at once cannot end unseen, and InterfacesAdded still carries the properties of
// an object that is gone by the time a client could ask for them.
class SignalLog
{
public:
    explicit SignalLog(sdbus::IConnection& connection)
        : m_slot(connection.addMatch("type='signal',path_namespace='/org/hangar/Hangar1'",
                                     [this](sdbus::Message& message) { record(message); }))
    {}

    // Index of the first signal `member` about `path`, if any.
    std::optional<std::size_t> indexOf(const std::string& member, const std::string& path) const
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t i = 0; i < m_signals.size(); ++i)
            if (m_signals[i].member == member && m_signals[i].path == path)
                return i;
        return std::nullopt;
    }

    std::optional<Signal> find(const std::string& member, const std::string& path) const
    {
        std::lock_guard lock(m_mutex);
        for (const auto& s : m_signals)
            if (s.member == member && s.path == path)
                return s;
        return std::nullopt;
    }

    // Every value the property took in PropertiesChanged, in order.
    template <typename T>
    std::vector<T> valuesOf(const std::string& path, const std::string& interface, const std::string& property) const
    {
        std::lock_guard lock(m_mutex);
        std::vector<T> values;
        for (const auto& s : m_signals)
            if (s.member == "PropertiesChanged" && s.path == path && s.interface == interface)
                if (auto it = s.changed.find(property); it != s.changed.end())
                    values.push_back(it->second.get<T>());
        return values;
    }

    // Paths of objects announced with InterfacesAdded whose path starts with prefix.
    std::vector<std::string> addedUnder(const std::string& prefix) const
    {
        std::lock_guard lock(m_mutex);
        std::vector<std::string> paths;
        for (const auto& s : m_signals)
            if (s.member == "InterfacesAdded" && startsWith(s.path, prefix))
                paths.push_back(s.path);
        return paths;
    }

private:
    void record(sdbus::Message& message)
    {
        Signal s;
        s.member = message.getMemberName();
        s.path = message.getPath();
        const std::string interface = message.getInterfaceName();
        if (interface == "org.freedesktop.DBus.ObjectManager" && s.member == "InterfacesAdded") {
            sdbus::ObjectPath path;
            message >> path >> s.added;
            s.path = path;
        } else if (interface == "org.freedesktop.DBus.ObjectManager" && s.member == "InterfacesRemoved") {
            sdbus::ObjectPath path;
            message >> path >> s.removed;
            s.path = path;
        } else if (interface == kJobInterface && s.member == "Completed") {
            message >> s.success >> s.message;
        } else if (interface == "org.freedesktop.DBus.Properties" && s.member == "PropertiesChanged") {
            std::vector<std::string> invalidated;
            message >> s.interface >> s.changed >> invalidated;
        } else {
            return;
        }
        std::lock_guard lock(m_mutex);
        m_signals.push_back(std::move(s));
    }

    mutable std::mutex m_mutex;
    std::vector<Signal> m_signals;
    sdbus::Slot m_slot;
};

class ImageClient final : public sdbus::ProxyInterfaces<org::hangar::Hangar1::Image_proxy, sdbus::Properties_proxy>
{
public:
    ImageClient(sdbus::IConnection& connection, const std::string& path)
        : ProxyInterfaces(connection, "org.hangar.Hangar1", path)
    {
        registerProxy();
    }
    ~ImageClient() { unregisterProxy(); }

private:
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override
    {} // SignalLog records them
};

// A file descriptor owned by the test, closed when it goes.
class Fd
{
public:
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd()
    {
        if (m_fd >= 0)
            close(m_fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

class ImageTest : public ConnectedDaemonFixture
{
protected:
    std::string file(const std::string& name) const { return dir.path() + "/" + name; }

    // Subscribed before the Manager proxy exists; gone with the image proxies once the event loop has stopped.
    void onConnected() override { signals = std::make_unique<SignalLog>(*connection); }
    void onDisconnected() override
    {
        images.clear();
        signals.reset();
    }
    void restartDaemon()
    {
        disconnect();
        ASSERT_EQ(daemon->stop(), 0) << "SIGTERM must stop hangard cleanly";
        daemon.reset();
        startDaemon();
    }

    ImageClient& image(const std::string& path)
    {
        auto& slot = images[path];
        if (!slot)
            slot = std::make_unique<ImageClient>(*connection, path);
        return *slot;
    }

    // VM.Publish and wait for its job's Completed; the image's path.
    std::string publish(const std::string& vmPath, const std::string& imageName)
    {
        const std::string job = vm(vmPath).Publish(imageName, {});
        const bool ended = waitFor([&] { return signals->find("Completed", job).has_value(); });
        EXPECT_TRUE(ended) << "no Completed from " << job;
        if (ended) {
            const auto completed = *signals->find("Completed", job);
            EXPECT_TRUE(completed.success) << completed.message;
        }
        return manager->GetImage(imageName);
    }

    // A stopped VM published as image `name`: what VMs in these tests are made from.
    std::string goldenImage(const std::string& name = "golden", std::uint64_t diskGiB = 2)
    {
        const std::string base = create("base-of-" + name, {{"disk_gib", sdbus::Variant(diskGiB)}});
        return publish(base, name);
    }

    std::vector<std::string> managedPathsUnder(const std::string& prefix)
    {
        std::vector<std::string> paths;
        for (const auto& [path, interfaces] : manager->GetManagedObjects())
            if (startsWith(path, prefix))
                paths.push_back(path);
        return paths;
    }

    // ---- files to import -------------------------------------------------------------------------------------

    // A sparse file of zeros: a raw image when its size is a multiple of 512.
    std::string zeros(const std::string& name, off_t bytes)
    {
        const std::string path = file(name);
        std::ofstream{path};
        EXPECT_EQ(truncate(path.c_str(), bytes), 0);
        return path;
    }
    std::string qcow2(const std::string& name, const std::vector<std::string>& extra = {})
    {
        const std::string path = file(name);
        std::vector<std::string> argv{"qemu-img", "create", "-q", "-f", "qcow2"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.insert(argv.end(), {path, "64M"});
        const RunResult r = run(argv);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return path;
    }
    std::string iso(const std::string& name)
    {
        const std::string content = file(name + ".d");
        std::filesystem::create_directories(content);
        std::ofstream(content + "/README") << "an installer\n";
        const std::string path = file(name);
        const RunResult r = run({"xorriso", "-as", "mkisofs", "-quiet", "-V", "TEST", "-o", path, content});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return path;
    }

    std::string importError(const std::string& name, int fd, const Dict& options, std::string* message)
    {
        return errorOf([&] { manager->ImportImage(name, sdbus::UnixFd(fd), options); }, message);
    }

    std::unique_ptr<SignalLog> signals;
    std::map<std::string, std::unique_ptr<ImageClient>> images;
};

} // namespace hangar::it
