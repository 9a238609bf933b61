// The two implementations of the Hypervisor roles the contract suite holds to the same tests: the fake core's unit
// tests use (tests/fakes/FakeHypervisor) and LibvirtHypervisor on libvirt's test driver (test:///default, whose
// state lives as long as a connection to it: the backend's own). Each backend makes a fresh hypervisor per test and
// removes, when the test ends, every domain the test defined through it; the test driver's own domain "test" is
// left alone, so tests look only at domains they defined.
#pragma once

#include "BackendName.h"
#include "core/Error.h"
#include "core/Hypervisor.h"
#include "fakes/FakeHypervisor.h"
#include "virt/LibvirtHypervisor.h"

#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hangar::contract {

inline std::string freshUuid()
{
    std::ifstream in("/proc/sys/kernel/random/uuid");
    std::string uuid;
    in >> uuid;
    return uuid;
}

// Undefines what it was told was defined (destroying it first if it runs), whatever the test left behind.
inline void removeDomains(Hypervisor& hypervisor, const std::vector<std::string>& uuids)
{
    for (const auto& uuid : uuids) {
        try {
            if (hypervisor.state(uuid) != DomainState::Stopped)
                hypervisor.destroy(uuid);
            hypervisor.undefine(uuid);
        } catch (const Error&) {
            // the test undefined it itself
        }
    }
}

class FakeHypervisorBackend
{
public:
    static constexpr const char* kName = "Fake";
    Hypervisor& hypervisor() { return m_hypervisor; }

private:
    testing::FakeHypervisor m_hypervisor;
};

class LibvirtHypervisorBackend
{
public:
    static constexpr const char* kName = "Libvirt";
    static constexpr const char* kUri = "test:///default";
    static constexpr const char* kPool = "default-pool"; // test:///default comes with it

    LibvirtHypervisorBackend()
        : m_hypervisor(
              kUri, [events = m_events](std::function<void()> fn) { events->post(std::move(fn)); },
              virt::LibvirtOptions{"auto", "", kPool})
    {}
    Hypervisor& hypervisor() { return m_hypervisor; }

private:
    // Events are posted to the daemon's loop; the contract is about calls, so they are kept and never run. Shared,
    // so that a post from libvirt's event thread after the hypervisor is gone still has somewhere to go.
    struct Posted
    {
        void post(std::function<void()> fn)
        {
            const std::lock_guard lock(mutex);
            queue.push_back(std::move(fn));
        }
        std::mutex mutex;
        std::vector<std::function<void()>> queue;
    };
    std::shared_ptr<Posted> m_events = std::make_shared<Posted>();
    virt::LibvirtHypervisor m_hypervisor;
};

// A VM record as core writes it, with a fresh UUID; withDisk gives it a disk volume (which snapshots need).
inline VmRecord vmRecord(const std::string& name, bool withDisk = false)
{
    VmRecord vm;
    vm.uuid = freshUuid();
    vm.name = name;
    vm.owner = 1000;
    vm.spec = VmSpec{2, 256, 10, "a test VM", {}, {}, {}};
    vm.createdAtUsec = 1700000000123456;
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    if (withDisk)
        vm.diskVolume = "vm-" + vm.uuid + ".qcow2";
    return vm;
}

// The fixture of the Hypervisor contracts: a backend, and the domains to remove when the test ends.
template <typename Backend> class HypervisorContract : public ::testing::Test
{
protected:
    ~HypervisorContract() override { removeDomains(m_backend.hypervisor(), m_defined); }

    Hypervisor& hv() { return m_backend.hypervisor(); }

    VmRecord define(VmRecord vm)
    {
        m_defined.push_back(vm.uuid);
        hv().define(vm);
        return vm;
    }
    VmRecord define(const std::string& name, bool withDisk = false) { return define(vmRecord(name, withDisk)); }

    std::optional<DomainInfo> listed(const std::string& uuid)
    {
        for (auto& info : hv().listDomains())
            if (info.uuid == uuid)
                return info;
        return std::nullopt;
    }

private:
    Backend m_backend;
    std::vector<std::string> m_defined;
};

using HypervisorBackends = ::testing::Types<FakeHypervisorBackend, LibvirtHypervisorBackend>;

} // namespace hangar::contract
