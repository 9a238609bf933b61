#include "fakes/FakeHypervisor.h"

#include "core/Validation.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <sys/mman.h>
#include <sys/socket.h>

namespace hangar::testing {
namespace {

Error invalid(const std::string& what)
{
    return Error(ErrorCode::Busy, "Requested operation is not valid: " + what);
}

// Returns the caller's end; guestEnd receives the other.
UniqueFd makePair(UniqueFd& guestEnd)
{
    int pair[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        throw Error(ErrorCode::BackendFailure, "socketpair failed");
    guestEnd.reset(pair[1]);
    return UniqueFd(pair[0]);
}

// Whether the guest's end of a socket is still connected to someone (the peer has not closed).
bool peerOpen(int fd)
{
    char byte = 0;
    const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

std::string_view snapshotStateName(DomainState state)
{
    switch (state) {
    case DomainState::Stopped:
        return stateName(VmState::Stopped);
    case DomainState::Running:
        return stateName(VmState::Running);
    case DomainState::Paused:
        return stateName(VmState::Paused);
    case DomainState::ShuttingDown:
        return stateName(VmState::ShuttingDown);
    case DomainState::Crashed:
        return stateName(VmState::Crashed);
    case DomainState::Suspended:
        return stateName(VmState::Suspended);
    }
    return stateName(VmState::Stopped);
}

// LibvirtHypervisor refuses a malformed UUID before it asks libvirt anything (tests/contract found the fake
// answering NotFound, or defining it).
void requireUuid(const std::string& uuid)
{
    if (!looksLikeUuid(uuid))
        throw Error(ErrorCode::InvalidArgument, "uuid must be in lower-case 8-4-4-4-12 form, got '" + uuid + "'");
}

} // namespace

void FakeHypervisor::enter(const std::string& method)
{
    ++m_calls[method];
    auto it = m_failures.find(method);
    if (it != m_failures.end()) {
        Error e = it->second;
        m_failures.erase(it);
        throw e;
    }
}

FakeHypervisor::Domain& FakeHypervisor::get(const std::string& uuid)
{
    requireUuid(uuid);
    auto it = m_domains.find(uuid);
    if (it == m_domains.end())
        throw Error(ErrorCode::NotFound, "no domain with matching uuid '" + uuid + "'");
    return it->second;
}

const FakeHypervisor::Domain& FakeHypervisor::get(const std::string& uuid) const
{
    auto it = m_domains.find(uuid);
    if (it == m_domains.end())
        throw Error(ErrorCode::NotFound, "no domain with matching uuid '" + uuid + "'");
    return it->second;
}

void FakeHypervisor::define(const VmRecord& vm)
{
    std::lock_guard lock(m_mutex);
    enter("define");
    requireUuid(vm.uuid);
    if (m_domains.count(vm.uuid))
        throw Error(ErrorCode::AlreadyExists, "domain " + vm.uuid + " already exists");
    VmRecord stored = vm;
    stored.phase = VmPhase::Ready;
    Domain domain;
    domain.record = stored;
    domain.diskVolume = vm.diskVolume;
    domain.cdromVolume = vm.cdromVolume;
    domain.vcpus = vm.spec.vcpus;
    domain.memoryMiB = vm.spec.memoryMiB;
    m_domains[vm.uuid] = std::move(domain);
}

void FakeHypervisor::undefine(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("undefine");
    auto& d = get(uuid);
    if (d.state != DomainState::Stopped)
        throw invalid("domain is active");
    m_domains.erase(uuid);
}

void FakeHypervisor::start(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("start");
    auto& d = get(uuid);
    if (d.state != DomainState::Stopped)
        throw invalid("domain is already running");
    d.state = DomainState::Running;
}

void FakeHypervisor::shutdown(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("shutdown");
    auto& d = get(uuid);
    if (d.state == DomainState::Stopped)
        throw invalid("domain is not running");
    if (m_shutdownCompletes)
        d.state = DomainState::Stopped;
}

void FakeHypervisor::destroy(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("destroy");
    auto& d = get(uuid);
    if (d.state == DomainState::Stopped)
        throw invalid("domain is not running");
    d.state = DomainState::Stopped;
}

void FakeHypervisor::reboot(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("reboot");
    if (get(uuid).state != DomainState::Running)
        throw invalid("domain is not running");
}

void FakeHypervisor::suspend(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("suspend");
    auto& d = get(uuid);
    if (d.state != DomainState::Running)
        throw invalid("domain is not running");
    d.state = DomainState::Paused;
}

void FakeHypervisor::resume(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("resume");
    auto& d = get(uuid);
    if (d.state != DomainState::Paused)
        throw invalid("domain is not paused");
    d.state = DomainState::Running;
}

DomainState FakeHypervisor::state(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    return get(uuid).state;
}

void FakeHypervisor::updateMetadata(const VmRecord& vm)
{
    std::lock_guard lock(m_mutex);
    enter("updateMetadata");
    auto& d = get(vm.uuid);
    VmRecord stored = vm;
    stored.phase = VmPhase::Ready;
    d.record = stored;
}

void FakeHypervisor::setResources(const std::string& uuid, std::uint32_t vcpus, std::uint64_t memoryMiB)
{
    std::lock_guard lock(m_mutex);
    enter("setResources");
    auto& d = get(uuid);
    if (d.state != DomainState::Stopped)
        throw invalid("domain is active");
    d.vcpus = vcpus;
    d.memoryMiB = memoryMiB;
}

std::pair<std::uint32_t, std::uint64_t> FakeHypervisor::resources(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    const auto& d = get(uuid);
    return {d.vcpus, d.memoryMiB};
}

std::vector<DomainInfo> FakeHypervisor::listDomains()
{
    std::lock_guard lock(m_mutex);
    enter("listDomains");
    std::vector<DomainInfo> out;
    for (const auto& [uuid, d] : m_domains) {
        std::vector<std::string> names;
        for (const auto& snapshot : d.snapshots)
            names.push_back(snapshot.info.name);
        out.push_back(DomainInfo{uuid, d.state, d.record, std::move(names)});
    }
    return out;
}

void FakeHypervisor::failNext(const std::string& method, Error error)
{
    std::lock_guard lock(m_mutex);
    m_failures.insert_or_assign(method, std::move(error));
}

void FakeHypervisor::setStateOutside(const std::string& uuid, DomainState state)
{
    std::lock_guard lock(m_mutex);
    get(uuid).state = state;
}

void FakeHypervisor::removeOutside(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    m_domains.erase(uuid);
}

void FakeHypervisor::addOutside(DomainInfo info)
{
    std::lock_guard lock(m_mutex);
    Domain domain;
    domain.state = info.state;
    domain.record = info.record;
    for (auto& name : info.snapshots)
        domain.snapshots.push_back(Snapshot{SnapshotInfo{std::move(name), {}, 0, "stopped", false}, {}, {}});
    m_domains[info.uuid] = std::move(domain);
}

bool FakeHypervisor::has(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    return m_domains.count(uuid) != 0;
}

std::optional<VmRecord> FakeHypervisor::metadata(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    auto it = m_domains.find(uuid);
    return it == m_domains.end() ? std::nullopt : it->second.record;
}

std::string FakeHypervisor::diskVolume(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    return get(uuid).diskVolume;
}

std::string FakeHypervisor::cdromVolume(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    return get(uuid).cdromVolume;
}

int FakeHypervisor::calls(const std::string& method) const
{
    std::lock_guard lock(m_mutex);
    auto it = m_calls.find(method);
    return it == m_calls.end() ? 0 : it->second;
}

UniqueFd FakeHypervisor::openConsole(const std::string& uuid, bool force)
{
    std::lock_guard lock(m_mutex);
    enter("openConsole");
    if (get(uuid).state == DomainState::Stopped)
        throw invalid("domain is not running");
    auto it = m_consoles.find(uuid);
    if (it != m_consoles.end() && peerOpen(it->second.get()) && !force)
        throw Error(ErrorCode::Busy, "the console of domain " + uuid + " is open in another session");
    UniqueFd guest;
    UniqueFd caller = makePair(guest);
    m_consoles[uuid] = std::move(guest); // a forced open ends the previous session: its peer reads EOF
    return caller;
}

UniqueFd FakeHypervisor::openGraphics(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("openGraphics");
    if (get(uuid).state == DomainState::Stopped)
        throw invalid("domain is not running");
    UniqueFd guest;
    UniqueFd caller = makePair(guest);
    m_graphics.push_back(std::move(guest));
    return caller;
}

std::string FakeHypervisor::graphicsAddress(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("graphicsAddress");
    return get(uuid).state == DomainState::Stopped ? std::string() : m_graphicsAddress;
}

void FakeHypervisor::setLog(const std::string& uuid, std::string text)
{
    std::lock_guard lock(m_mutex);
    m_logs[uuid] = std::move(text);
}

UniqueFd FakeHypervisor::openLog(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("openLog");
    get(uuid); // NotFound for an unknown domain
    const auto it = m_logs.find(uuid);
    if (it == m_logs.end())
        throw Error(ErrorCode::NotFound, "there is no log file for domain " + uuid);
    UniqueFd fd(memfd_create("fake-hypervisor-log", MFD_CLOEXEC));
    if (!fd || write(fd.get(), it->second.data(), it->second.size()) != static_cast<ssize_t>(it->second.size()) ||
        lseek(fd.get(), 0, SEEK_SET) != 0)
        throw Error(ErrorCode::BackendFailure, "cannot write the fake log");
    return fd;
}

int FakeHypervisor::consoleGuestEnd(const std::string& uuid) const
{
    std::lock_guard lock(m_mutex);
    auto it = m_consoles.find(uuid);
    return it == m_consoles.end() ? -1 : it->second.get();
}

void FakeHypervisor::closeConsoleOutside(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    m_consoles.erase(uuid);
}

namespace {

template <typename Snapshots> auto findSnapshot(Snapshots& snapshots, const std::string& name)
{
    return std::find_if(snapshots.begin(), snapshots.end(), [&](const auto& s) { return s.info.name == name; });
}

Error noSnapshot(const std::string& uuid, const std::string& name)
{
    return Error(ErrorCode::NotFound, "domain " + uuid + " has no snapshot '" + name + "'");
}

} // namespace

void FakeHypervisor::createSnapshot(const std::string& uuid, const std::string& name, const std::string& description)
{
    std::lock_guard lock(m_mutex);
    enter("createSnapshot");
    validateName(name); // as LibvirtHypervisor: the contract suite found the fake taking any name
    auto& d = get(uuid);
    if (findSnapshot(d.snapshots, name) != d.snapshots.end())
        throw Error(ErrorCode::AlreadyExists, "domain " + uuid + " already has a snapshot '" + name + "'");
    if (d.diskVolume.empty())
        throw Error(ErrorCode::NotSupported,
                    "cannot create snapshot '" + name + "' of domain " + uuid + ": it has no writable disk");
    // Strictly increasing, so "oldest first" is never a tie.
    const auto now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    m_lastSnapshotUsec = std::max<std::int64_t>(now, m_lastSnapshotUsec + 1);
    SnapshotInfo info{name, description, m_lastSnapshotUsec, std::string(snapshotStateName(d.state)), false};
    d.snapshots.push_back(Snapshot{std::move(info), d.state, d.currentSnapshot});
    d.currentSnapshot = name;
}

std::vector<SnapshotInfo> FakeHypervisor::listSnapshots(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("listSnapshots");
    const auto& d = get(uuid);
    std::vector<SnapshotInfo> out;
    for (const auto& snapshot : d.snapshots) {
        out.push_back(snapshot.info);
        out.back().current = snapshot.info.name == d.currentSnapshot;
    }
    return out;
}

DomainState FakeHypervisor::revertToSnapshot(const std::string& uuid, const std::string& name)
{
    std::lock_guard lock(m_mutex);
    enter("revertToSnapshot");
    auto& d = get(uuid);
    const auto it = findSnapshot(d.snapshots, name);
    if (it == d.snapshots.end())
        throw noSnapshot(uuid, name);
    d.state = it->state;
    d.currentSnapshot = name;
    return d.state;
}

void FakeHypervisor::deleteSnapshot(const std::string& uuid, const std::string& name)
{
    std::lock_guard lock(m_mutex);
    enter("deleteSnapshot");
    auto& d = get(uuid);
    const auto it = findSnapshot(d.snapshots, name);
    if (it == d.snapshots.end())
        throw noSnapshot(uuid, name);
    const std::string parent = it->parent;
    d.snapshots.erase(it);
    for (auto& snapshot : d.snapshots)
        if (snapshot.parent == name)
            snapshot.parent = parent;
    if (d.currentSnapshot == name)
        d.currentSnapshot = parent;
}

} // namespace hangar::testing

namespace hangar::testing {

namespace {

Error noAgent(const std::string& uuid)
{
    return Error(ErrorCode::NotSupported,
                 "the guest agent (qemu-guest-agent) is not connected in the guest of domain " + uuid +
                     ": install and start it in the guest to run commands there");
}

} // namespace

bool FakeHypervisor::agentConnected(const std::string& uuid)
{
    std::lock_guard lock(m_mutex);
    enter("agentConnected");
    const auto& d = get(uuid);
    return d.state == DomainState::Running && d.agent.has_value();
}

std::int64_t FakeHypervisor::guestExec(const std::string& uuid, const GuestCommand& command)
{
    std::lock_guard lock(m_mutex);
    enter("guestExec");
    auto& d = get(uuid);
    if (d.state != DomainState::Running)
        throw invalid("domain is not running");
    if (!d.agent)
        throw noAgent(uuid);
    m_guestCommands.push_back(command);
    const std::int64_t pid = m_nextPid++;
    Process process{uuid, d.agent->run ? d.agent->run(command) : GuestCommandStatus{}, d.agent->pollsBeforeExit};
    process.result.exited = true;
    m_processes[pid] = std::move(process);
    return pid;
}

GuestCommandStatus FakeHypervisor::guestExecStatus(const std::string& uuid, std::int64_t pid)
{
    std::lock_guard lock(m_mutex);
    enter("guestExecStatus");
    auto& d = get(uuid);
    if (d.state != DomainState::Running)
        throw invalid("domain is not running");
    if (!d.agent)
        throw noAgent(uuid);
    auto it = m_processes.find(pid);
    if (it == m_processes.end() || it->second.uuid != uuid)
        throw Error(ErrorCode::BackendFailure, "the guest agent knows no process " + std::to_string(pid));
    if (it->second.pollsLeft > 0) {
        --it->second.pollsLeft;
        return GuestCommandStatus{};
    }
    return it->second.result;
}

void FakeHypervisor::setAgent(const std::string& uuid, std::optional<Agent> agent)
{
    std::lock_guard lock(m_mutex);
    get(uuid).agent = std::move(agent);
}

std::vector<GuestCommand> FakeHypervisor::guestCommands() const
{
    std::lock_guard lock(m_mutex);
    return m_guestCommands;
}

} // namespace hangar::testing
