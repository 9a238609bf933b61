// Checks of untrusted input that belong to the domain rather than to a transport: VM names, resource sizes,
// option ranges. Each check throws Error(InvalidArgument) with a message that says what was given and what is
// allowed; the message never echoes more than a short, printable excerpt of the input.
#pragma once

#include "core/Types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hangar {

struct Limits
{
    static constexpr std::uint32_t kMinVcpus = 1;
    // What libvirt accepts for Hangar's domains: QEMU's default x86_64 machine type (pc-i440fx, which the domain
    // XML leaves in place) takes at most 255 CPUs, and libvirt refuses more when the domain is defined.
    static constexpr std::uint32_t kMaxVcpus = 255;
    static constexpr std::uint64_t kMinMemoryMiB = 64;
    static constexpr std::uint64_t kMaxMemoryMiB = std::uint64_t{4} * 1024 * 1024; // 4 TiB
    static constexpr std::uint64_t kMinDiskGiB = 1;
    static constexpr std::uint64_t kMaxDiskGiB = 65536; // 64 TiB; also the largest virtual size of an image
    static constexpr std::size_t kMaxDescriptionChars = 1024;
    static constexpr std::size_t kMaxBootFileNameLength = 128;
    static constexpr std::size_t kMaxCmdlineChars = 1024;
    static constexpr std::uint32_t kMaxStopTimeoutSec = 86400;
    static constexpr std::uint32_t kMaxEventLimit = 10000;
    // How far ahead an expiry may lie (ttl_sec, SetExpiry), whoever sets it: ten years.
    static constexpr std::uint64_t kMaxTtlSec = std::uint64_t{10} * 365 * 86400;
};

// A spec as requested: absent fields take VmSpec's defaults.
struct VmSpecRequest
{
    std::optional<std::uint32_t> vcpus;
    std::optional<std::uint64_t> memoryMiB;
    std::optional<std::uint64_t> diskGiB;
    std::optional<std::string> description;
    std::optional<std::string> kernel;
    std::optional<std::string> initrd;
    std::optional<std::string> cmdline;
    std::optional<std::string> image; // an image's name; resolved by VmManager, not by validateSpec
    Provisioning provisioning;        // the cloud-init seed's content; empty = no seed (core/Provisioning.h)
    // Lifetime (core/VmLifetime.h); resolved against [Lifetime] by core/VmLifetime, not by validateSpec.
    std::optional<bool> ephemeral;
    std::optional<std::uint64_t> ttlSec;
};

// What SetResources asks for; absent fields stay as they are.
struct ResourceRequest
{
    std::optional<std::uint32_t> vcpus;
    std::optional<std::uint64_t> memoryMiB;
    std::optional<std::uint64_t> diskGiB;
};

// A short, printable rendering of untrusted text for error messages.
std::string quoteForMessage(std::string_view text);

void validateName(std::string_view name);
// A file name inside the boot directory (spec keys kernel and initrd): like a VM name, but upper case, '.' and '_'
// are allowed too: [A-Za-z0-9][A-Za-z0-9._-]{0,127}, without "..". Never a path: no '/'. key names the spec key.
void validateBootFileName(std::string_view key, std::string_view name);
// The direct-kernel-boot fields of a spec: valid file names, a cmdline of at most 1024 printable ASCII characters,
// and no initrd or cmdline without a kernel. Empty strings are "not set".
void validateKernelBoot(const VmSpec& spec);
// Free text of a VM, image or snapshot: at most 1024 characters of UTF-8, no control characters but tab and newline.
void validateDescription(std::string_view description);
VmSpec validateSpec(const VmSpecRequest& request);
// ttl_sec: 1..Limits::kMaxTtlSec when given.
void validateTtl(const std::optional<std::uint64_t>& ttlSec);
// current with the request applied, in the ranges CreateVM allows; the disk only grows. At least one key.
VmSpec validateResources(const VmSpec& current, const ResourceRequest& request);
bool looksLikeUuid(std::string_view text);

} // namespace hangar
