// The text authentication agent hangarctl starts for itself, as systemctl does. polkit can only ask a user for a
// password through an agent registered for the caller; on a desktop one is running, in an ssh session or on a text
// console there is none, and a call that needs authentication would simply be denied. So before its first call that
// polkit may have to authorize interactively, hangarctl runs `pkttyagent --notify-fd FD --fallback --process <pid>`
// (it prompts on the terminal, and --fallback leaves an existing agent in charge) and waits until the agent closes FD,
// which it does once registered. The agent is stopped (SIGTERM, then reaped) when the AuthAgent goes; if hangarctl
// itself dies, the kernel sends the agent SIGTERM (PR_SET_PDEATHSIG). Context decides whether one is needed at all.
#pragma once

#include <memory>
#include <sys/types.h>

namespace sdbus {
class IConnection;
}

namespace hangar::client {

// Whether polkit is there for an agent to register with: pkttyagent always talks to polkit on the system bus (the one
// $DBUS_SYSTEM_BUS_ADDRESS names, if set), whatever bus hangard is on. Without polkit there an agent could never be
// asked anything and only prints "Authorization not available..." on the terminal. systemBus: a connection to that
// bus when the caller has one (hangarctl --bus=system), else one is opened for the question.
bool polkitOnSystemBus(sdbus::IConnection* systemBus);

class AuthAgent
{
public:
    // Starts pkttyagent (looked up on $PATH) for this process and waits until it has registered, failed, or taken
    // too long. Returns nullptr, and hangarctl carries on without an agent, when pkttyagent is not installed or
    // cannot be started. Call from the main thread: the agent's parent-death signal follows the thread that forks.
    static std::unique_ptr<AuthAgent> start();

    // Stops the agent: SIGTERM (and SIGCONT, should it be stopped), then waits for it to exit.
    ~AuthAgent();
    AuthAgent(const AuthAgent&) = delete;
    AuthAgent& operator=(const AuthAgent&) = delete;

    pid_t pid() const { return m_pid; }

private:
    explicit AuthAgent(pid_t pid) : m_pid(pid) {}

    pid_t m_pid;
};

} // namespace hangar::client
