// An in-memory Hypervisor for core's unit tests: domains are a map, state rules follow libvirt's (starting a
// running domain is Busy, ...), failures can be injected per method, and events are delivered when the test says.
#pragma once

#include "core/Error.h"
#include "core/Hypervisor.h"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hangar::virt {

class FakeHypervisor final : public Hypervisor
{
public:
    std::string uri() const override { return "fake:///"; }
    void define(const VmRecord& vm) override;
    void undefine(const std::string& uuid) override;
    void start(const std::string& uuid) override;
    void shutdown(const std::string& uuid) override;
    void destroy(const std::string& uuid) override;
    void reboot(const std::string& uuid) override;
    void suspend(const std::string& uuid) override;
    void resume(const std::string& uuid) override;
    DomainState state(const std::string& uuid) override;
    void updateMetadata(const VmRecord& vm) override;
    std::vector<DomainInfo> listDomains() override;
    void subscribe(std::function<void(const HypervisorEvent&)> sink) override { m_sink = std::move(sink); }

    // Test controls.
    // The next call of `method` ("define", "start", ...) throws error.
    void failNext(const std::string& method, Error error);
    // Whether shutdown() stops the domain at once (test driver) or leaves it running (a real, slow guest).
    void setGracefulShutdownCompletes(bool completes) { m_shutdownCompletes = completes; }
    // Changes a domain behind Hangar's back, as virsh would; does not emit an event.
    void setStateOutside(const std::string& uuid, DomainState state);
    void removeOutside(const std::string& uuid);
    void addOutside(DomainInfo info);
    void emit(const HypervisorEvent& event) { m_sink(event); }
    bool has(const std::string& uuid) const;
    std::optional<VmRecord> metadata(const std::string& uuid) const;
    int calls(const std::string& method) const;

private:
    struct Domain
    {
        DomainState state = DomainState::Stopped;
        std::optional<VmRecord> record;
    };
    Domain& get(const std::string& uuid);
    void enter(const std::string& method);

    mutable std::mutex m_mutex;
    std::map<std::string, Domain> m_domains;
    std::map<std::string, Error> m_failures;
    std::map<std::string, int> m_calls;
    bool m_shutdownCompletes = true;
    std::function<void(const HypervisorEvent&)> m_sink = [](const HypervisorEvent&) {};
};

} // namespace hangar::virt
