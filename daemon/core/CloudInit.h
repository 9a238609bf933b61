// The three files of a cloud-init NoCloud seed, rendered from a VM's Provisioning: user-data (#cloud-config),
// meta-data (instance-id and local-hostname) and network-config (version 2, DHCP on the first NIC). Every string
// is written double-quoted and escaped by a small emitter for this fixed shape, so nothing a user typed can change
// the YAML's structure. The ISO that carries them is made behind core/SeedBuilder.h.
#pragma once

#include "core/Provisioning.h"
#include "core/SeedBuilder.h"

#include <string>
#include <string_view>
#include <vector>

namespace hangar {

// The volume label cloud-init's NoCloud data source looks for.
inline constexpr std::string_view kSeedVolumeLabel = "cidata";

// text as a YAML double-quoted scalar: '"' and '\\' escaped, control characters and the Unicode line breaks as
// escapes, everything else as it is (UTF-8).
std::string yamlQuote(std::string_view text);

std::string renderUserData(const Provisioning& provisioning);
// instanceId changes whenever cloud-init must provision again (a clone gets its own); hostname is the guest's.
std::string renderMetaData(const std::string& instanceId, const std::string& hostname);
std::string renderNetworkConfig();

// The seed's files: meta-data, user-data, network-config. hostname falls back to vmName.
std::vector<SeedFile> seedFiles(const Provisioning& provisioning, const std::string& instanceId,
                                const std::string& vmName);

// "vm-<uuid>-seed.iso": the seed volume's name in the pool (the Reconciler sweeps vm-* volumes no record claims).
std::string seedVolumeName(const std::string& uuid);

} // namespace hangar
