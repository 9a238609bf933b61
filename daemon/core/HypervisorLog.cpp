#include "core/HypervisorLog.h"

#include "core/Error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

namespace hangar {
namespace {

struct ParsedUri
{
    std::string_view driver;    // "qemu"
    std::string_view transport; // "", "unix", "ssh", ...
    std::string_view host;      // "" for the local machine
    std::string_view path;      // "/system", without the query
};

ParsedUri parse(std::string_view uri)
{
    ParsedUri parsed;
    const auto scheme = uri.find("://");
    if (scheme == std::string_view::npos)
        return parsed;
    const std::string_view name = uri.substr(0, scheme);
    const auto plus = name.find('+');
    parsed.driver = name.substr(0, plus);
    if (plus != std::string_view::npos)
        parsed.transport = name.substr(plus + 1);
    std::string_view rest = uri.substr(scheme + 3);
    rest = rest.substr(0, rest.find('?'));
    const auto slash = rest.find('/');
    parsed.host = rest.substr(0, slash);
    parsed.path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    return parsed;
}

} // namespace

std::string hypervisorLogDir(std::string_view uri, const std::string& configured, const EnvLookup& env)
{
    if (!configured.empty())
        return configured;
    const ParsedUri parsed = parse(uri);
    // Only a driver on this machine writes its logs where the daemon can read them.
    if (parsed.driver != "qemu" || !parsed.host.empty() || (!parsed.transport.empty() && parsed.transport != "unix"))
        return {};
    if (parsed.path == "/system")
        return "/var/log/libvirt/qemu";
    if (parsed.path == "/session") {
        if (const char* cache = env("XDG_CACHE_HOME"); cache && *cache)
            return std::string(cache) + "/libvirt/qemu/log";
        if (const char* home = env("HOME"); home && *home)
            return std::string(home) + "/.cache/libvirt/qemu/log";
    }
    return {};
}

UniqueFd openLogFile(const std::string& dir, const std::string& domainName)
{
    const std::string path = dir + "/" + domainName + ".log";
    // O_NONBLOCK: a FIFO put there would otherwise hold the open until someone writes to it.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        const int error = errno;
        if (error == ENOENT)
            throw Error(ErrorCode::NotFound, fmt::format("there is no log file {}", path));
        if (error == ELOOP)
            throw Error(ErrorCode::BackendFailure, fmt::format("{} is a symbolic link; refused", path));
        throw Error(ErrorCode::BackendFailure, fmt::format("cannot open {}: {}", path, std::strerror(error)));
    }
    struct stat st = {};
    if (::fstat(fd.get(), &st) != 0)
        throw Error(ErrorCode::BackendFailure, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    if (!S_ISREG(st.st_mode))
        throw Error(ErrorCode::BackendFailure, fmt::format("{} is not a regular file; refused", path));
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags >= 0)
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

} // namespace hangar
