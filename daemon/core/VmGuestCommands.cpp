#include "core/VmGuestCommands.h"

#include "core/Validation.h"
#include "core/VmStateTracker.h"

#include <algorithm>
#include <fmt/format.h>

namespace hangar {
namespace {

constexpr std::uint32_t kAddUserTimeoutSec = 300;
constexpr std::uint32_t kInstallTimeoutSec = 3600;
constexpr std::size_t kMaxAuditedArgv = 1024;
constexpr std::size_t kMaxStderrInMessage = 200;

// The user's values reach the script as positional parameters ($1...), never pasted into it, and the keys through
// standard input: nothing a caller sends is read as shell syntax. The scripts set PATH themselves: qemu-ga passes on
// its own environment, which has none when it is started without a login environment (by an init script, or the
// kernel's init in the end-to-end guest). Guests with busybox alone (Alpine) have adduser but no useradd.
constexpr const char* kAddUserScript = R"sh(set -e
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
name=$1 shell=$2 sudo=$3 hash=$4
if id "$name" >/dev/null 2>&1; then echo "user $name already exists in the guest" >&2; exit 9; fi
if command -v useradd >/dev/null 2>&1; then
  if [ -n "$shell" ]; then useradd -m -s "$shell" "$name"; else useradd -m "$name"; fi
elif command -v adduser >/dev/null 2>&1; then
  if [ -n "$shell" ]; then adduser -D -s "$shell" "$name"; else adduser -D "$name"; fi
else
  echo "neither useradd nor adduser was found in the guest" >&2; exit 127
fi
if [ -n "$hash" ]; then printf '%s:%s\n' "$name" "$hash" | chpasswd -e; fi
if [ "$sudo" = 1 ]; then
  mkdir -p /etc/sudoers.d
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$name" > "/etc/sudoers.d/90-hangar-$name"
  chmod 0440 "/etc/sudoers.d/90-hangar-$name"
fi
keys=$(cat)
if [ -n "$keys" ]; then
  home=$(awk -F: -v u="$name" '$1 == u { print $6 }' /etc/passwd)
  mkdir -p "$home/.ssh"
  printf '%s\n' "$keys" >> "$home/.ssh/authorized_keys"
  chmod 700 "$home/.ssh"
  chmod 600 "$home/.ssh/authorized_keys"
  chown -R "$name" "$home/.ssh"
fi
)sh";

constexpr const char* kInstallScript =
    R"sh(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q -- "$@"
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y -- "$@"
elif command -v zypper >/dev/null 2>&1; then
  zypper --non-interactive install -- "$@"
elif command -v apk >/dev/null 2>&1; then
  apk add -- "$@"
else
  echo "no supported package manager (apt-get, dnf, zypper or apk) was found in the guest" >&2
  exit 127
fi
)sh";

// The last non-empty line of what the command wrote to stderr, short: why it failed, in its own words.
std::string lastLine(const std::string& text)
{
    std::string_view rest(text);
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' '))
        rest.remove_suffix(1);
    const auto newline = rest.rfind('\n');
    if (newline != std::string_view::npos)
        rest.remove_prefix(newline + 1);
    return std::string(rest.substr(0, kMaxStderrInMessage));
}

std::string describeStatus(const GuestCommandStatus& status)
{
    return status.signal ? fmt::format("killed by signal {}", *status.signal)
                         : fmt::format("exit code {}", status.exitCode);
}

} // namespace

std::string describeArgv(const std::vector<std::string>& argv)
{
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty())
            out += ' ';
        out += quoteForMessage(arg);
        if (out.size() > kMaxAuditedArgv)
            return out.substr(0, kMaxAuditedArgv) + "...";
    }
    return out;
}

void validateExec(const std::vector<std::string>& argv, const ExecOptions& options)
{
    if (argv.empty() || argv.size() > ExecOptions::kMaxArgs)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("argv must hold 1..{} arguments, got {}", ExecOptions::kMaxArgs, argv.size()));
    if (argv[0].empty())
        throw Error(ErrorCode::InvalidArgument, "argv[0] must name the program to run");
    std::size_t bytes = 0;
    for (const auto& arg : argv) {
        bytes += arg.size();
        if (arg.find('\0') != std::string::npos)
            throw Error(ErrorCode::InvalidArgument, "argv must not contain NUL bytes");
    }
    if (bytes > ExecOptions::kMaxArgvBytes)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("argv must be at most {} bytes in all, got {}", ExecOptions::kMaxArgvBytes, bytes));
    if (options.timeoutSec < 1 || options.timeoutSec > ExecOptions::kMaxTimeoutSec)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("timeout_sec must be 1..{}, got {}", ExecOptions::kMaxTimeoutSec, options.timeoutSec));
    if (options.input.size() > ExecOptions::kMaxInputBytes)
        throw Error(ErrorCode::InvalidArgument, fmt::format("stdin must be at most {} bytes, got {}",
                                                            ExecOptions::kMaxInputBytes, options.input.size()));
}

