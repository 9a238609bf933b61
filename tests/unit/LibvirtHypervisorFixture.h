// The common ground of LibvirtHypervisor's tests against libvirt's built-in test driver (LibvirtDomainTest,
// LibvirtEventsTest, LibvirtGuestTest, LibvirtSnapshotTest, and tests/libvirtd/). test:///default keeps its state per
// process for as long as one connection to it is open, so each test holds its own raw connection (for checks the
// Hypervisor interface does not offer) and uses fresh UUIDs; what a test defines it undefines.
#pragma once

#include "core/Error.h"
#include "unit/ErrorTestSupport.h"
#include "virt/LibvirtConnection.h"
#include "virt/LibvirtHypervisor.h"
#include "virt/LibvirtSupport.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hangar::virt {

using testing::errorOf;
using namespace std::chrono_literals;
inline constexpr auto kDeadline = 10s;
inline constexpr const char* kTestUri = "test:///default";
inline constexpr const char* kTestPool = "default-pool"; // test:///default comes with it

inline std::string freshUuid()
{
    std::ifstream in("/proc/sys/kernel/random/uuid");
    std::string uuid;
    in >> uuid;
    return uuid;
}

// Stands in for the daemon's loop: closures posted from any thread wait in a queue and run only when the test
// thread drains it, so the test thread plays the loop thread.
class FakeLoop
{
public:
    std::function<void(std::function<void()>)> poster()
    {
        return [this](std::function<void()> fn) {
            {
                const std::lock_guard lock(m_mutex);
                m_queue.push_back(std::move(fn));
            }
            m_posted.notify_all();
        };
    }

    // Runs posted closures on this thread until done() holds. False if the deadline passes first.
    bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = kDeadline)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            std::function<void()> fn;
            {
                std::unique_lock lock(m_mutex);
                if (!m_posted.wait_until(lock, deadline, [this] { return !m_queue.empty(); }))
                    return done();
                fn = std::move(m_queue.front());
                m_queue.pop_front();
            }
            fn();
        }
        return true;
    }

    // Waits (without running anything) until at least n closures are queued.
    bool waitForPending(std::size_t n)
    {
        std::unique_lock lock(m_mutex);
        return m_posted.wait_for(lock, kDeadline, [&] { return m_queue.size() >= n; });
    }

    void runPending()
    {
        std::deque<std::function<void()>> queue;
        {
            const std::lock_guard lock(m_mutex);
            queue.swap(m_queue);
        }
        for (auto& fn : queue)
            fn();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_posted;
    std::deque<std::function<void()>> m_queue;
};

struct ConnectCloser
{
    void operator()(virConnectPtr conn) const { virConnectClose(conn); }
};
struct DomainFreer
{
    void operator()(virDomainPtr dom) const { virDomainFree(dom); }
};

class LibvirtHypervisorTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        m_raw.reset(virConnectOpen(kTestUri));
        ASSERT_TRUE(m_raw);
        m_hypervisor = makeHypervisor();
        ASSERT_TRUE(m_hypervisor->connected());
    }

    void TearDown() override
    {
        if (!m_hypervisor)
            m_hypervisor = makeHypervisor();
        for (const auto& uuid : m_defined) {
            try {
                if (m_hypervisor->state(uuid) != DomainState::Stopped)
                    m_hypervisor->destroy(uuid);
                m_hypervisor->undefine(uuid);
            } catch (const Error&) {
                // undefined by the test itself
            }
        }
        m_hypervisor.reset();
        m_raw.reset();
    }

    std::unique_ptr<LibvirtHypervisor> makeHypervisor(const std::string& uri = kTestUri)
    {
        auto hypervisor =
            std::make_unique<LibvirtHypervisor>(uri, m_loop.poster(), LibvirtOptions{"auto", "", kTestPool});
        hypervisor->subscribe([this](const HypervisorEvent& event) {
            m_events.push_back(event);
            m_sinkThreads.push_back(std::this_thread::get_id());
        });
        return hypervisor;
    }

    VmRecord record(const std::string& name)
    {
        VmRecord vm;
        vm.uuid = freshUuid();
        vm.name = name;
        vm.owner = 1000;
        vm.spec = VmSpec{2, 256, 10, "a test VM", {}, {}, {}};
        vm.createdAtUsec = 1700000000123456;
        vm.host = "local";
        vm.phase = VmPhase::Ready;
        return vm;
    }

    VmRecord withDisk(const std::string& name)
    {
        auto vm = record(name);
        vm.diskVolume = "vm-" + vm.uuid + ".qcow2";
        return vm;
    }

    VmRecord defineVm(const std::string& name) { return defineVm(record(name)); }

    VmRecord defineVm(VmRecord vm)
    {
        m_hypervisor->define(vm);
        m_defined.push_back(vm.uuid);
        return vm;
    }

    std::optional<DomainInfo> listed(const std::string& uuid)
    {
        for (auto& info : m_hypervisor->listDomains())
            if (info.uuid == uuid)
                return info;
        return std::nullopt;
    }

    bool waitForEvent(HypervisorEvent::Kind kind, const std::string& uuid = {},
                      std::optional<DomainState> state = std::nullopt)
    {
        const auto seen = [&] {
            return std::any_of(m_events.begin() + static_cast<std::ptrdiff_t>(m_consumed), m_events.end(),
                               [&](const HypervisorEvent& e) {
                                   return e.kind == kind && e.uuid == uuid && (!state || e.state == *state);
                               });
        };
        const bool found = m_loop.runUntil(seen);
        m_consumed = m_events.size();
        return found;
    }

    std::string rawMetadata(const std::string& uuid, int type, unsigned flags = 0)
    {
        const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
        if (!dom)
            return "(no domain)";
        const CString text(virDomainGetMetadata(dom.get(), type, nullptr, flags));
        return text ? text.get() : "(none)";
    }

    std::vector<std::string> snapshotNames(const std::string& uuid)
    {
        std::vector<std::string> names;
        for (const auto& snapshot : m_hypervisor->listSnapshots(uuid))
            names.push_back(snapshot.name);
        return names;
    }

    std::string rawXml(const std::string& uuid)
    {
        const std::unique_ptr<virDomain, DomainFreer> dom(virDomainLookupByUUIDString(m_raw.get(), uuid.c_str()));
        const CString text(dom ? virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE) : nullptr);
        return text ? text.get() : "(none)";
    }

    FakeLoop m_loop; // before the hypervisor, which posts to it
    std::vector<HypervisorEvent> m_events;
    std::vector<std::thread::id> m_sinkThreads;
    std::size_t m_consumed = 0;
    std::unique_ptr<virConnect, ConnectCloser> m_raw;
    std::unique_ptr<LibvirtHypervisor> m_hypervisor;
    std::vector<std::string> m_defined;
};

} // namespace hangar::virt
