// CreateVM's spec, VM.SetResources' resources and ImportImage's options, read from their a{sv} into core's requests:
// each key with its one type, unknown keys refused (OptionReader), auth.no_user_interaction into the caller. The values
// themselves are checked by core (validateSpec, validateProvisioning, the image probe). Split out of ManagerObject so
// that the libFuzzer targets (tests/libfuzzer/) read dictionaries with the very code the bus uses.
#pragma once

#include "bus/BusSupport.h"
#include "core/ImageFill.h"
#include "core/Validation.h"

namespace hangar::bus {

// Throws Error(InvalidArgument) naming the key for a wrong type or an unknown key, nested dictionaries included.
VmSpecRequest readVmSpec(const Options& spec, Caller& caller);

// VM.SetResources' dictionary (vcpus, memory_mib, disk_gib; each optional). Throws Error(InvalidArgument) for a wrong
// type or an unknown key.
ResourceRequest readResources(const Options& resources, Caller& caller);

// The options of ImportImage (format, description, os); name and fd are left to the caller. Throws
// Error(InvalidArgument) for a wrong type, an unknown key or a format other than qcow2, raw or iso.
ImportRequest readImportOptions(const Options& options, Caller& caller);

} // namespace hangar::bus
