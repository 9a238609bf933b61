#include "core/Validation.h"

#include "core/Error.h"

#include <algorithm>
#include <fmt/format.h>

namespace hangar {
namespace {

constexpr std::size_t kMaxNameLength = 63;
constexpr std::size_t kMaxQuotedBytes = 64;

bool isNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool isAlnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isBootFileChar(char c)
{
    return isAlnum(c) || c == '.' || c == '_' || c == '-';
}

// The kernel command line goes to the guest as it is; printable ASCII keeps it one line that every tool can show.
void validateCmdline(const std::string& cmdline)
{
    if (cmdline.size() > Limits::kMaxCmdlineChars)
        throw Error(ErrorCode::InvalidArgument, fmt::format("cmdline must be at most {} characters, got {}",
                                                            Limits::kMaxCmdlineChars, cmdline.size()));
    for (unsigned char c : cmdline)
        if (c < 0x20 || c > 0x7E)
            throw Error(ErrorCode::InvalidArgument,
                        fmt::format("cmdline must be printable ASCII (no control characters, no newline), got {}",
                                    quoteForMessage(cmdline)));
}

template <typename T> T checkRange(std::string_view key, std::optional<T> value, T fallback, T min, T max)
{
    if (!value)
        return fallback;
    if (*value < min || *value > max)
        throw Error(ErrorCode::InvalidArgument, fmt::format("{} must be {}..{}, got {}", key, min, max, *value));
    return *value;
}

// Counts UTF-8 code points; D-Bus has already guaranteed the string is valid UTF-8.
std::size_t utf8Length(std::string_view text)
{
    std::size_t count = 0;
    for (unsigned char c : text)
        if ((c & 0xC0U) != 0x80U)
            ++count;
    return count;
}

} // namespace

std::string quoteForMessage(std::string_view text)
{
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < kMaxQuotedBytes; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\')
            out += static_cast<char>(c);
        else
            out += fmt::format("\\x{:02x}", c);
    }
    if (text.size() > kMaxQuotedBytes)
        out += "...";
    out += "'";
    return out;
}

void validateName(std::string_view name)
{
    const bool ok = !name.empty() && name.size() <= kMaxNameLength && name.front() != '-' &&
                    std::all_of(name.begin(), name.end(), isNameChar);
    if (!ok)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("invalid name {}: a name is 1 to {} characters of a-z, 0-9 and '-', and does not "
                                "start with '-'",
                                quoteForMessage(name), kMaxNameLength));
}

void validateBootFileName(std::string_view key, std::string_view name)
{
    // The first character being a letter or digit already rules out ".", ".." and hidden files; ".." anywhere is
    // refused as well, so no reader of these names ever has to wonder.
    const bool ok = !name.empty() && name.size() <= Limits::kMaxBootFileNameLength && isAlnum(name.front()) &&
                    std::all_of(name.begin(), name.end(), isBootFileChar) && name.find("..") == std::string_view::npos;
    if (!ok)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("invalid {} {}: a file name in the boot directory, 1 to {} characters of A-Z, a-z, "
                                "0-9, '.', '_' and '-', starting with a letter or digit, without '..' (not a path)",
                                key, quoteForMessage(name), Limits::kMaxBootFileNameLength));
}

void validateKernelBoot(const VmSpec& spec)
{
    if (!spec.kernel.empty())
        validateBootFileName("kernel", spec.kernel);
    if (!spec.initrd.empty())
        validateBootFileName("initrd", spec.initrd);
    validateCmdline(spec.cmdline);
    // QEMU refuses -initrd and -append without -kernel; say so before anything is defined.
    if (spec.kernel.empty() && (!spec.initrd.empty() || !spec.cmdline.empty()))
        throw Error(ErrorCode::InvalidArgument, "initrd and cmdline need a kernel: give the kernel key too");
}

void validateDescription(std::string_view description)
{
    if (utf8Length(description) > Limits::kMaxDescriptionChars)
        throw Error(ErrorCode::InvalidArgument, fmt::format("description must be at most {} characters, got {}",
                                                            Limits::kMaxDescriptionChars, utf8Length(description)));
    for (unsigned char c : description)
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            throw Error(ErrorCode::InvalidArgument,
                        "description must not contain control characters other than tab and newline");
}

VmSpec validateSpec(const VmSpecRequest& request)
{
    const VmSpec defaults;
    VmSpec spec;
    spec.vcpus = checkRange("vcpus", request.vcpus, defaults.vcpus, Limits::kMinVcpus, Limits::kMaxVcpus);
    spec.memoryMiB =
        checkRange("memory_mib", request.memoryMiB, defaults.memoryMiB, Limits::kMinMemoryMiB, Limits::kMaxMemoryMiB);
    spec.diskGiB = checkRange("disk_gib", request.diskGiB, defaults.diskGiB, Limits::kMinDiskGiB, Limits::kMaxDiskGiB);
    if (request.description) {
        validateDescription(*request.description);
        spec.description = *request.description;
    }
    spec.kernel = request.kernel.value_or("");
    spec.initrd = request.initrd.value_or("");
    spec.cmdline = request.cmdline.value_or("");
    validateKernelBoot(spec);
    return spec;
}

void validateTtl(const std::optional<std::uint64_t>& ttlSec)
{
    checkRange<std::uint64_t>("ttl_sec", ttlSec, 0, 1, Limits::kMaxTtlSec);
}

VmSpec validateResources(const VmSpec& current, const ResourceRequest& request)
{
    if (!request.vcpus && !request.memoryMiB && !request.diskGiB)
        throw Error(ErrorCode::InvalidArgument, "give at least one of vcpus, memory_mib, disk_gib");
    VmSpec next = current;
    next.vcpus = checkRange("vcpus", request.vcpus, current.vcpus, Limits::kMinVcpus, Limits::kMaxVcpus);
    next.memoryMiB =
        checkRange("memory_mib", request.memoryMiB, current.memoryMiB, Limits::kMinMemoryMiB, Limits::kMaxMemoryMiB);
    next.diskGiB = checkRange("disk_gib", request.diskGiB, current.diskGiB, Limits::kMinDiskGiB, Limits::kMaxDiskGiB);
    // A disk's end holds a file system (or a partition table's backup): cutting it off would destroy data.
    if (next.diskGiB < current.diskGiB)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("disk_gib can only grow: the disk is {} GiB, got {}; shrinking is not supported",
                                current.diskGiB, next.diskGiB));
    return next;
}

bool looksLikeUuid(std::string_view text)
{
    if (text.size() != 36)
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

} // namespace hangar
