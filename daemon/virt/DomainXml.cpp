#include "virt/DomainXml.h"

#include "core/Error.h"
#include "core/Validation.h"
#include "virt/XmlSupport.h"

#include <algorithm>
#include <charconv>
#include <libxml/tree.h>
#include <utility>

namespace hangar::virt {
namespace {

using xml::sv;

constexpr std::size_t kMaxVolumeNameLength = 255; // what a file name in a dir pool can be

// Volume names address volumes inside the pool, never paths; refusing anything but plain names means no reader of
// a record (or of a metadata block someone edited) ever has to wonder.
bool isVolumeName(std::string_view name)
{
    const auto plain = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    };
    return !name.empty() && name.size() <= kMaxVolumeNameLength && name.front() != '.' && name.front() != '-' &&
           std::all_of(name.begin(), name.end(), plain) && name.find("..") == std::string_view::npos;
}

void validateStorage(const VmRecord& vm)
{
    if (!vm.image.empty() && !looksLikeUuid(vm.image))
        throw Error(ErrorCode::InvalidArgument,
                    "image must be an image id (a lower-case UUID), got " + quoteForMessage(vm.image));
    for (const auto& [field, name] :
         {std::pair{"disk volume", &vm.diskVolume}, {"cdrom volume", &vm.cdromVolume}, {"seed volume", &vm.seedVolume}})
        if (!name->empty() && !isVolumeName(*name))
            throw Error(ErrorCode::InvalidArgument,
                        std::string(field) + " must be a volume name of 1 to " + std::to_string(kMaxVolumeNameLength) +
                            " characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-', "
                            "without '..', got " +
                            quoteForMessage(*name));
}

void validateRecord(const VmRecord& vm)
{
    if (!looksLikeUuid(vm.uuid))
        throw Error(ErrorCode::InvalidArgument, "uuid must be in lower-case 8-4-4-4-12 form, got '" + vm.uuid + "'");
    if (vm.name.empty())
        throw Error(ErrorCode::InvalidArgument, "name must not be empty");
    xml::requireText("name", vm.name);
    // The name is the domain's <title>, which libvirt requires to be a single line.
    if (vm.name.find_first_of("\r\n") != std::string::npos)
        throw Error(ErrorCode::InvalidArgument, "name must be a single line");
    xml::requireText("description", vm.spec.description);
    // The names become paths under the boot directory: the same check as at creation, whoever built the record.
    validateKernelBoot(vm.spec);
    validateStorage(vm);
}

// In the domain XML the element and its children are bound to Hangar's namespace. For virDomainSetMetadata it must
// be bare: libvirt declares the namespace itself (from its key and uri arguments) and binds every unbound element to
// it, and it refuses a fragment that already declares the prefix ("failed to create a new XML namespace").
void writeMetadata(xml::Writer& w, const VmRecord& vm, bool bound)
{
    const std::string prefix(kMetadataPrefix);
    const auto field = [&](const char* name, const std::string& value) {
        if (bound)
            w.elementNs(prefix, name, value);
        else
            w.element(name, value);
    };
    if (bound)
        w.startNs(prefix, "vm", std::string(kMetadataNamespace));
    else
        w.start("vm");
    field("name", vm.name);
    field("owner", std::to_string(vm.owner));
    field("created", std::to_string(vm.createdAtUsec));
    field("vcpus", std::to_string(vm.spec.vcpus));
    field("memory-mib", std::to_string(vm.spec.memoryMiB));
    field("disk-gib", std::to_string(vm.spec.diskGiB));
    field("description", vm.spec.description);
    // Only when set, so a block without them reads the same to a hangard that predates them.
    const auto optional = [&](const char* name, const std::string& value) {
        if (!value.empty())
            field(name, value);
    };
    if (!vm.spec.kernel.empty()) {
        field("kernel", vm.spec.kernel);
        optional("initrd", vm.spec.initrd);
        optional("cmdline", vm.spec.cmdline);
    }
    optional("image", vm.image);
    optional("disk-volume", vm.diskVolume);
    optional("cdrom-volume", vm.cdromVolume);
    optional("seed-volume", vm.seedVolume);
    w.end();
}

void writeOs(xml::Writer& w, const VmSpec& spec, const std::string& bootDir)
{
    w.start("os");
    w.start("type");
    w.attribute("arch", "x86_64");
    w.text("hvm");
    w.end();
    if (!spec.kernel.empty()) {
        if (bootDir.empty() || bootDir.front() != '/')
            throw Error(ErrorCode::InvalidArgument, "the VM boots kernel '" + spec.kernel +
                                                        "', but the boot directory '" + bootDir +
                                                        "' is not an absolute path");
        w.element("kernel", bootDir + "/" + spec.kernel);
        if (!spec.initrd.empty())
            w.element("initrd", bootDir + "/" + spec.initrd);
        if (!spec.cmdline.empty())
            w.element("cmdline", spec.cmdline);
    }
    w.end();
}

// One volume of the pool as a disk. bootOrder 0 = not in the boot order.
void writeVolumeDisk(xml::Writer& w, const std::string& pool, const std::string& volume, std::string_view target,
                     int bootOrder)
{
    const bool cdrom = target != kDiskTarget;
    w.start("disk");
    w.attribute("type", "volume");
    w.attribute("device", cdrom ? "cdrom" : "disk");
    w.start("driver");
    w.attribute("name", "qemu");
    w.attribute("type", cdrom ? "raw" : "qcow2");
    w.end();
    w.start("source");
    w.attribute("pool", pool);
    w.attribute("volume", volume);
    w.end();
    w.start("target");
    w.attribute("dev", std::string(target));
    w.attribute("bus", cdrom ? "ide" : "virtio");
    w.end();
    if (cdrom)
        w.empty("readonly");
    if (bootOrder > 0) {
        w.start("boot");
        w.attribute("order", std::to_string(bootOrder));
        w.end();
    }
    w.end();
}

// Per-device boot order rather than <os><boot dev=...>: it names exactly these two devices, so another CD-ROM
// (a cloud-init seed) never becomes a boot device. A directly booted kernel needs none.
void writeDisks(xml::Writer& w, const VmRecord& vm, const std::string& pool)
{
    if (vm.diskVolume.empty() && vm.cdromVolume.empty() && vm.seedVolume.empty())
        return;
    if (pool.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "the VM has a disk or CD-ROM volume, but no storage pool is configured to find it in");
    xml::requireText("storage pool", pool);
    const bool ordered = vm.spec.kernel.empty();
    int order = 0;
    if (!vm.cdromVolume.empty())
        writeVolumeDisk(w, pool, vm.cdromVolume, kCdromTarget, ordered ? ++order : 0);
    if (!vm.diskVolume.empty())
        writeVolumeDisk(w, pool, vm.diskVolume, kDiskTarget, ordered ? ++order : 0);
    if (!vm.seedVolume.empty())
        writeVolumeDisk(w, pool, vm.seedVolume, kSeedTarget, 0);
}

void writeDevices(xml::Writer& w, const VmRecord& vm, const DomainXmlOptions& opts)
{
    const std::string listen(kGraphicsListen);
    w.start("devices");
    writeDisks(w, vm, opts.storagePool);
    if (opts.network == GuestNetwork::Default) {
        w.start("interface");
        w.attribute("type", "network");
        w.start("source");
        w.attribute("network", std::string(kDefaultNetwork));
        w.end();
    } else {
        w.start("interface");
        w.attribute("type", "user");
    }
    w.start("model");
    w.attribute("type", "virtio");
    w.end();
    w.end();
    // The serial port is the console OpenConsole bridges to (virDomainOpenConsole finds it as console 0); a pty
    // because that is what libvirt's console streams attach to.
    w.start("serial");
    w.attribute("type", "pty");
    w.start("target");
    w.attribute("port", "0");
    w.end();
    w.end();
    w.start("console");
    w.attribute("type", "pty");
    w.start("target");
    w.attribute("type", "serial");
    w.attribute("port", "0");
    w.end();
    w.end();
    // The QEMU guest agent's port (VM.Exec, AddUser, InstallPackages); libvirt picks the socket path on the host.
    w.start("channel");
    w.attribute("type", "unix");
    w.start("target");
    w.attribute("type", "virtio");
    w.attribute("name", std::string(kGuestAgentChannel));
    w.end();
    w.end();
    // Loopback only: people reach it through OpenGraphics (an fd from QEMU) or an SSH tunnel, never from the
    // network. force-shared: "many clients may hold graphics", so a viewer asking for exclusive access (TigerVNC
    // does by default) must not throw the others out.
    w.start("graphics");
    w.attribute("type", "vnc");
    w.attribute("autoport", "yes");
    w.attribute("listen", listen);
    w.attribute("sharePolicy", "force-shared");
    w.start("listen");
    w.attribute("type", "address");
    w.attribute("address", listen);
    w.end();
    w.end();
    w.end();
}

// virDomainGetMetadata returns the element with its namespace stripped (the caller already named the namespace
// to get it), while the domain XML and buildMetadataXml carry it: both are Hangar's. Any other namespace is not.
bool isOurs(xmlNodePtr node)
{
    return !node->ns || sv(node->ns->href) == kMetadataNamespace;
}

template <typename T> std::optional<T> parseNumber(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    const auto last = s.find_last_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return std::nullopt;
    s = s.substr(first, last - first + 1);
    T value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

} // namespace

std::string domainName(const std::string& uuid)
{
    return std::string(kDomainNamePrefix) + uuid;
}

std::string buildDomainXml(const VmRecord& vm, const DomainXmlOptions& opts)
{
    if (opts.domainType != "test" && opts.domainType != "qemu" && opts.domainType != "kvm")
        throw Error(ErrorCode::InvalidArgument, "domain type must be test, qemu or kvm, got '" + opts.domainType + "'");
    validateRecord(vm);

    xml::Writer w;
    w.start("domain");
    w.attribute("type", opts.domainType);
    w.element("name", domainName(vm.uuid));
    w.element("uuid", vm.uuid);
    w.element("title", vm.name);
    if (!vm.spec.description.empty())
        w.element("description", vm.spec.description);
    w.start("memory");
    w.attribute("unit", "MiB");
    w.text(std::to_string(vm.spec.memoryMiB));
    w.end();
    w.element("vcpu", std::to_string(vm.spec.vcpus));
    w.start("metadata");
    writeMetadata(w, vm, true);
    w.end();
    writeOs(w, vm.spec, opts.bootDir);
    // Without ACPI a guest cannot honour a shutdown request, so Stop() without force would never end the domain.
    w.start("features");
    w.empty("acpi");
    w.end();
    // The host's CPU model minus what cannot be virtualized: only KVM runs guest code on the host CPU. TCG
    // emulates its own default model, and host-model there would ask QEMU for features it cannot emulate.
    if (opts.domainType == "kvm") {
        w.start("cpu");
        w.attribute("mode", "host-model");
        w.end();
    }
    writeDevices(w, vm, opts);
    w.end();
    return w.finish();
}

std::string buildMetadataXml(const VmRecord& vm)
{
    validateRecord(vm);
    xml::Writer w;
    writeMetadata(w, vm, false);
    return w.finish();
}

std::optional<VmRecord> parseMetadataXml(const std::string& text, const std::string& uuid)
{
    const auto doc = xml::parseUntrusted(text, "hangar-metadata.xml");
    if (!doc)
        return std::nullopt;
    const xmlNodePtr root = xmlDocGetRootElement(doc.get());
    if (!root || sv(root->name) != "vm" || !isOurs(root))
        return std::nullopt;

    std::optional<std::string> name, owner, created, vcpus, memory, disk, description, kernel, initrd, cmdline, image,
        diskVolume, cdromVolume, seedVolume;
    for (xmlNodePtr child = root->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || !isOurs(child))
            continue; // later versions may add fields; unknown ones are not an error
        auto value = xml::elementText(child);
        if (!value)
            return std::nullopt;
        const auto field = sv(child->name);
        auto* slot = field == "name"           ? &name
                     : field == "owner"        ? &owner
                     : field == "created"      ? &created
                     : field == "vcpus"        ? &vcpus
                     : field == "memory-mib"   ? &memory
                     : field == "disk-gib"     ? &disk
                     : field == "description"  ? &description
                     : field == "kernel"       ? &kernel
                     : field == "initrd"       ? &initrd
                     : field == "cmdline"      ? &cmdline
                     : field == "image"        ? &image
                     : field == "disk-volume"  ? &diskVolume
                     : field == "cdrom-volume" ? &cdromVolume
                     : field == "seed-volume"  ? &seedVolume
                                               : nullptr;
        if (!slot)
            continue;
        if (*slot)
            return std::nullopt; // a field twice is not something Hangar wrote
        *slot = std::move(*value);
    }
    if (!name || name->empty() || !owner || !created || !vcpus || !memory || !disk)
        return std::nullopt;