struct VmGuestCommands::Running
{
    Ticket ticket;
    std::shared_ptr<const Plan> plan;
    std::int64_t pid = 0;
    std::uint64_t jobId = 0;
    std::shared_ptr<JobProgress> shared;
    std::int64_t deadlineUsec = 0;
    std::chrono::milliseconds interval = kFirstPoll;
};

void VmGuestCommands::exec(const Caller& caller, const std::string& uuid, std::vector<std::string> argv,
                           ExecOptions options, const Done<std::uint64_t>& done)
{
    Plan plan;
    plan.kind = VmOperation::Exec;
    plan.validate = [argv, options] { validateExec(argv, options); };
    plan.audited = "ran " + describeArgv(argv);
    plan.timeoutSec = options.timeoutSec;
    plan.command = GuestCommand{std::move(argv), std::move(options.input)};
    run(caller, uuid, std::move(plan), done);
}

void VmGuestCommands::addUser(const Caller& caller, const std::string& uuid, ProvisionedUser user,
                              const Done<std::uint64_t>& done)
{
    Plan plan;
    plan.kind = VmOperation::AddUser;
    plan.validate = [user] { validateUser("user", user); };
    plan.audited = fmt::format(
        "added user '{}'{}{}", user.name, user.sudo ? " with sudo" : "",
        user.sshAuthorizedKeys.empty() ? std::string() : fmt::format(", {} SSH key(s)", user.sshAuthorizedKeys.size()));
    plan.timeoutSec = kAddUserTimeoutSec;
    plan.exitCodeMatters = true;
    std::string keys;
    for (const auto& key : user.sshAuthorizedKeys)
        keys += key + "\n";
    // Never empty: with no input at all the agent would leave the command reading its own standard input.
    keys += "\n";
    plan.command = GuestCommand{{"/bin/sh", "-c", kAddUserScript, "hangar-adduser", user.name, user.shell,
                                 user.sudo ? "1" : "0", user.passwordHash},
                                std::move(keys)};
    plan.recordSuccess = [this, name = user.name](Vm& vm) {
        const GuestChange change{GuestChange::Kind::User, name};
        m_ctx.store.addGuestChange(vm.record.uuid, change);
        m_ctx.inventory.addGuestChange(vm, change);
    };
    run(caller, uuid, std::move(plan), done);
}

void VmGuestCommands::installPackages(const Caller& caller, const std::string& uuid, std::vector<std::string> names,
                                      const Done<std::uint64_t>& done)
{
    Plan plan;
    plan.kind = VmOperation::InstallPackages;
    plan.validate = [names] { validatePackages("names", names, 1); };
    plan.audited = "installed " + describeArgv(names);
    plan.timeoutSec = kInstallTimeoutSec;
    plan.exitCodeMatters = true;
    std::vector<std::string> argv{"/bin/sh", "-c", kInstallScript, "hangar-install"};
    argv.insert(argv.end(), names.begin(), names.end());
    plan.command = GuestCommand{std::move(argv), "\n"};
    plan.recordSuccess = [this, names](Vm& vm) {
        for (const auto& name : names) {
            const GuestChange change{GuestChange::Kind::Package, name};
            m_ctx.store.addGuestChange(vm.record.uuid, change);
            m_ctx.inventory.addGuestChange(vm, change);
        }
    };
    run(caller, uuid, std::move(plan), done);
}

void VmGuestCommands::run(const Caller& caller, const std::string& uuid, Plan plan, const Done<std::uint64_t>& done)
{
    const Ticket ticket = OperationRunner::open(caller, uuid, plan.kind, done);
    Vm* vm = m_ctx.runner.findOrLose(ticket);
    if (!vm)
        return;
    ticket->vmName = vm->record.name;
    if (!m_ctx.runner.attempt(ticket, plan.validate))
        return;
    auto shared = std::make_shared<Plan>(std::move(plan));
    m_ctx.runner.authorize(ticket, [this, ticket, shared, done](Vm& vm) {
        const bool allowed = m_ctx.runner.guard(ticket, vm, Guard::Settled, [](const Vm& vm) {
            if (vm.state != VmState::Running)
                throw vmBusy(vm, fmt::format("is {}; commands run only in a running guest", stateName(vm.state)));
        });
        if (!allowed)
            return;
        runOnWorker<std::int64_t>(
            m_ctx.executor,
            [&agent = static_cast<GuestAgent&>(m_ctx.hypervisor), uuid = vm.record.uuid, command = shared->command] {
                return agent.guestExec(uuid, command);
            },
            [this, ticket, shared, done](const Outcome<std::int64_t>& pid) {
                if (!m_ctx.runner.find(ticket))
                    return ticket->reject(Error(ErrorCode::NotFound, "the VM was deleted meanwhile"));
                if (!pid.ok())
                    return m_ctx.runner.fail(ticket, pid.error());
                started(ticket, shared, pid.value(), done);
            });
    });
}

