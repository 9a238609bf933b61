#include "bus/SpecDict.h"

#include "bus/ProvisioningDict.h"

#include <fmt/format.h>

namespace hangar::bus {

VmSpecRequest readVmSpec(const Options& spec, Caller& caller)
{
    VmSpecRequest request;
    OptionReader reader(spec, "spec");
    reader.takeAuthOptions(caller);
    request.vcpus = reader.take<std::uint32_t>("vcpus");
    request.memoryMiB = reader.take<std::uint64_t>("memory_mib");
    request.diskGiB = reader.take<std::uint64_t>("disk_gib");
    request.description = reader.take<std::string>("description");
    request.kernel = reader.take<std::string>("kernel");
    request.initrd = reader.take<std::string>("initrd");
    request.cmdline = reader.take<std::string>("cmdline");
    request.image = reader.take<std::string>("image");
    request.provisioning = takeProvisioning(reader);
    request.ephemeral = reader.take<bool>("ephemeral");
    request.ttlSec = reader.take<std::uint64_t>("ttl_sec");
    reader.finish();
    return request;
}

ResourceRequest readResources(const Options& resources, Caller& caller)
{
    ResourceRequest request;
    OptionReader reader(resources, "resources");
    reader.takeAuthOptions(caller);
    request.vcpus = reader.take<std::uint32_t>("vcpus");
    request.memoryMiB = reader.take<std::uint64_t>("memory_mib");
    request.diskGiB = reader.take<std::uint64_t>("disk_gib");
    reader.finish();
    return request;
}

ImportRequest readImportOptions(const Options& options, Caller& caller)
{
    ImportRequest request;
    OptionReader reader(options, "option");
    reader.takeAuthOptions(caller);
    if (auto format = reader.take<std::string>("format")) {
        request.expectedFormat = formatFromName(*format);
        if (!request.expectedFormat)
            throw Error(ErrorCode::InvalidArgument,
                        fmt::format("option 'format' must be qcow2, raw or iso; got {}", quoteForMessage(*format)));
    }
    request.description = reader.take<std::string>("description").value_or("");
    request.os = reader.take<std::string>("os");
    reader.finish();
    return request;
}

} // namespace hangar::bus
