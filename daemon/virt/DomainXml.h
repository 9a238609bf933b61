// The libvirt domain XML Hangar writes for a VM, and the Hangar metadata block it carries. The metadata
// (namespace kMetadataNamespace, element <hangar:vm>) holds the VM's record — name, owner, creation time, spec, and
// the image and volumes it was made with — so the inventory can be rebuilt from libvirt alone after the database is
// lost. The domain's libvirt name is "hangar-<uuid>", derived from the immutable UUID, so a Hangar rename never
// renames the domain (a libvirt rename needs the domain stopped and breaks whatever else refers to it); the Hangar
// name is the domain's <title>.
// The definition carries what a real QEMU needs to boot a guest and let people reach it: its disk and CD-ROM as
// volumes of the daemon's storage pool, direct kernel boot, a serial console, VNC graphics and a network interface.
// Everything is written with libxml2's xmlTextWriter and parsed with libxml2, never pasted or scanned by hand.
#pragma once

#include "core/Types.h"

#include <optional>
#include <string>
#include <string_view>

namespace hangar::virt {

inline constexpr std::string_view kMetadataNamespace = "https://hangar.dev/xmlns/vm/1";
inline constexpr std::string_view kMetadataPrefix = "hangar";
inline constexpr std::string_view kDomainNamePrefix = "hangar-";

inline constexpr std::string_view kDefaultNetwork = "default";
inline constexpr std::string_view kGraphicsListen = "127.0.0.1";
// The virtio port of the QEMU guest agent (what qemu-ga opens as /dev/virtio-ports/org.qemu.guest_agent.0).
inline constexpr std::string_view kGuestAgentChannel = "org.qemu.guest_agent.0";

// Where the VM's volumes appear in the guest. The CD-ROM sits on IDE (secondary master): no machine type is named,
// so libvirt picks QEMU's default for x86_64, i440fx ("pc"), whose only CD-ROM-capable built-in bus is IDE.
inline constexpr std::string_view kDiskTarget = "vda";
inline constexpr std::string_view kCdromTarget = "hdc";
// The cloud-init seed (a second CD-ROM, never booted): the secondary slave of the same IDE bus.
inline constexpr std::string_view kSeedTarget = "hdd";

// Where the guest's network interface goes.
enum class GuestNetwork
{
    Default, // libvirt's NAT network kDefaultNetwork (the host has it, and it is active)
    User,    // QEMU's user-mode networking: needs nothing on the host, reaches out but cannot be reached
};

struct DomainXmlOptions
{
    std::string domainType = "qemu"; // "test", "qemu" (TCG) or "kvm"; see detectDomainType
    std::string bootDir;             // absolute; where spec.kernel and spec.initrd are (BootDirectory)
    GuestNetwork network = GuestNetwork::User;
    std::string storagePool; // the libvirt storage pool holding vm.diskVolume and vm.cdromVolume
};

// "hangar-" + uuid.
std::string domainName(const std::string& uuid);

// The full <domain> definition of vm, to pass to virDomainDefineXML: the Hangar metadata block; vm.diskVolume as a
// qcow2 virtio disk (kDiskTarget), vm.cdromVolume as a read-only raw CD-ROM (kCdromTarget) and vm.seedVolume as
// another, not in the boot order (kSeedTarget), all <disk
// type='volume'> in opts.storagePool; direct kernel boot from opts.bootDir when the spec names a kernel, else a boot
// order of CD-ROM first, then disk; <cpu mode="host-model"> for kvm; a virtio network interface (opts.network); a
// serial console; VNC graphics on 127.0.0.1 with a port libvirt picks, shared by every client.
// Error(InvalidArgument) for an unknown domain type, a kernel without a boot directory, a volume without a storage
// pool, a volume or image name that is not a plain name, or text that XML cannot carry (invalid UTF-8, control
// characters).
std::string buildDomainXml(const VmRecord& vm, const DomainXmlOptions& opts);

// Only the metadata element, for virDomainSetMetadata(VIR_DOMAIN_METADATA_ELEMENT, xml, kMetadataPrefix,
// kMetadataNamespace): written bare (<vm><name>...), because libvirt binds it to the namespace it is given and
// rejects a fragment that declares that prefix itself. Stored, it reads <hangar:vm xmlns:hangar=...> like the
// block buildDomainXml writes.
std::string buildMetadataXml(const VmRecord& vm);

// The record in a <hangar:vm> element; uuid is the domain's UUID. Accepts the element in Hangar's namespace and
// also without any namespace, which is how virDomainGetMetadata returns it (libvirt strips the namespace it was
// asked for). nullopt for malformed XML, a root other than vm, another namespace, a missing, invalid or repeated
// field, or any DTD (entities are never expanded, nothing is fetched). The image and volume fields are optional
// (blocks written before they existed have none: empty), but when present must be what buildDomainXml accepts.
// The record comes back with phase Ready and host "local".
std::optional<VmRecord> parseMetadataXml(const std::string& xml, const std::string& uuid);

// "vnc://<listen>:<port>" of the first VNC graphics device in a running domain's live definition (virDomainGetXMLDesc
// with no flags); "" when there is none or it has no port yet (port -1: not running, or a driver that allocates
// none). An IPv6 listen address is bracketed. Malformed XML gives "".
std::string graphicsAddressFromXml(const std::string& domainXml);

// The <domain type> to use on the libvirt connection uri: "test" for test://, and for qemu:// "kvm" only when
// /dev/kvm exists and the CPU advertises vmx or svm — /dev/kvm alone is not enough (nested sandboxes provide the
// node without hardware virtualization, and libvirt's capabilities still advertise kvm there). For a qemu URI that
// names a remote host the local machine says nothing; LibvirtHypervisor asks that host instead.
// Error(NotSupported) for other drivers.
std::string detectDomainType(const std::string& uri);
// The same with the probed files named, for tests.
std::string detectDomainType(const std::string& uri, const std::string& devKvmPath, const std::string& cpuinfoPath);

// The type to define domains with, from the configured [Daemon] domain_type ("auto", "kvm" or "qemu") and what
// the host was detected to run. A test driver host always gets "test": it accepts nothing else.
// Error(InvalidArgument) for another configured value.
std::string chooseDomainType(const std::string& configured, const std::string& detected);

// The driver part of a libvirt URI ("qemu" for "qemu+ssh://h/system") and whether it names a remote host.
std::string uriDriver(const std::string& uri);
bool uriIsRemote(const std::string& uri);

} // namespace hangar::virt
