#include "core/BootDirectory.h"

#include "core/Error.h"
#include "core/Validation.h"

#include <filesystem>
#include <fmt/format.h>

namespace hangar {
namespace {

void requireFile(const BootDirectory& boot, const char* key, const std::string& name)
{
    if (name.empty())
        return;
    validateBootFileName(key, name); // never join anything else to the directory, whoever the caller is
    std::error_code ec;
    // Follows symbolic links: an administrator may link "vmlinuz" to the current kernel. The directory is theirs;
    // whoever can write to it decides what guests boot (docs/hangard.md).
    if (!std::filesystem::is_regular_file(boot.path(name), ec))
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("{} '{}' is not a file in the boot directory {}", key, name, boot.dir()));
}

} // namespace

std::string BootDirectory::path(const std::string& name) const
{
    return m_dir + "/" + name;
}

void BootDirectory::requireFiles(const VmSpec& spec) const
{
    if (spec.kernel.empty())
        return;
    if (m_dir.empty())
        throw Error(ErrorCode::InvalidArgument, "direct kernel boot is not available: no boot directory is configured");
    requireFile(*this, "kernel", spec.kernel);
    requireFile(*this, "initrd", spec.initrd);
}

} // namespace hangar
