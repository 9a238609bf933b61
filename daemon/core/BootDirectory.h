// The directory direct-kernel-boot files come from ([Guest] boot_dir, default <state_dir>/boot). Callers name a
// kernel or initrd by its file name only (core/Validation.h checks the name), and the daemon joins it to this
// directory itself: it never opens a path a caller chose, and a guest's definition can only make QEMU read what an
// administrator put here. The directory is on the host the hypervisor runs on. Loop thread or any thread: no state.
#pragma once

#include "core/Types.h"

#include <string>

namespace hangar {

class BootDirectory
{
public:
    BootDirectory() = default;
    // dir is an absolute path; empty means direct kernel boot is not available.
    explicit BootDirectory(std::string dir) : m_dir(std::move(dir)) {}

    const std::string& dir() const { return m_dir; }
    // dir + "/" + name, for a name that passed validateBootFileName.
    std::string path(const std::string& name) const;
    // Error(InvalidArgument) naming the file when the spec's kernel or initrd is not a regular file in the directory
    // (or when the spec asks for kernel boot and there is no directory). A spec without a kernel always passes.
    void requireFiles(const VmSpec& spec) const;

private:
    std::string m_dir;
};

} // namespace hangar
