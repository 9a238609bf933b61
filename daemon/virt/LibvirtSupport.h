// Small shared pieces of the libvirt backend: RAII owners for libvirt's C handles (connection, domain, network,
// storage pool and volume, stream, malloc'd memory), the one-time process set-up (default event loop implementation,
// silencing libvirt's error printing), the translation of libvirt errors into hangar::Error, and the mapping of
// libvirt domain states. Internal to daemon/virt.
#pragma once

#include "core/Error.h"
#include "core/Hypervisor.h"

#include <cstdlib>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <memory>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <string_view>

namespace hangar::virt {

struct ConnectDeleter
{
    void operator()(virConnectPtr conn) const { virConnectClose(conn); }
};
using ConnectPtr = std::unique_ptr<virConnect, ConnectDeleter>;

struct DomainDeleter
{
    void operator()(virDomainPtr dom) const { virDomainFree(dom); }
};
using DomainPtr = std::unique_ptr<virDomain, DomainDeleter>;

struct NetworkDeleter
{
    void operator()(virNetworkPtr net) const { virNetworkFree(net); }
};
using NetworkPtr = std::unique_ptr<virNetwork, NetworkDeleter>;

struct StoragePoolDeleter
{
    void operator()(virStoragePoolPtr pool) const { virStoragePoolFree(pool); }
};
using StoragePoolPtr = std::unique_ptr<virStoragePool, StoragePoolDeleter>;

struct StorageVolDeleter
{
    void operator()(virStorageVolPtr vol) const { virStorageVolFree(vol); }
};
using StorageVolPtr = std::unique_ptr<virStorageVol, StorageVolDeleter>;

// libvirt wants a stream that may still carry data aborted before it is freed; on one already finished or never
// opened the abort fails harmlessly.
struct StreamDeleter
{
    void operator()(virStreamPtr st) const
    {
        virStreamAbort(st);
        virStreamFree(st);
    }
};
using StreamPtr = std::unique_ptr<virStream, StreamDeleter>;

// Strings and arrays libvirt hands over for the caller to free().
struct FreeDeleter
{
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): libvirt's contract is free()
    void operator()(void* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

// The "virt" logger: the one the daemon registered under that name, else one writing to the default logger's sinks.
std::shared_ptr<spdlog::logger> logger();

// Registers libvirt's default event loop implementation, replaces libvirt's habit of printing every error to
// stderr with a debug line on the "virt" logger, and ignores SIGPIPE unless the process already handles it
// (libvirt's RPC client would otherwise kill the process when a remote daemon dies mid-call). Idempotent; must run
// before the first connection is opened.
void initLibvirt();
// The same silencing for one connection (a connection-level handler takes precedence over the global one).
void silenceErrors(virConnectPtr conn);

// The calling thread's last libvirt error, captured before another libvirt call overwrites it.
struct LibvirtFailure
{
    int code = VIR_ERR_OK;
    std::string message;
};
LibvirtFailure lastFailure();

// NO_DOMAIN → NotFound, OPERATION_INVALID → Busy, NO_SUPPORT → NotSupported, OPERATION_DENIED/ACCESS_DENIED →
// PermissionDenied, anything else → BackendFailure. what is the verb ("start", "get the state of", ...); the
// message reads "cannot <what> domain <uuid>: <libvirt's message>".
Error toError(const LibvirtFailure& failure, const std::string& uuid, std::string_view what);
// The same for the storage API: NO_STORAGE_VOL → NotFound, STORAGE_VOL_EXIST → AlreadyExists, NO_SUPPORT →
// NotSupported, OPERATION_DENIED/ACCESS_DENIED → PermissionDenied, anything else → BackendFailure; the message reads
// "cannot <what>: <libvirt's message>". Without a failure, the calling thread's last one.
Error storageError(const LibvirtFailure& failure, const std::string& what);
Error storageError(const std::string& what);

// virDomainState → DomainState.
DomainState toDomainState(int state);
// The state a lifecycle event implies, for when the domain can no longer be asked; nullopt when it implies none.
std::optional<DomainState> stateFromLifecycleEvent(int event);

} // namespace hangar::virt
