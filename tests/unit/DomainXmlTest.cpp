#include "virt/DomainXml.h"

#include "ErrorTestSupport.h"
#include "XmlTestSupport.h"
#include "core/Error.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <memory>
#include <unistd.h>

namespace hangar::virt {
namespace {

constexpr const char* kUuid = "3f2c9a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d";
constexpr const char* kTrickyText = "a<b>&c 'single' \"double\" &amp; ]]> ünïcødé 日本語 🚀\nsecond line\ttab";

VmRecord sampleRecord()
{
    VmRecord vm;
    vm.uuid = kUuid;
    vm.name = "web-1";
    vm.owner = 1000;
    vm.spec.vcpus = 2;
    vm.spec.memoryMiB = 2048;
    vm.spec.diskGiB = 20;
    vm.spec.description = "the web server";
    vm.createdAtUsec = 1700000000123456;
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    return vm;
}

DomainXmlOptions withType(const char* type)
{
    DomainXmlOptions options;
    options.domainType = type;
    return options;
}

std::string metadataXml(const std::string& prefix, const std::string& fields)
{
    return "<" + prefix + ":vm xmlns:" + prefix + "=\"https://hangar.dev/xmlns/vm/1\">" + fields + "</" + prefix +
           ":vm>";
}

std::string allFields(const std::string& p, const std::string& name = "db")
{
    return "<" + p + ":name>" + name + "</" + p + ":name><" + p + ":owner>1001</" + p + ":owner><" + p +
           ":created>42</" + p + ":created><" + p + ":vcpus>4</" + p + ":vcpus><" + p + ":memory-mib>4096</" + p +
           ":memory-mib><" + p + ":disk-gib>50</" + p + ":disk-gib>";
}

using testing::ParsedXml;
using testing::TempDir;

using hangar::testing::codeOf;

TEST(DomainXml, BuildDomainXml_HasHangarNamingAndResources)
{
    const auto vm = sampleRecord();
    const ParsedXml xml(buildDomainXml(vm, withType("kvm")));
    ASSERT_TRUE(xml.ok());
    EXPECT_EQ(xml.value("/domain/@type"), "kvm");
    EXPECT_EQ(xml.value("/domain/name"), std::string("hangar-") + kUuid);
    EXPECT_EQ(xml.value("/domain/uuid"), kUuid);
    EXPECT_EQ(xml.value("/domain/title"), "web-1");
    EXPECT_EQ(xml.value("/domain/description"), "the web server");
    EXPECT_EQ(xml.value("/domain/memory/@unit"), "MiB");
    EXPECT_EQ(xml.value("/domain/memory"), "2048");
    EXPECT_EQ(xml.value("/domain/vcpu"), "2");
    EXPECT_EQ(xml.value("/domain/os/type"), "hvm");
    EXPECT_EQ(xml.value("/domain/os/type/@arch"), "x86_64");
    EXPECT_TRUE(xml.value("/domain/features/acpi").has_value());
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:name"), "web-1");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:owner"), "1000");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:created"), "1700000000123456");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:vcpus"), "2");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:memory-mib"), "2048");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:disk-gib"), "20");
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:description"), "the web server");
}

TEST(DomainXml, BuildDomainXml_HasTheGuestAgentChannelWithThePathLeftToLibvirt)
{
    const ParsedXml xml(buildDomainXml(sampleRecord(), withType("kvm")));
    ASSERT_TRUE(xml.ok());
    EXPECT_EQ(xml.value("/domain/devices/channel/@type"), "unix");
    EXPECT_EQ(xml.value("/domain/devices/channel/target/@type"), "virtio");
    EXPECT_EQ(xml.value("/domain/devices/channel/target/@name"), "org.qemu.guest_agent.0");
    EXPECT_FALSE(xml.value("/domain/devices/channel/source/@path").has_value());
}

TEST(DomainXml, BuildDomainXml_DomainNameFollowsUuidNotName)
{
    auto vm = sampleRecord();
    const auto before = ParsedXml(buildDomainXml(vm, withType("qemu"))).value("/domain/name");
    vm.name = "renamed";
    const ParsedXml after(buildDomainXml(vm, withType("qemu")));
    EXPECT_EQ(after.value("/domain/name"), before);
    EXPECT_EQ(after.value("/domain/title"), "renamed");
}

