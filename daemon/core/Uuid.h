// Random (version 4) UUIDs for new VMs, in libvirt's canonical lower-case 8-4-4-4-12 form.
#pragma once

#include <string>

namespace hangar {

std::string makeUuid();
// "0f1e..." without dashes: the label used in object paths.
std::string uuidLabel(const std::string& uuid);

} // namespace hangar
