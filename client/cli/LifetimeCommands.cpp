// expire and set: a VM's expiry (VM.SetExpiry) and its resources (VM.SetResources). The flags of create that set a
// lifetime (--ephemeral, --ttl) are in VmCommands.cpp with the rest of create.
#include "Commands.h"
#include "Parse.h"
#include "Words.h"
#include "common/Format.h"

#include <iostream>

namespace hangar::client {

ExitCode runExpire(Context& context, const ExpireOptions& options)
{
    // Parsed before connecting: a typo is a usage error even when the daemon is not running.
    std::uint64_t expiresAt = 0;
    if (options.when != "never")
        expiresAt = currentTimeUsec() / 1000000 + parseDuration(options.when, "expire");
    try {
        VmProxy vm(context.connection().bus(), context.connection().vmPath(options.name));
        context.prepareAuthorizedCall();
        vm.SetExpiry(expiresAt, context.authOptions());
    } catch (const sdbus::Error& e) {
        return context.reportVmError("set the expiry of", options.name, e);
    }
    if (expiresAt == 0)
        std::cout << "VM '" << options.name << "' no longer expires." << std::endl;
    else
        std::cout << "VM '" << options.name << "' expires at " << formatLocalTime(expiresAt * 1000000) << " (in "
                  << formatDuration(expiresAt - currentTimeUsec() / 1000000) << ")." << std::endl;
    return ExitCode::Ok;
}

ExitCode runSet(Context& context, const SetOptions& options)
{
    Options resources = context.authOptions();
    if (options.cpus)
        resources["vcpus"] = sdbus::Variant(*options.cpus);
    if (options.memory)
        resources["memory_mib"] = sdbus::Variant(parseMemoryMiB(*options.memory));
    if (options.disk)
        resources["disk_gib"] = sdbus::Variant(parseDiskGiB(*options.disk));
    if (!options.cpus && !options.memory && !options.disk)
        throw UsageError("set: give at least one of --cpus, --memory, --disk");
    context.useFlagNames(kSetFlags);
    try {
        VmProxy vm(context.connection().bus(), context.connection().vmPath(options.name));
        context.prepareAuthorizedCall();
        vm.SetResources(resources);
        std::cout << "VM '" << options.name << "' now has " << vm.VCPUs() << " vCPU, " << formatMiB(vm.MemoryMiB())
                  << " memory, " << formatGiB(vm.DiskGiB()) << " disk." << std::endl;
    } catch (const sdbus::Error& e) {
        return context.reportVmError("change the resources of", options.name, e);
    }
    return ExitCode::Ok;
}

} // namespace hangar::client
