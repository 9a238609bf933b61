// Sets up the directory direct-kernel-boot files come from ([Guest] boot_dir) at start-up: creates it when it is
// missing and warns when QEMU, which runs as a user of its own, probably cannot reach files in it. Neither stops
// the daemon: without the directory, creating a VM with a kernel fails with a message naming it.
#pragma once

#include <string>

namespace hangar::service {

// forQemu: the hypervisor is a real one that will open the files (not libvirt's test driver), so the warning
// about reaching them applies.
void prepareBootDir(const std::string& dir, bool forQemu);

} // namespace hangar::service
