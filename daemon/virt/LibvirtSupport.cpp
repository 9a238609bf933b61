#include "virt/LibvirtSupport.h"

#include <csignal>
#include <libvirt/virterror.h>
#include <mutex>
#include <spdlog/spdlog.h>

namespace hangar::virt {
namespace {

// libvirt's default handler prints every error to stderr, including the ones Hangar expects and handles
// (a lookup of a UUID that is not defined yet). The errors still reach callers through virGetLastError.
void logLibvirtError(void*, virErrorPtr error)
{
    if (!error)
        return;
    logger()->debug("libvirt error {} (domain {}): {}", error->code, error->domain,
                    error->message ? error->message : "(no message)");
}

} // namespace

std::shared_ptr<spdlog::logger> logger()
{
    if (auto registered = spdlog::get("virt"))
        return registered;
    // Not registered: the daemon may register "virt" later, so this one stays out of the registry.
    static const auto fallback = [] {
        const auto base = spdlog::default_logger();
        auto log = std::make_shared<spdlog::logger>("virt", base->sinks().begin(), base->sinks().end());
        log->set_level(base->level());
        return log;
    }();
    return fallback;
}

void initLibvirt()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // libvirt's RPC client writes to its socket with plain write(2): when the daemon on the other end dies in
        // the middle of a call, the kernel raises SIGPIPE, and its default action kills this whole process. The
        // write then fails with EPIPE instead, which libvirt handles as a closed connection. A disposition someone
        // else chose (a handler, or SIG_IGN already) is left alone.
        struct sigaction current = {};
        if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
            struct sigaction ignore = {};
            ignore.sa_handler = SIG_IGN;
            sigemptyset(&ignore.sa_mask);
            sigaction(SIGPIPE, &ignore, nullptr);
        }
        virSetErrorFunc(nullptr, logLibvirtError);
        if (virEventRegisterDefaultImpl() < 0)
            throw Error(ErrorCode::BackendFailure,
                        "cannot register libvirt's event loop implementation: " + lastFailure().message);
    });
}

void silenceErrors(virConnectPtr conn)
{
    virConnSetErrorFunc(conn, nullptr, logLibvirtError);
}

LibvirtFailure lastFailure()
{
    const virErrorPtr error = virGetLastError();
    if (!error)
        return {VIR_ERR_OK, "unknown libvirt error"};
    return {error->code, error->message ? error->message : "unknown libvirt error"};
}

Error toError(const LibvirtFailure& failure, const std::string& uuid, std::string_view what)
{
    const std::string subject = uuid.empty() ? std::string() : " domain " + uuid;
    const std::string context = "cannot " + std::string(what) + subject + ": " + failure.message;
    switch (failure.code) {
    case VIR_ERR_NO_DOMAIN:
        return Error(ErrorCode::NotFound, "no domain with UUID " + uuid);
    case VIR_ERR_OPERATION_INVALID:
        return Error(ErrorCode::Busy, context);
    case VIR_ERR_NO_SUPPORT:
        return Error(ErrorCode::NotSupported, context);
    case VIR_ERR_OPERATION_DENIED:
    case VIR_ERR_ACCESS_DENIED:
        return Error(ErrorCode::PermissionDenied, context);
    default:
        return Error(ErrorCode::BackendFailure, context);
    }
}

DomainState toDomainState(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return DomainState::Running; // blocked on I/O is still running to a user
    case VIR_DOMAIN_PAUSED:
        return DomainState::Paused;
    case VIR_DOMAIN_SHUTDOWN:
        return DomainState::ShuttingDown;
    case VIR_DOMAIN_CRASHED:
        return DomainState::Crashed;
    case VIR_DOMAIN_PMSUSPENDED:
        return DomainState::Suspended;
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_NOSTATE:
    default:
        return DomainState::Stopped;
    }
}

std::optional<DomainState> stateFromLifecycleEvent(int event)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
    case VIR_DOMAIN_EVENT_STOPPED:
        return DomainState::Stopped;
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return DomainState::Running;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return DomainState::Paused;
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        return DomainState::ShuttingDown;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return DomainState::Suspended;
    case VIR_DOMAIN_EVENT_CRASHED:
        return DomainState::Crashed;
    default:
        return std::nullopt;
    }
}

} // namespace hangar::virt