void VmGuestCommands::started(const Ticket& ticket, const std::shared_ptr<Plan>& plan, std::int64_t pid,
                              const Done<std::uint64_t>& done)
{
    Job job;
    job.operation = std::string(operationName(plan->kind));
    job.startedBy = ticket->caller.uid;
    job.adminAction = Action::ManageAllVms;
    job.cancelable = true;
    job.objects = {JobTarget{JobTarget::Kind::Vm, ticket->uuid}};
    const Job& startedJob = m_ctx.jobs.start(std::move(job));
    auto running = std::make_shared<Running>();
    running->ticket = ticket;
    running->plan = plan;
    running->pid = pid;
    running->jobId = startedJob.id;
    running->shared = startedJob.shared;
    running->deadlineUsec = m_ctx.executor.nowUsec() + std::int64_t{plan->timeoutSec} * 1'000'000;
    // From here the job carries the outcome; the ticket only writes the trail.
    ticket->reject = [](const Error&) {};
    ticket->accept = nullptr;
    done(startedJob.id);
    poll(running);
}

void VmGuestCommands::poll(const std::shared_ptr<Running>& running)
{
    m_ctx.executor.schedule(running->interval, [this, running] {
        runOnWorker<GuestCommandStatus>(
            m_ctx.executor,
            [&agent = static_cast<GuestAgent&>(m_ctx.hypervisor), uuid = running->ticket->uuid, pid = running->pid] {
                return agent.guestExecStatus(uuid, pid);
            },
            [this, running](const Outcome<GuestCommandStatus>& status) { settle(running, status); });
    });
}

void VmGuestCommands::settle(const std::shared_ptr<Running>& running, const Outcome<GuestCommandStatus>& outcome)
{
    const Ticket& ticket = running->ticket;
    const Plan& plan = *running->plan;
    auto fail = [&](const Error& error, std::optional<GuestCommandStatus> result = std::nullopt) {
        m_ctx.runner.fail(ticket, error);
        m_ctx.jobs.finish(running->jobId, false, error.what(), std::move(result));
    };
    if (running->shared->cancelRequested)
        return fail(Error(ErrorCode::Cancelled, "cancelled (the guest agent cannot stop the command: it may still "
                                                "be running in the guest)"));
    Vm* vm = m_ctx.runner.find(ticket);
    if (!vm)
        return fail(Error(ErrorCode::NotFound, "the VM was deleted while the command ran"));
    if (!outcome.ok())
        return fail(outcome.error());
    const GuestCommandStatus& status = outcome.value();
    if (!status.exited) {
        if (m_ctx.executor.nowUsec() >= running->deadlineUsec)
            return fail(Error(
                ErrorCode::Cancelled,
                fmt::format("timed out after {} s (the command may still be running in the guest)", plan.timeoutSec)));
        running->interval = std::min(running->interval * 2, std::chrono::milliseconds(kMaxPoll));
        return poll(running);
    }
    if (plan.exitCodeMatters && (status.exitCode != 0 || status.signal)) {
        const std::string why = lastLine(status.err);
        return fail(
            Error(ErrorCode::BackendFailure, fmt::format("{} failed in the guest ({}){}{}", operationName(plan.kind),
                                                         describeStatus(status), why.empty() ? "" : ": ", why)),
            status);
    }
    if (plan.recordSuccess) {
        try {
            plan.recordSuccess(*vm);
        } catch (const Error& e) {
            return fail(e, status);
        }
    }
    m_ctx.runner.succeed(ticket, vm->record, fmt::format("{}: {}", plan.audited, describeStatus(status)));
    m_ctx.jobs.finish(running->jobId, true, describeStatus(status), status);
}

void VmGuestCommands::stateChanged(Vm& vm)
{
    const std::string uuid = vm.record.uuid;
    if (!isActive(vm.state)) {
        m_agentLookup.erase(uuid);
        m_ctx.inventory.setAgentConnected(vm, false);
        return;
    }
    if (vm.agentConnected || m_agentLookup.count(uuid) != 0)
        return;
    const std::uint64_t lookup = m_nextLookup++;
    m_agentLookup[uuid] = lookup;
    runOnWorker<bool>(
        m_ctx.executor,
        [&agent = static_cast<GuestAgent&>(m_ctx.hypervisor), uuid] { return agent.agentConnected(uuid); },
        [this, uuid, lookup](const Outcome<bool>& connected) {
            auto latest = m_agentLookup.find(uuid);
            if (latest == m_agentLookup.end() || latest->second != lookup)
                return;
            m_agentLookup.erase(latest);
            if (Vm* vm = m_ctx.inventory.find(uuid); vm && isActive(vm->state))
                m_ctx.inventory.setAgentConnected(*vm, connected.ok() && connected.value());
        });
}

void VmGuestCommands::agentChanged(const std::string& uuid, bool connected)
{
    m_agentLookup.erase(uuid); // an event is newer than any probe still on its way
    if (Vm* vm = m_ctx.inventory.find(uuid))
        m_ctx.inventory.setAgentConnected(*vm, connected);
}

} // namespace hangar
