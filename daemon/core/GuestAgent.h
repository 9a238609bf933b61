// GuestAgent is the part of the Hypervisor (core/Hypervisor.h) that runs commands inside a running guest through
// the QEMU guest agent (qemu-ga): start a process with its argv and standard input, then poll it until it exits.
// It is what core/VmGuestCommands builds Exec, AddUser and InstallPackages on. Synchronous and thread-safe like
// DomainControl (a call waits for the guest's answer, so core calls it on workers). Failures are hangar::Error:
// NotFound for an unknown domain, Busy for one that is not running, NotSupported when no agent answers in the guest
// (the domain has no agent channel, or nothing in the guest listens on it), BackendFailure otherwise.
// tests/contract holds the libvirt implementation and the fake to the same behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hangar {

// What the agent keeps of a command's output, per stream: more is cut off and flagged as truncated.
inline constexpr std::size_t kMaxCapturedOutput = std::size_t{64} * 1024;

struct GuestCommand
{
    std::vector<std::string> argv; // argv[0] is the program (a path, or a name the guest's PATH resolves)
    std::string input;             // written to its standard input, which is then closed
};

// A command's state as the agent reports it. Output is only there once it has exited.
struct GuestCommandStatus
{
    bool exited = false;
    int exitCode = 0;
    std::optional<int> signal; // the signal that ended it, if one did
    std::string out;
    std::string err;
    bool outTruncated = false;
    bool errTruncated = false;
};

class GuestAgent
{
public:
    virtual ~GuestAgent() = default;

    // Whether an agent is connected in the running guest right now (for AgentConnected); false when not running.
    virtual bool agentConnected(const std::string& uuid) = 0;
    // Starts command in the guest; returns the guest's process id to poll.
    virtual std::int64_t guestExec(const std::string& uuid, const GuestCommand& command) = 0;
    // The state of a process guestExec started. Output beyond kMaxCapturedOutput per stream is cut off.
    virtual GuestCommandStatus guestExecStatus(const std::string& uuid, std::int64_t pid) = 0;
};

} // namespace hangar
