// The domains the two libvirt-facing systems define (the same shape Hangar gives its VMs: 1 vCPU, 512 MiB, an hvm
// OS, ACPI), the state names a frontend shows, and the two numbers a frontend takes from a domain's XML.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hangar::bench {

std::string domainName(std::size_t i);
// A fixed UUID per index, so runs are repeatable.
std::string domainUuid(std::size_t i);
std::string domainXml(std::size_t i);
// virDomainState as Hangar's State names it ("running", "stopped", ...).
std::string stateName(int virDomainState);
// <vcpu> and <memory> (converted to MiB) of a domain's XML; zeros when absent.
void parseDomainXml(const std::string& xml, std::uint32_t& vcpus, std::uint64_t& memoryMiB);

} // namespace hangar::bench
