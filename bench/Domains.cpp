#include "Domains.h"

#include <cstdio>
#include <cstdlib>

namespace hangar::bench {
namespace {

// The text of the first <tag ...>TEXT</tag>, and the value of its unit attribute.
std::string elementText(const std::string& xml, const std::string& tag, std::string* unit)
{
    const auto open = xml.find("<" + tag);
    if (open == std::string::npos)
        return {};
    const auto end = xml.find('>', open);
    const auto close = xml.find('<', end);
    if (end == std::string::npos || close == std::string::npos)
        return {};
    if (unit) {
        const auto attr = xml.find("unit=", open);
        if (attr != std::string::npos && attr < end)
            *unit = xml.substr(attr + 6, xml.find_first_of("'\"", attr + 6) - (attr + 6));
    }
    return xml.substr(end + 1, close - end - 1);
}

} // namespace

std::string domainName(std::size_t i)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "bench-%05zu", i);
    return buf;
}

std::string domainUuid(std::size_t i)
{
    char buf[40];
    std::snprintf(buf, sizeof buf, "4a6e6761-7200-4000-8000-%012zx", i);
    return buf;
}

std::string domainXml(std::size_t i)
{
    return "<domain type='test'><name>" + domainName(i) + "</name><uuid>" + domainUuid(i) +
           "</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
           "<features><acpi/></features></domain>";
}

std::string stateName(int s)
{
    switch (s) {
    case 1: // VIR_DOMAIN_RUNNING
    case 2: // VIR_DOMAIN_BLOCKED
        return "running";
    case 3:
        return "paused";
    case 4:
        return "shutting-down";
    case 5:
        return "stopped";
    case 6:
        return "crashed";
    case 7:
        return "suspended";
    default:
        return "unavailable";
    }
}

void parseDomainXml(const std::string& xml, std::uint32_t& vcpus, std::uint64_t& memoryMiB)
{
    vcpus = static_cast<std::uint32_t>(std::strtoul(elementText(xml, "vcpu", nullptr).c_str(), nullptr, 10));
    std::string unit = "KiB";
    const auto memory = std::strtoull(elementText(xml, "memory", &unit).c_str(), nullptr, 10);
    memoryMiB = unit == "KiB" ? memory / 1024 : unit == "MiB" ? memory : memory / (1024ULL * 1024ULL);
}

} // namespace hangar::bench
