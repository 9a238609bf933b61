// VmGuestCommands runs commands in a VM's running guest through its QEMU guest agent (core/GuestAgent.h): Exec (any
// argv), AddUser (useradd, or busybox adduser, plus keys, password hash and sudo) and InstallPackages (whichever
// of apt-get, dnf, zypper and apk the guest has). Each goes through the operation pipeline (authorized as
// manage-own/all-vms, audited with its argv, never its output) and, once the agent has started the command,
// continues as a Job: polled on a timer until the command exits, the timeout passes or the job is cancelled; the
// Job's result holds the exit code and the captured output (at most kMaxCapturedOutput per stream). The VM is not
// marked busy meanwhile: a command in the guest does not keep anyone from stopping the VM. Users added and
// packages installed are recorded with the VM (store and VmRecord). It also keeps Vm::agentConnected current.
// Loop thread only.
#pragma once

#include "core/Provisioning.h"
#include "core/VmContext.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hangar {

struct ExecOptions
{
    static constexpr std::uint32_t kDefaultTimeoutSec = 60;
    static constexpr std::uint32_t kMaxTimeoutSec = 3600;
    static constexpr std::size_t kMaxInputBytes = std::size_t{1024} * 1024;
    static constexpr std::size_t kMaxArgs = 256;
    static constexpr std::size_t kMaxArgvBytes = std::size_t{64} * 1024;

    std::uint32_t timeoutSec = kDefaultTimeoutSec;
    std::string input; // the command's standard input
};

// argv of 1..256 non-empty-program arguments, 64 KiB in all, without NUL bytes; timeout 1..3600 s; input <= 1 MiB.
void validateExec(const std::vector<std::string>& argv, const ExecOptions& options);

class VmGuestCommands
{
public:
    static constexpr std::chrono::milliseconds kFirstPoll{100};
    static constexpr std::chrono::milliseconds kMaxPoll{1000};

    explicit VmGuestCommands(VmContext& context) : m_ctx(context) {}

    // Done receives the job's id. The job succeeds when the command ran to its end, whatever its exit code.
    void exec(const Caller& caller, const std::string& uuid, std::vector<std::string> argv, ExecOptions options,
              const Done<std::uint64_t>& done);
    // The job succeeds when the user was added (exit code 0).
    void addUser(const Caller& caller, const std::string& uuid, ProvisionedUser user, const Done<std::uint64_t>& done);
    // The job succeeds when the guest's package manager installed them all (exit code 0).
    void installPackages(const Caller& caller, const std::string& uuid, std::vector<std::string> names,
                         const Done<std::uint64_t>& done);

    // Asks whether an agent is connected when the VM comes up; clears AgentConnected when it goes down.
    void stateChanged(Vm& vm);
    // An AgentChanged event from the hypervisor.
    void agentChanged(const std::string& uuid, bool connected);

private:
    struct Plan
    {
        VmOperation kind = VmOperation::Exec;
        GuestCommand command;
        std::uint32_t timeoutSec = ExecOptions::kDefaultTimeoutSec;
        std::string audited;          // what the audit log says was run (never the input or secrets)
        bool exitCodeMatters = false; // a non-zero exit code fails the job
        std::function<void()> validate;
        std::function<void(Vm&)> recordSuccess; // optional: what to remember on the VM afterwards
    };
    struct Running;

    void run(const Caller& caller, const std::string& uuid, Plan plan, const Done<std::uint64_t>& done);
    void started(const Ticket& ticket, const std::shared_ptr<Plan>& plan, std::int64_t pid,
                 const Done<std::uint64_t>& done);
    void poll(const std::shared_ptr<Running>& running);
    void settle(const std::shared_ptr<Running>& running, const Outcome<GuestCommandStatus>& outcome);

    VmContext& m_ctx;
    std::map<std::string, std::uint64_t> m_agentLookup; // uuid -> the latest probe, so only its answer counts
    std::uint64_t m_nextLookup = 1;
};

// "'/bin/sh' '-c' 'exit 3'": an argv as the audit log records it, at most 1 KiB.
std::string describeArgv(const std::vector<std::string>& argv);

} // namespace hangar
