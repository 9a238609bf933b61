// The provisioning keys of CreateVM's spec (hostname, users, packages, runcmd, write_files) read into core's
// Provisioning, and GetProvisioning's dictionary written from it. Types are checked strictly, nested dictionaries
// included (an unknown key inside users[1] is InvalidArgument naming "users[1]"); the values are checked by core.
#pragma once

#include "bus/BusSupport.h"
#include "core/Provisioning.h"

namespace hangar::bus {

// Takes the provisioning keys from reader (the spec); throws Error(InvalidArgument) for a wrong type or an unknown
// key inside a user or file.
Provisioning takeProvisioning(OptionReader& reader);

// GetProvisioning's a{sv}: the same keys as CreateVM's spec, every key present (empty where nothing was given).
Options provisioningDict(const Provisioning& provisioning);

} // namespace hangar::bus
