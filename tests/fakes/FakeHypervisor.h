// An in-memory Hypervisor for core's unit tests: domains are a map, state rules follow libvirt's (starting a
// running domain is Busy, ...), failures can be injected per method, and events are delivered when the test says.
// Snapshots keep the state the domain was in and follow libvirt's tree: a new one is the child of the current one,
// deleting one re-parents its children and makes its parent current if it was. UUIDs and snapshot names are
// checked as LibvirtHypervisor checks them. tests/contract runs the same tests against both.
#pragma once

#include "core/Error.h"
#include "core/Hypervisor.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hangar::testing {

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
    void setResources(const std::string& uuid, std::uint32_t vcpus, std::uint64_t memoryMiB) override;
    // What setResources left in the definition (the record's spec until then): {vcpus, memory MiB}.
    std::pair<std::uint32_t, std::uint64_t> resources(const std::string& uuid) const;
    std::vector<DomainInfo> listDomains() override;
    void subscribe(std::function<void(const HypervisorEvent&)> sink) override { m_sink = std::move(sink); }
    // A socketpair per console and graphics connection; the fake keeps the "guest" end (guestEnd()).
    UniqueFd openConsole(const std::string& uuid, bool force) override;
    UniqueFd openGraphics(const std::string& uuid) override;
    std::string graphicsAddress(const std::string& uuid) override;
    // The text setLog gave the domain, as a read-only file; NotFound (like a domain that never ran) otherwise.
    UniqueFd openLog(const std::string& uuid) override;
    // Error(NotSupported) for a domain without a disk volume, as libvirt on a domain with nothing to snapshot.
    void createSnapshot(const std::string& uuid, const std::string& name, const std::string& description) override;
    std::vector<SnapshotInfo> listSnapshots(const std::string& uuid) override;
    DomainState revertToSnapshot(const std::string& uuid, const std::string& name) override;
    void deleteSnapshot(const std::string& uuid, const std::string& name) override;
    // The guest agent: none until the test installs one (setAgent), like the test driver's domains, which have none.
    // Then guestExec records the command and returns a new pid, and guestExecStatus reports it running for the
    // agent's `pollsBeforeExit` polls, then exited with what `run` returned.
    bool agentConnected(const std::string& uuid) override;
    std::int64_t guestExec(const std::string& uuid, const GuestCommand& command) override;
    GuestCommandStatus guestExecStatus(const std::string& uuid, std::int64_t pid) override;

    // Test controls.
    struct Agent
    {
        std::function<GuestCommandStatus(const GuestCommand&)> run;
        int pollsBeforeExit = 0;
    };
    // Installs (or with nullopt removes) the guest agent of a domain's guest; it answers only while it runs.
    void setAgent(const std::string& uuid, std::optional<Agent> agent);
    // Every command guestExec started, oldest first.
    std::vector<GuestCommand> guestCommands() const;
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
    // The volumes define() attached as the disk and the CD-ROM ("" for none), which updateMetadata() does not change.
    std::string diskVolume(const std::string& uuid) const;
    std::string cdromVolume(const std::string& uuid) const;
    int calls(const std::string& method) const;
    // The guest's end of the console opened last for uuid (-1 if none); closing it ends that console.
    int consoleGuestEnd(const std::string& uuid) const;
    void closeConsoleOutside(const std::string& uuid);
    // What graphicsAddress() reports for an active domain ("" like the test driver, which allocates no port).
    void setGraphicsAddress(std::string address) { m_graphicsAddress = std::move(address); }
    // What openLog() hands out for uuid.
    void setLog(const std::string& uuid, std::string text);

private:
    struct Snapshot
    {
        SnapshotInfo info; // info.current is not kept here: Domain::currentSnapshot says
        DomainState state = DomainState::Stopped;
        std::string parent;
    };
    struct Domain
    {
        DomainState state = DomainState::Stopped;
        std::optional<VmRecord> record;
        std::string diskVolume;
        std::string cdromVolume;
        std::vector<Snapshot> snapshots; // oldest first
        std::string currentSnapshot;
        std::uint32_t vcpus = 0;
        std::uint64_t memoryMiB = 0;
        std::optional<Agent> agent;
    };
    struct Process
    {
        std::string uuid;
        GuestCommandStatus result;
        int pollsLeft = 0;
    };
    Domain& get(const std::string& uuid);
    const Domain& get(const std::string& uuid) const;
    void enter(const std::string& method);

    mutable std::mutex m_mutex;
    std::map<std::string, Domain> m_domains;
    std::map<std::string, Error> m_failures;
    std::map<std::string, int> m_calls;
    bool m_shutdownCompletes = true;
    std::map<std::string, UniqueFd> m_consoles; // uuid -> guest end
    std::vector<UniqueFd> m_graphics;           // guest ends of every graphics connection
    std::string m_graphicsAddress = "vnc://127.0.0.1:5900";
    std::map<std::string, std::string> m_logs;
    std::int64_t m_lastSnapshotUsec = 0;
    std::map<std::int64_t, Process> m_processes;
    std::vector<GuestCommand> m_guestCommands;
    std::int64_t m_nextPid = 1000;
    std::function<void(const HypervisorEvent&)> m_sink = [](const HypervisorEvent&) {};
};

} // namespace hangar::testing
