// libFuzzer target: CreateVM's spec and ImportImage's options as hangard reads them off the bus (bus/SpecDict.h,
// the provisioning keys included), then as core checks them (validateName, validateSpec, validateProvisioning).
// Findings: a refusal other than hangar::Error(InvalidArgument), a sanitizer report; and for a spec core accepts,
// a domain definition it cannot write or a metadata block that does not read back as the record it was written
// from (the inventory is rebuilt from that block when the database is lost).
// Input: a dictionary in FuzzSupport.h's text format; a first line "import" reads ImportImage's options instead,
// a first line "name=<name>" names the VM (default "vm1").
#include "FuzzSupport.h"
#include "bus/SpecDict.h"
#include "core/CloudInit.h"
#include "core/Provisioning.h"
#include "virt/DomainXml.h"

#include <cstddef>
#include <cstdint>

namespace {

using namespace hangar;

constexpr const char* kUuid = "6f9619ff-8b86-4d11-b42d-00c04fc964ff";

void checkAccepted(const std::string& name, const VmSpec& spec, const Provisioning& provisioning)
{
    VmRecord record;
    record.uuid = kUuid;
    record.name = name;
    record.owner = 1000;
    record.spec = spec;
    record.createdAtUsec = 1764000000000000;
    record.host = "local";
    record.phase = VmPhase::Ready;
    record.diskVolume = "vm-" + record.uuid + ".qcow2";
    record.provisioning = provisioning;
    if (!provisioning.empty())
        record.seedVolume = seedVolumeName(record.uuid);

    virt::DomainXmlOptions options;
    options.domainType = "kvm";
    options.bootDir = "/var/lib/hangar/boot";
    options.storagePool = "hangar";
    fuzz::refusesOnlyWithInvalidArgument([&] { virt::buildDomainXml(record, options); });

    const std::string metadata = virt::buildMetadataXml(record);
    auto back = virt::parseMetadataXml(metadata, record.uuid);
    if (!back)
        fuzz::finding("the metadata block of an accepted spec does not parse:\n" + metadata);
    back->provisioning = record.provisioning; // kept in the store, not in libvirt
    if (!(*back == record))
        fuzz::finding("the metadata block of an accepted spec reads back as another record:\n" + metadata);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    bool import = false;
    std::string name = "vm1";
    if (text.starts_with("import\n")) {
        import = true;
        text.remove_prefix(7);
    } else if (text.starts_with("name=")) {
        const auto end = text.find('\n');
        name = std::string(text.substr(5, end == std::string_view::npos ? std::string_view::npos : end - 5));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    const bus::Options dict = fuzz::parseDict(text);
    Caller caller;
    caller.uid = 1000;
    if (import) {
        fuzz::refusesOnlyWithInvalidArgument([&] { bus::readImportOptions(dict, caller); });
        return 0;
    }
    VmSpecRequest request;
    VmSpec spec;
    const bool accepted = fuzz::refusesOnlyWithInvalidArgument([&] {
        request = bus::readVmSpec(dict, caller);
        validateName(name);
        spec = validateSpec(request);
        validateProvisioning(request.provisioning);
    });
    if (accepted)
        checkAccepted(name, spec, request.provisioning);
    return 0;
}
