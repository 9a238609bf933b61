// libFuzzer target: the <hangar:vm> metadata block of a libvirt domain (virt/DomainXml.h parseMetadataXml), which
// hangard reads back from every domain at start-up and on reconnect, so it is whatever another libvirt client or an
// edited definition left there. Findings: a crash or sanitizer report in the parse; a record it accepts that
// buildDomainXml refuses other than with InvalidArgument; and a record that does not survive being written again
// and read back (buildMetadataXml, parseMetadataXml) unchanged.
// Input: the XML text, as virDomainGetMetadata returns it.
#include "FuzzSupport.h"
#include "virt/DomainXml.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace hangar;
    const std::string uuid = "6f9619ff-8b86-4d11-b42d-00c04fc964ff";
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::optional<VmRecord> record;
    fuzz::refusesOnlyWithInvalidArgument([&] { record = virt::parseMetadataXml(text, uuid); });
    if (!record)
        return 0;
    virt::DomainXmlOptions options;
    options.bootDir = "/var/lib/hangar/boot";
    options.storagePool = "hangar";
    fuzz::refusesOnlyWithInvalidArgument([&] { virt::buildDomainXml(*record, options); });
    std::string again;
    if (!fuzz::refusesOnlyWithInvalidArgument([&] { again = virt::buildMetadataXml(*record); }))
        return 0;
    const auto back = virt::parseMetadataXml(again, uuid);
    if (!back || !(*back == *record))
        fuzz::finding("a metadata block read and written again does not read back the same:\n" + again);
    return 0;
}
