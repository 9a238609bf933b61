// Which <domain type> a host can run, and what a libvirt URI names. Declared in virt/DomainXml.h.
#include "core/Error.h"
#include "virt/DomainXml.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hangar::virt {
namespace {

bool hasVirtualizationFlag(const std::string& cpuinfoPath)
{
    std::ifstream in(cpuinfoPath);
    std::string line;
    while (std::getline(in, line)) {
        // x86 lists CPU features on "flags\t\t: fpu vme ..." lines, one per logical CPU.
        if (line.rfind("flags", 0) != 0)
            continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::istringstream flags(line.substr(colon + 1));
        std::string flag;
        while (flags >> flag)
            if (flag == "vmx" || flag == "svm")
                return true;
    }
    return false;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

} // namespace

std::string uriDriver(const std::string& uri)
{
    const auto colon = uri.find(':');
    if (colon == std::string::npos)
        return {};
    const auto scheme = uri.substr(0, colon);
    return lower(scheme.substr(0, scheme.find('+')));
}

bool uriIsRemote(const std::string& uri)
{
    const auto sep = uri.find("://");
    if (sep == std::string::npos)
        return false;
    auto authority = uri.substr(sep + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    if (const auto at = authority.rfind('@'); at != std::string::npos)
        authority = authority.substr(at + 1);
    if (authority.empty())
        return false;
    std::string host = authority;
    if (host.front() == '[') // [::1]:16509
        host = host.substr(1, host.find(']') - 1);
    else
        host = host.substr(0, host.find(':'));
    host = lower(host);
    return !(host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1");
}

std::string detectDomainType(const std::string& uri)
{
    return detectDomainType(uri, "/dev/kvm", "/proc/cpuinfo");
}

std::string detectDomainType(const std::string& uri, const std::string& devKvmPath, const std::string& cpuinfoPath)
{
    const auto driver = uriDriver(uri);
    if (driver == "test")
        return "test";
    if (driver != "qemu")
        throw Error(ErrorCode::NotSupported,
                    "libvirt URI '" + uri + "' uses driver '" + driver + "'; Hangar supports qemu and test");
    std::error_code ec;
    if (std::filesystem::exists(devKvmPath, ec) && hasVirtualizationFlag(cpuinfoPath))
        return "kvm";
    return "qemu";
}

std::string chooseDomainType(const std::string& configured, const std::string& detected)
{
    // The test driver accepts no other type, so a production setting must not break a test:///default run.
    if (detected == "test" || configured.empty() || configured == "auto")
        return detected;
    if (configured != "kvm" && configured != "qemu")
        throw Error(ErrorCode::InvalidArgument, "domain_type must be auto, kvm or qemu, got '" + configured + "'");
    return configured;
}

} // namespace hangar::virt