TEST(DomainXml, BuildDomainXml_EscapesMarkupQuotesAndKeepsNonAscii)
{
    auto vm = sampleRecord();
    vm.name = "x<y>&'\"z";
    vm.spec.description = kTrickyText;
    const auto raw = buildDomainXml(vm, withType("test"));
    EXPECT_EQ(raw.find("<b>"), std::string::npos);
    EXPECT_EQ(raw.find("<y>"), std::string::npos);
    const ParsedXml xml(raw);
    ASSERT_TRUE(xml.ok()) << raw;
    EXPECT_EQ(xml.value("/domain/title"), vm.name);
    EXPECT_EQ(xml.value("/domain/description"), kTrickyText);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:name"), vm.name);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:description"), kTrickyText);
    EXPECT_EQ(xml.value("/domain/metadata/h:vm/h:description/*"), std::nullopt); // no element smuggled in
}

TEST(DomainXml, BuildDomainXml_RejectsTextXmlCannotCarry)
{
    auto vm = sampleRecord();
    vm.spec.description = "bell\x07";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("qemu")); }), ErrorCode::InvalidArgument);
    vm.spec.description = "latin1 \xe9t\xe9";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("qemu")); }), ErrorCode::InvalidArgument);
    vm.spec.description = "overlong \xc0\xaf";
    EXPECT_EQ(codeOf([&] { buildMetadataXml(vm); }), ErrorCode::InvalidArgument);
    vm = sampleRecord();
    vm.name = "two\nlines";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("qemu")); }), ErrorCode::InvalidArgument);
}

TEST(DomainXml, BuildDomainXml_RejectsUnknownDomainTypeAndBadUuid)
{
    auto vm = sampleRecord();
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("xen")); }), ErrorCode::InvalidArgument);
    vm.uuid = "../../etc";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("qemu")); }), ErrorCode::InvalidArgument);
    vm.uuid = "3F2C9A7E-1B4D-4E8A-9C0F-5D6E7A8B9C0D";
    EXPECT_EQ(codeOf([&] { buildDomainXml(vm, withType("qemu")); }), ErrorCode::InvalidArgument);
}

TEST(DomainXml, Metadata_RoundTripsThroughBuildAndParse)
{
    auto vm = sampleRecord();
    vm.host = "node2";            // not stored: the parser reports "local"
    vm.phase = VmPhase::Creating; // not stored: a domain that exists is Ready
    const auto parsed = parseMetadataXml(buildMetadataXml(vm), vm.uuid);
    ASSERT_TRUE(parsed.has_value());
    auto expected = vm;
    expected.host = "local";
    expected.phase = VmPhase::Ready;
    EXPECT_EQ(*parsed, expected);
}

TEST(DomainXml, BuildMetadataXml_IsBareForLibvirtToBind)
{
    const auto xml = buildMetadataXml(sampleRecord());
    EXPECT_EQ(xml.find("xmlns"), std::string::npos) << xml;
    const ParsedXml parsed(xml);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value("/vm/name"), "web-1");
    EXPECT_EQ(parsed.value("/vm/created"), "1700000000123456");
}

