#include "virt/LibvirtSupport.h"

#include <array>
#include <csignal>
#include <libvirt/virterror.h>
#include <mutex>
#include <spdlog/spdlog.h>
#include <utility>

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

constexpr std::array<std::pair<int, ErrorCode>, 4> kErrorCodes{{
    {VIR_ERR_OPERATION_INVALID, ErrorCode::Busy},
    {VIR_ERR_NO_SUPPORT, ErrorCode::NotSupported},
    {VIR_ERR_OPERATION_DENIED, ErrorCode::PermissionDenied},
    {VIR_ERR_ACCESS_DENIED, ErrorCode::PermissionDenied},
}};

constexpr std::array<std::pair<int, DomainState>, 7> kDomainStates{{
    {VIR_DOMAIN_RUNNING, DomainState::Running},
    {VIR_DOMAIN_BLOCKED, DomainState::Running}, // blocked on I/O is still running to a user
    {VIR_DOMAIN_PAUSED, DomainState::Paused},
    {VIR_DOMAIN_SHUTDOWN, DomainState::ShuttingDown},
    {VIR_DOMAIN_SHUTOFF, DomainState::Stopped},
    {VIR_DOMAIN_CRASHED, DomainState::Crashed},
    {VIR_DOMAIN_PMSUSPENDED, DomainState::Suspended},
}};

constexpr std::array<std::pair<int, DomainState>, 8> kEventStates{{
    {VIR_DOMAIN_EVENT_DEFINED, DomainState::Stopped},
    {VIR_DOMAIN_EVENT_STOPPED, DomainState::Stopped},
    {VIR_DOMAIN_EVENT_STARTED, DomainState::Running},
    {VIR_DOMAIN_EVENT_RESUMED, DomainState::Running},
    {VIR_DOMAIN_EVENT_SUSPENDED, DomainState::Paused},
    {VIR_DOMAIN_EVENT_SHUTDOWN, DomainState::ShuttingDown},
    {VIR_DOMAIN_EVENT_PMSUSPENDED, DomainState::Suspended},
    {VIR_DOMAIN_EVENT_CRASHED, DomainState::Crashed},
}};

template <typename V, std::size_t N> std::optional<V> lookup(const std::array<std::pair<int, V>, N>& table, int key)
{
    for (const auto& [k, v] : table)
        if (k == key)
            return v;
    return std::nullopt;
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
    if (failure.code == VIR_ERR_NO_DOMAIN)
        return Error(ErrorCode::NotFound, "no domain with UUID " + uuid);
    const std::string subject = uuid.empty() ? std::string() : " domain " + uuid;
    const std::string context = "cannot " + std::string(what) + subject + ": " + failure.message;
    return Error(lookup(kErrorCodes, failure.code).value_or(ErrorCode::BackendFailure), context);
}

Error storageError(const LibvirtFailure& failure, const std::string& what)
{
    ErrorCode code = ErrorCode::BackendFailure;
    switch (failure.code) {
    case VIR_ERR_NO_STORAGE_VOL:
        code = ErrorCode::NotFound;
        break;
    case VIR_ERR_STORAGE_VOL_EXIST:
        code = ErrorCode::AlreadyExists;
        break;
    case VIR_ERR_NO_SUPPORT:
        code = ErrorCode::NotSupported;
        break;
    case VIR_ERR_OPERATION_DENIED:
    case VIR_ERR_ACCESS_DENIED:
        code = ErrorCode::PermissionDenied;
        break;
    default:
        break;
    }
    return Error(code, "cannot " + what + ": " + failure.message);
}

Error storageError(const std::string& what)
{
    return storageError(lastFailure(), what);
}

DomainState toDomainState(int state)
{
    // NOSTATE and anything newer than this code count as stopped: nothing runs that Hangar could act on.
    return lookup(kDomainStates, state).value_or(DomainState::Stopped);
}

std::optional<DomainState> stateFromLifecycleEvent(int event)
{
    return lookup(kEventStates, event);
}

} // namespace hangar::virt
