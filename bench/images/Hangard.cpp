#include "Hangard.h"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace hangar::bench::images {
namespace {

constexpr const char* kService = "org.hangar.Hangar1";
constexpr const char* kManagerPath = "/org/hangar/Hangar1";
constexpr const char* kManager = "org.hangar.Hangar1.Manager";
constexpr const char* kVm = "org.hangar.Hangar1.VM";
constexpr const char* kImage = "org.hangar.Hangar1.Image";
constexpr const char* kJob = "org.hangar.Hangar1.Job";

class Fd
{
public:
    explicit Fd(const std::string& path) : m_fd(open(path.c_str(), O_RDONLY | O_CLOEXEC))
    {
        if (m_fd < 0)
            throw std::runtime_error("cannot open " + path);
    }
    ~Fd() { close(m_fd); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

} // namespace

Hangard::Hangard(const std::string& hangard, const std::string& busAddress, const std::string& libvirtUri,
                 const std::string& dir)
    : m_dir(dir)
{
    std::filesystem::create_directories(dir);
    NotifySocket notify(dir + "/hangard.notify");
    const auto started = Clock::now();
    m_process = std::make_unique<Child>(
        std::vector<std::string>{hangard, "--bus=" + busAddress, "--hypervisor=" + libvirtUri,
                                 "--state-dir=" + dir + "/state", "--config=/nonexistent", "--authorizer=allow-all"},
        std::map<std::string, std::string>{{"NOTIFY_SOCKET", notify.path()}}, dir + "/hangard.log");
    if (!notify.waitReady(std::chrono::minutes(2), [this] { return m_process->running(); }))
        throw std::runtime_error("hangard did not report READY=1:\n" + tail(log(), 20));
    m_startup = Clock::now() - started;
    m_bus = std::make_unique<Bus>(busAddress);
    m_bus->matchSignal(nullptr, nullptr, kJob, "Completed", [this](sd_bus_message* m) {
        int success = 0;
        const char* message = nullptr;
        check(sd_bus_message_read(m, "bs", &success, &message), "read Completed");
        m_completed[sd_bus_message_get_path(m)] = {success != 0, message ? message : "", Clock::now()};
    });
}

Hangard::~Hangard()
{
    m_bus.reset();
    m_process->stop(SIGTERM, std::chrono::seconds(30));
}

std::string Hangard::log() const
{
    return readFile(m_dir + "/hangard.log");
}

Hangard::Import Hangard::importImage(const std::string& name, const std::string& path, std::chrono::seconds deadline)
{
    const Fd file(path);
    auto call = m_bus->newCall(kService, kManagerPath, kManager, "ImportImage");
    check(sd_bus_message_append(call.get(), "sha{sv}", name.c_str(), file.get(), 1, "format", "s", "raw"),
          "append ImportImage");
    const auto started = Clock::now();
    const std::string job = readString(m_bus->call(call.get()).get(), 'o');
    if (!m_bus->processUntil([&] { return m_completed.count(job) > 0; }, deadline))
        throw std::runtime_error("the import of " + name + " did not complete within " +
                                 std::to_string(deadline.count()) + " s");
    const Completion done = m_completed.at(job);
    if (!done.success)
        throw std::runtime_error("the import of " + name + " failed: " + done.message);
    auto get = m_bus->newCall(kService, kManagerPath, kManager, "GetImage");
    check(sd_bus_message_append(get.get(), "s", name.c_str()), "append GetImage");
    return {readString(m_bus->call(get.get()).get(), 'o'), done.at - started};
}

std::string Hangard::startImport(const std::string& name, const std::string& path)
{
    const Fd file(path);
    auto call = m_bus->newCall(kService, kManagerPath, kManager, "ImportImage");
    check(sd_bus_message_append(call.get(), "sha{sv}", name.c_str(), file.get(), 1, "format", "s", "raw"),
          "append ImportImage");
    return readString(m_bus->call(call.get()).get(), 'o');
}

bool Hangard::importDone(const std::string& job)
{
    m_bus->processUntil([] { return false; }, std::chrono::milliseconds(0));
    const auto it = m_completed.find(job);
    if (it == m_completed.end())
        return false;
    if (!it->second.success)
        throw std::runtime_error("the import job " + job + " failed: " + it->second.message);
    return true;
}

Hangard::Created Hangard::createBlankVm(const std::string& name, std::uint64_t diskGiB)
{
    auto call = m_bus->newCall(kService, kManagerPath, kManager, "CreateVM");
    check(sd_bus_message_append(call.get(), "sa{sv}", name.c_str(), 3, "vcpus", "u", std::uint32_t{1}, "memory_mib",
                                "t", std::uint64_t{512}, "disk_gib", "t", diskGiB),
          "append CreateVM");
    const auto started = Clock::now();
    auto reply = m_bus->call(call.get());
    const auto took = Clock::now() - started;
    return {readString(reply.get(), 'o'), took};
}

Hangard::Created Hangard::createVm(const std::string& name, const std::string& image)
{
    auto call = m_bus->newCall(kService, kManagerPath, kManager, "CreateVM");
    check(sd_bus_message_append(call.get(), "sa{sv}", name.c_str(), 3, "vcpus", "u", std::uint32_t{1}, "memory_mib",
                                "t", std::uint64_t{512}, "image", "s", image.c_str()),
          "append CreateVM");
    const auto started = Clock::now();
    auto reply = m_bus->call(call.get());
    const auto took = Clock::now() - started;
    return {readString(reply.get(), 'o'), took};
}

Clock::duration Hangard::deleteVm(const std::string& path)
{
    auto call = m_bus->newCall(kService, path.c_str(), kVm, "Delete");
    check(sd_bus_message_append(call.get(), "a{sv}", 0), "append Delete");
    const auto started = Clock::now();
    m_bus->call(call.get());
    return Clock::now() - started;
}

std::string Hangard::imagePath(const std::string& name)
{
    auto get = m_bus->newCall(kService, kManagerPath, kManager, "GetImage");
    check(sd_bus_message_append(get.get(), "s", name.c_str()), "append GetImage");
    return readString(m_bus->call(get.get()).get(), 'o');
}

void Hangard::deleteImage(const std::string& path)
{
    auto call = m_bus->newCall(kService, path.c_str(), kImage, "Delete");
    check(sd_bus_message_append(call.get(), "a{sv}", 0), "append Delete");
    m_bus->call(call.get());
}

} // namespace hangar::bench::images