TEST(DomainXml, Metadata_BlockInDomainXmlParsesBackToRecord)
{
    const auto vm = sampleRecord();
    const auto domain = buildDomainXml(vm, withType("qemu"));
    // Cut out the element as it stands in the definition, namespace declaration and all.
    const auto begin = domain.find("<hangar:vm");
    const auto end = domain.find("</hangar:vm>");
    ASSERT_NE(begin, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    const auto block = domain.substr(begin, end + std::string("</hangar:vm>").size() - begin);
    const auto parsed = parseMetadataXml(block, vm.uuid);
    ASSERT_TRUE(parsed.has_value()) << block;
    EXPECT_EQ(*parsed, vm);
}

TEST(DomainXml, Metadata_RoundTripsEscapedAndNonAsciiText)
{
    auto vm = sampleRecord();
    vm.name = "x<y>&'\"z";
    vm.spec.description = std::string(kTrickyText) + "\r\n";
    const auto parsed = parseMetadataXml(buildMetadataXml(vm), vm.uuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->name, vm.name);
    EXPECT_EQ(parsed->spec.description, vm.spec.description);
}

TEST(DomainXml, Metadata_RoundTripsExtremeNumbers)
{
    auto vm = sampleRecord();
    vm.owner = 4294967295U;
    vm.spec.memoryMiB = 18446744073709551615ULL;
    vm.createdAtUsec = -1;
    vm.spec.description.clear();
    const auto parsed = parseMetadataXml(buildMetadataXml(vm), vm.uuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->owner, vm.owner);
    EXPECT_EQ(parsed->spec.memoryMiB, vm.spec.memoryMiB);
    EXPECT_EQ(parsed->createdAtUsec, -1);
    EXPECT_EQ(parsed->spec.description, "");
}

TEST(DomainXml, ParseMetadata_AcceptsAnyPrefixAndIgnoresUnknownFields)
{
    const auto parsed =
        parseMetadataXml(metadataXml("x", allFields("x") + "<x:future>1</x:future><other>2</other>"), kUuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->uuid, kUuid);
    EXPECT_EQ(parsed->name, "db");
    EXPECT_EQ(parsed->owner, 1001U);
    EXPECT_EQ(parsed->createdAtUsec, 42);
    EXPECT_EQ(parsed->spec.vcpus, 4U);
    EXPECT_EQ(parsed->spec.memoryMiB, 4096U);
    EXPECT_EQ(parsed->spec.diskGiB, 50U);
    EXPECT_EQ(parsed->spec.description, "");
    EXPECT_EQ(parsed->host, "local");
    EXPECT_EQ(parsed->phase, VmPhase::Ready);
}

TEST(DomainXml, ParseMetadata_AcceptsNamespaceStrippedFormThatLibvirtReturns)
{
    // virDomainGetMetadata(VIR_DOMAIN_METADATA_ELEMENT, uri) hands the element back without its namespace.
    const std::string xml = "<vm>\n  <name>db</name>\n  <owner>1001</owner>\n  <created>42</created>\n"
                            "  <vcpus>4</vcpus>\n  <memory-mib>4096</memory-mib>\n  <disk-gib>50</disk-gib>\n"
                            "  <description>x &amp; y</description>\n</vm>";
    const auto parsed = parseMetadataXml(xml, kUuid);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->name, "db");
    EXPECT_EQ(parsed->spec.diskGiB, 50U);
    EXPECT_EQ(parsed->spec.description, "x & y");
}

TEST(DomainXml, ParseMetadata_RejectsForeignAndMalformedXml)
{
    const std::vector<std::string> inputs = {
        "",
        "not xml at all",
        "<h:vm xmlns:h=\"https://example.org/other\">" + allFields("h") + "</h:vm>", // another namespace
        "<vm xmlns=\"https://hangar.dev/xmlns/vm/2\">" + allFields("h") + "</vm>",   // a later, other format
        metadataXml("h", allFields("h")).substr(0, 60),                              // truncated
        "<h:other xmlns:h=\"https://hangar.dev/xmlns/vm/1\">" + allFields("h") + "</h:other>",
        "<description>hello</description>",
        "<domain type='kvm'><name>x</name></domain>",
    };
    for (const auto& input : inputs)
        EXPECT_FALSE(parseMetadataXml(input, kUuid).has_value()) << input;
}

