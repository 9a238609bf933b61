// The guest agent's channel in a domain's persistent definition. Domains defined before hangard added it (or by
// hand) get it when they are next started, so every VM's guest can reach an agent. Internal to daemon/virt.
#pragma once

#include "virt/LibvirtSupport.h"

namespace hangar::virt {

// Adds <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel> to dom's persistent
// definition when it has none. Never throws: a definition that cannot take it still starts, without an agent.
void ensureAgentChannel(virDomainPtr dom) noexcept;

} // namespace hangar::virt
