// The libvirt domain XML Hangar writes for a VM, and the Hangar metadata block it carries. The metadata
// (namespace kMetadataNamespace, element <hangar:vm>) holds the VM's record — name, owner, creation time and
// spec — so the inventory can be rebuilt from libvirt alone after the database is lost. The domain's libvirt name
// is "hangar-<uuid>", derived from the immutable UUID, so a Hangar rename never renames the domain (a libvirt
// rename needs the domain stopped and breaks whatever else refers to it); the Hangar name is the domain's <title>.
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

struct DomainXmlOptions
{
    std::string domainType = "qemu"; // "test", "qemu" (TCG) or "kvm"; see detectDomainType
};

// "hangar-" + uuid.
std::string domainName(const std::string& uuid);


// The full <domain> definition of vm, to pass to virDomainDefineXML.
// Error(InvalidArgument) for an unknown domain type or text that XML cannot carry (invalid UTF-8, control characters).
std::string buildDomainXml(const VmRecord& vm, const DomainXmlOptions& opts);

// Only the metadata element, for virDomainSetMetadata(VIR_DOMAIN_METADATA_ELEMENT, xml, kMetadataPrefix,
// kMetadataNamespace): written bare (<vm><name>...), because libvirt binds it to the namespace it is given and
// rejects a fragment that declares that prefix itself. Stored, it reads <hangar:vm xmlns:hangar=...> like the
// block buildDomainXml writes.
std::string buildMetadataXml(const VmRecord& vm);

// The record in a <hangar:vm> element; uuid is the domain's UUID. Accepts the element in Hangar's namespace and
// also without any namespace, which is how virDomainGetMetadata returns it (libvirt strips the namespace it was
// asked for). nullopt for malformed XML, a root other than vm, another namespace, a missing, invalid or repeated
// field, or any DTD (entities are never expanded, nothing is fetched). The record comes back with phase Ready and
// host "local".
std::optional<VmRecord> parseMetadataXml(const std::string& xml, const std::string& uuid);

// The <domain type> to use on the libvirt connection uri: "test" for test://, and for qemu:// "kvm" only when
// /dev/kvm exists and the CPU advertises vmx or svm — /dev/kvm alone is not enough (nested sandboxes provide the
// node without hardware virtualization, and libvirt's capabilities still advertise kvm there). For a qemu URI that
// names a remote host the local machine says nothing; LibvirtHypervisor asks that host instead.
// Error(NotSupported) for other drivers.
std::string detectDomainType(const std::string& uri);
// The same with the probed files named, for tests.
std::string detectDomainType(const std::string& uri, const std::string& devKvmPath, const std::string& cpuinfoPath);

// The driver part of a libvirt URI ("qemu" for "qemu+ssh://h/system") and whether it names a remote host.
std::string uriDriver(const std::string& uri);
bool uriIsRemote(const std::string& uri);

} // namespace hangar::virt
