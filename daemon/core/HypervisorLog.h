// Where the hypervisor keeps its log of each domain, and how the daemon opens one (VM.OpenLog). libvirt's QEMU
// driver writes a domain's QEMU command line, QEMU's own messages and its start and stop lines to
// <log dir>/<domain name>.log on the host it runs on: /var/log/libvirt/qemu for qemu:///system,
// $XDG_CACHE_HOME/libvirt/qemu/log (else ~/.cache/libvirt/qemu/log) for qemu:///session. libvirt has no call that
// reads it, so the daemon opens the file itself: a name it builds from the domain's, never a path a caller gave,
// without following a symbolic link, and only if it is a regular file. [Daemon] hypervisor_log_dir overrides the
// directory (a libvirtd configured with another one, a remote host's logs mounted here). No state; any thread.
#pragma once

#include "core/UniqueFd.h"

#include <functional>
#include <string>
#include <string_view>

namespace hangar {

using EnvLookup = std::function<const char*(const char*)>;

// configured when not empty; else the directory libvirt uses for uri (qemu:///system, qemu+unix:///session, with
// or without a ?query); "" for a URI whose logs are not on this machine (a remote host) or a driver without them.
std::string hypervisorLogDir(std::string_view uri, const std::string& configured, const EnvLookup& env);

// dir/<domainName>.log, read-only (O_RDONLY|O_CLOEXEC|O_NOFOLLOW, never blocking on open). Error(NotFound) when
// there is no such file; Error(BackendFailure) naming the path when it is not a regular file, is a symbolic link
// or cannot be read (e.g. the daemon's user lacks read access to the directory).
UniqueFd openLogFile(const std::string& dir, const std::string& domainName);

} // namespace hangar
