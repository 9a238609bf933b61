// The Hypervisor is everything Hangar asks of the virtualization layer for one host, as four roles that a consumer
// takes one of (VmAccess only ConsoleAccess, the Reconciler only DomainControl) and a backend implements all of:
//   core/DomainControl.h    define, undefine, lifecycle, state, metadata, listDomains
//   core/SnapshotControl.h  create, list, revert to and delete snapshots
//   core/ConsoleAccess.h    serial console and VNC sockets, the graphics address
//   core/HypervisorEvents.h lifecycle, agent and connection events, delivered on the loop thread
//   core/GuestAgent.h       commands in a running guest through the QEMU guest agent
// The real implementation is virt/LibvirtHypervisor (any libvirt URI, including test:///default);
// tests/fakes/FakeHypervisor serves core's unit tests, and tests/contract holds the two to the same behaviour.
#pragma once

#include "core/ConsoleAccess.h"
#include "core/DomainControl.h"
#include "core/GuestAgent.h"
#include "core/HypervisorEvents.h"
#include "core/SnapshotControl.h"

namespace hangar {

class Hypervisor : public DomainControl,
                   public SnapshotControl,
                   public ConsoleAccess,
                   public HypervisorEvents,
                   public GuestAgent
{
};

} // namespace hangar
