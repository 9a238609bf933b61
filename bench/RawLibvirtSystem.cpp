#include "RawLibvirtSystem.h"

#include "Domains.h"

#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>

namespace hangar::bench {
namespace {

[[noreturn]] void fail(const std::string& what)
{
    const virErrorPtr e = virGetLastError();
    throw std::runtime_error(what + ": " + (e && e->message ? e->message : "unknown libvirt error"));
}

void silenceLibvirtErrors(void*, virErrorPtr) {}

struct Free
{
    void operator()(virDomainPtr* p) const { free(p); } // NOLINT(cppcoreguidelines-no-malloc): libvirt's array
};

std::vector<DomainPtr> listAllDomains(virConnectPtr conn)
{
    virDomainPtr* domains = nullptr;
    const int count = virConnectListAllDomains(conn, &domains, 0);
    if (count < 0)
        fail("virConnectListAllDomains");
    const std::unique_ptr<virDomainPtr, Free> array(domains);
    std::vector<DomainPtr> owned;
    owned.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
        owned.emplace_back(domains[i]);
    return owned;
}

class RawClient final : public Client
{
public:
    RawClient() : m_conn(openTestDriver()) {}
    void start(std::size_t vm) override
    {
        if (virDomainCreate(domain(vm)) < 0)
            fail("virDomainCreate");
    }
    void stop(std::size_t vm) override
    {
        if (virDomainDestroy(domain(vm)) < 0)
            fail("virDomainDestroy");
    }

protected:
    virDomainPtr domain(std::size_t vm)
    {
        auto& d = m_domains[vm];
        if (!d) {
            d.reset(virDomainLookupByUUIDString(m_conn.get(), domainUuid(vm).c_str()));
            if (!d)
                fail("virDomainLookupByUUIDString");
        }
        return d.get();
    }

    ConnectPtr m_conn;
    std::map<std::size_t, DomainPtr> m_domains;
};

class RawWatcher final : public Watcher
{
public:
    RawWatcher() : m_conn(openTestDriver())
    {
        m_callback = virConnectDomainEventRegisterAny(m_conn.get(), nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                      VIR_DOMAIN_EVENT_CALLBACK(onEvent), this, nullptr);
        if (m_callback < 0)
            fail("virConnectDomainEventRegisterAny");
    }
    ~RawWatcher() override { virConnectDomainEventDeregisterAny(m_conn.get(), m_callback); }

    Clock::duration changeSeen(std::size_t vm, bool running, bool& signalBeforeReply) override
    {
        DomainPtr d(virDomainLookupByUUIDString(m_conn.get(), domainUuid(vm).c_str()));
        if (!d)
            fail("virDomainLookupByUUIDString");
        {
            std::lock_guard lock(m_mutex);
            m_watched = domainUuid(vm);
            m_want = running ? VIR_DOMAIN_EVENT_STARTED : VIR_DOMAIN_EVENT_STOPPED;
            m_seen.reset();
        }
        const auto sent = Clock::now();
        if ((running ? virDomainCreate(d.get()) : virDomainDestroy(d.get())) < 0)
            fail(running ? "virDomainCreate" : "virDomainDestroy");
        const auto returned = Clock::now();
        std::unique_lock lock(m_mutex);
        if (!m_changed.wait_for(lock, std::chrono::seconds(30), [this] { return m_seen.has_value(); }))
            throw std::runtime_error("no lifecycle event within 30 s");
        signalBeforeReply = *m_seen < returned;
        return *m_seen - sent;
    }

private:
    static int onEvent(virConnectPtr, virDomainPtr dom, int event, int, void* opaque)
    {
        const auto now = Clock::now();
        auto* self = static_cast<RawWatcher*>(opaque);
        std::array<char, VIR_UUID_STRING_BUFLEN> uuid{};
        virDomainGetUUIDString(dom, uuid.data());
        std::lock_guard lock(self->m_mutex);
        if (!self->m_seen && event == self->m_want && self->m_watched == uuid.data()) {
            self->m_seen = now;
            self->m_changed.notify_all();
        }
        return 0;
    }

    ConnectPtr m_conn;
    int m_callback = -1;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::string m_watched;
    int m_want = 0;
    std::optional<Clock::time_point> m_seen;
};

} // namespace

ConnectPtr openTestDriver()
{
    ConnectPtr conn(virConnectOpen("test:///default"));
    if (!conn)
        fail("virConnectOpen(test:///default)");
    return conn;
}

RawLibvirtSystem::RawLibvirtSystem()
{
    virSetErrorFunc(nullptr, silenceLibvirtErrors);
    if (virEventRegisterDefaultImpl() < 0)
        fail("virEventRegisterDefaultImpl");
    m_eventThread = std::thread([this] {
        while (!m_stopEvents)
            virEventRunDefaultImpl();
    });
    m_conn = openTestDriver();
    DomainPtr builtin(virDomainLookupByName(m_conn.get(), "test"));
    if (builtin) { // the test driver's own domain: removed, so this system holds exactly the N
        virDomainDestroy(builtin.get());
        virDomainUndefine(builtin.get());
    }
}

RawLibvirtSystem::~RawLibvirtSystem()
{
    m_conn.reset();
    m_stopEvents = true;
    // Wakes the event loop once so the thread sees the flag.
    virEventAddTimeout(
        0, [](int timer, void*) { virEventRemoveTimeout(timer); }, nullptr, nullptr);
    m_eventThread.join();
}

void RawLibvirtSystem::reset()
{
    for (const auto& d : listAllDomains(m_conn.get())) {
        if (virDomainIsActive(d.get()) == 1)
            virDomainDestroy(d.get());
        virDomainUndefine(d.get());
    }
    m_size = 0;
}

bool RawLibvirtSystem::populate(std::size_t n, Clock::time_point deadline)
{
    for (; m_size < n; ++m_size) {
        if (Clock::now() >= deadline)
            return false;
        DomainPtr d(virDomainDefineXML(m_conn.get(), domainXml(m_size).c_str()));
        if (!d)
            fail("virDomainDefineXML");
    }
    return true;
}

std::vector<VmInfo> RawLibvirtSystem::readInventory()
{
    const auto owned = listAllDomains(m_conn.get());
    std::vector<VmInfo> vms;
    vms.reserve(owned.size());
    for (const auto& d : owned) {
        VmInfo vm;
        vm.name = virDomainGetName(d.get());
        std::array<char, VIR_UUID_STRING_BUFLEN> uuid{};
        virDomainGetUUIDString(d.get(), uuid.data());
        vm.uuid = uuid.data();
        virDomainInfo info{};
        if (virDomainGetInfo(d.get(), &info) < 0)
            fail("virDomainGetInfo");
        vm.state = stateName(info.state);
        vm.vcpus = info.nrVirtCpu;
        vm.memoryMiB = info.maxMem / 1024;
        vms.push_back(std::move(vm));
    }
    return vms;
}

std::unique_ptr<Client> RawLibvirtSystem::connect()
{
    return std::make_unique<RawClient>();
}

std::unique_ptr<Watcher> RawLibvirtSystem::watch()
{
    return std::make_unique<RawWatcher>();
}

} // namespace hangar::bench