TEST(DomainXml, ParseMetadata_RejectsMissingInvalidOrDuplicateFields)
{
    const std::vector<std::string> inputs = {
        metadataXml("h", "<h:name>db</h:name>"),                   // fields missing
        metadataXml("h", allFields("h", "")),                      // empty name
        metadataXml("h", allFields("h") + "<h:owner>1</h:owner>"), // owner twice
        metadataXml("h", allFields("h", "a<h:b/>c")),              // element inside a field
    };
    for (const auto& input : inputs)
        EXPECT_FALSE(parseMetadataXml(input, kUuid).has_value()) << input;

    auto withOwner = [](const std::string& owner) {
        return metadataXml("h", "<h:name>db</h:name><h:owner>" + owner +
                                    "</h:owner><h:created>1</h:created><h:vcpus>1</h:vcpus>"
                                    "<h:memory-mib>1</h:memory-mib><h:disk-gib>1</h:disk-gib>");
    };
    EXPECT_TRUE(parseMetadataXml(withOwner("7"), kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(withOwner("-1"), kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(withOwner("4294967296"), kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(withOwner("12abc"), kUuid).has_value());
    EXPECT_FALSE(parseMetadataXml(withOwner("0x10"), kUuid).has_value());
}

TEST(DomainXml, ParseMetadata_DoesNotExpandBillionLaughs)
{
    const std::string payload = R"(<?xml version="1.0"?>
<!DOCTYPE h:vm [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
)" + metadataXml("h", allFields("h", "&lol9;") + "<h:description>&lol9;</h:description>");
    EXPECT_FALSE(parseMetadataXml(payload, kUuid).has_value());
}

TEST(DomainXml, ParseMetadata_DoesNotReadExternalEntities)
{
    const TempDir dir;
    const auto secret = dir.file("secret", "TOP-SECRET-CONTENT");
    const std::string payload = "<!DOCTYPE h:vm [<!ENTITY xxe SYSTEM \"file://" + secret.string() + "\">]>\n" +
                                metadataXml("h", allFields("h", "&xxe;"));
    const auto parsed = parseMetadataXml(payload, kUuid);
    EXPECT_FALSE(parsed.has_value());
    if (parsed) {
        EXPECT_EQ(parsed->name.find("TOP-SECRET"), std::string::npos);
    }
}

TEST(DomainXml, ParseMetadata_RejectsExternalDtd)
{
    const TempDir dir;
    const auto dtd = dir.file("evil.dtd", "<!ENTITY name \"from-dtd\">");
    const std::string payload =
        "<!DOCTYPE h:vm SYSTEM \"file://" + dtd.string() + "\">\n" + metadataXml("h", allFields("h", "&name;"));
    EXPECT_FALSE(parseMetadataXml(payload, kUuid).has_value());
}

TEST(DomainXml, DetectDomainType_TestUriIsTest)
{
    EXPECT_EQ(detectDomainType("test:///default"), "test");
    EXPECT_EQ(detectDomainType("test:///tmp/node.xml"), "test");
}

TEST(DomainXml, DetectDomainType_KvmNeedsDeviceAndCpuFlag)
{
    const TempDir dir;
    const auto dev = dir.file("kvm", "");
    const auto vmx = dir.file("vmx", "processor\t: 0\nflags\t\t: fpu vme vmx sse\n\nprocessor\t: 1\n");
    const auto svm = dir.file("svm", "flags\t\t: fpu svm\n");
    const auto none = dir.file("none", "flags\t\t: fpu vme sse hypervisor\n");
    const auto lookalike = dir.file("lookalike", "flags\t\t: fpu vmxnet svm_lock\nvmx flags\t: vnmi\n");
    const auto missing = (dir.path() / "no-such-device").string();

    EXPECT_EQ(detectDomainType("qemu:///system", dev, vmx), "kvm");
    EXPECT_EQ(detectDomainType("qemu:///session", dev, svm), "kvm");
    EXPECT_EQ(detectDomainType("qemu:///system", dev, none), "qemu");
    EXPECT_EQ(detectDomainType("qemu:///system", dev, lookalike), "qemu");
    EXPECT_EQ(detectDomainType("qemu:///system", missing, vmx), "qemu"); // the CPU could, the host does not
    EXPECT_EQ(detectDomainType("qemu:///system", dev, (dir.path() / "no-cpuinfo").string()), "qemu");
    EXPECT_EQ(detectDomainType("qemu+unix:///system?socket=/tmp/s", dev, vmx), "kvm");
}

TEST(DomainXml, DetectDomainType_OtherDriversAreNotSupported)
{
    EXPECT_EQ(codeOf([] { detectDomainType("lxc:///system"); }), ErrorCode::NotSupported);
    EXPECT_EQ(codeOf([] { detectDomainType("garbage"); }), ErrorCode::NotSupported);
}

TEST(DomainXml, UriHelpers_TellDriverAndRemoteHost)
{
    EXPECT_EQ(uriDriver("qemu+ssh://root@node2/system"), "qemu");
    EXPECT_EQ(uriDriver("QEMU:///system"), "qemu");
    EXPECT_EQ(uriDriver("test:///default"), "test");
    EXPECT_TRUE(uriIsRemote("qemu+ssh://root@node2/system"));
    EXPECT_TRUE(uriIsRemote("qemu+tls://10.0.0.2:16514/system"));
    EXPECT_FALSE(uriIsRemote("qemu:///system"));
    EXPECT_FALSE(uriIsRemote("qemu:///system?socket=/run/x/libvirt-sock"));
    EXPECT_FALSE(uriIsRemote("qemu+ssh://user@localhost/system"));
    EXPECT_FALSE(uriIsRemote("qemu+tcp://[::1]:16509/system"));
    EXPECT_FALSE(uriIsRemote("test:///default"));
}

} // namespace
} // namespace hangar::virt