    VmRecord vm;
    vm.uuid = uuid;
    vm.name = *name;
    const auto ownerValue = parseNumber<std::uint32_t>(*owner);
    const auto createdValue = parseNumber<std::int64_t>(*created);
    const auto vcpusValue = parseNumber<std::uint32_t>(*vcpus);
    const auto memoryValue = parseNumber<std::uint64_t>(*memory);
    const auto diskValue = parseNumber<std::uint64_t>(*disk);
    if (!ownerValue || !createdValue || !vcpusValue || !memoryValue || !diskValue)
        return std::nullopt;
    vm.owner = *ownerValue;
    vm.createdAtUsec = *createdValue;
    vm.spec.vcpus = *vcpusValue;
    vm.spec.memoryMiB = *memoryValue;
    vm.spec.diskGiB = *diskValue;
    vm.spec.description = description.value_or("");
    vm.spec.kernel = kernel.value_or("");
    vm.spec.initrd = initrd.value_or("");
    vm.spec.cmdline = cmdline.value_or("");
    vm.image = image.value_or("");
    vm.diskVolume = diskVolume.value_or("");
    vm.cdromVolume = cdromVolume.value_or("");
    vm.seedVolume = seedVolume.value_or("");
    // Anyone who can edit the domain can edit this block; a kernel "../../etc/shadow" adopted into the inventory
    // would be defined again from it one day. Such a block is unreadable, not trusted.
    try {
        validateKernelBoot(vm.spec);
        validateStorage(vm);
    } catch (const Error&) {
        return std::nullopt;
    }
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    return vm;
}

std::string graphicsAddressFromXml(const std::string& domainXml)
{
    const auto doc = xml::parseUntrusted(domainXml, "domain.xml");
    if (!doc)
        return {};
    const xmlNodePtr devices = xml::child(xmlDocGetRootElement(doc.get()), "devices");
    for (xmlNodePtr g = devices ? devices->children : nullptr; g; g = g->next) {
        if (g->type != XML_ELEMENT_NODE || sv(g->name) != "graphics" || xml::attribute(g, "type") != "vnc")
            continue;
        const auto port = parseNumber<int>(xml::attribute(g, "port").value_or(""));
        if (!port || *port <= 0 || *port > 65535)
            return {};
        std::string host = xml::attribute(g, "listen").value_or("");
        if (host.empty())
            if (const xmlNodePtr listen = xml::child(g, "listen");
                listen && xml::attribute(listen, "type") == "address")
                host = xml::attribute(listen, "address").value_or("");
        if (host.empty())
            host = "localhost";
        if (host.find(':') != std::string::npos)
            host.insert(0, "[").append("]");
        return "vnc://" + host + ":" + std::to_string(*port);
    }
    return {};
}

} // namespace hangar::virt
