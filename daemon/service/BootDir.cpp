#include "service/BootDir.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace hangar::service {
namespace {

// The first directory on the way to dir that other users cannot search, or "" if there is none. QEMU opens the
// kernel itself as its own user (libvirt-qemu on Debian); libvirt relabels the files, not the directories above.
std::string firstClosedDirectory(const std::filesystem::path& dir)
{
    std::filesystem::path walked;
    for (const auto& part : dir) {
        walked /= part;
        struct stat st = {};
        if (stat(walked.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH))
            return walked.string();
    }
    return {};
}

} // namespace

void prepareBootDir(const std::string& dir, bool forQemu)
{
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        // 0755: the files are kernels for QEMU to read, not secrets; only whoever can write here decides what guests
        // boot, so it stays writable by the daemon's user (and root) alone.
        if (mkdir(dir.c_str(), 0755) != 0) {
            spdlog::warn("boot directory {} is missing and cannot be created ({}); VMs cannot boot a kernel until it "
                         "exists",
                         dir, std::strerror(errno));
            return;
        }
        spdlog::info("created the boot directory {}: put kernels and initrds for direct kernel boot there", dir);
    }
    if (const auto closed = forQemu ? firstClosedDirectory(dir) : std::string(); !closed.empty())
        spdlog::warn("boot directory {}: {} is not searchable by other users, so QEMU running as its own user may "
                     "not reach the kernels in it; set [Guest] boot_dir to a directory it can read",
                     dir, closed);
}

} // namespace hangar::service
