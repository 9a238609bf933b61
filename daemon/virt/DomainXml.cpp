#include "virt/DomainXml.h"

#include "core/Error.h"
#include "core/Validation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <memory>
#include <mutex>
#include <sstream>

namespace hangar::virt {
namespace {

// libxml2 wants xmlInitParser once, before any thread uses it.
void initLibxml()
{
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

const xmlChar* xc(const char* s)
{
    return reinterpret_cast<const xmlChar*>(s);
}
const xmlChar* xc(const std::string& s)
{
    return xc(s.c_str());
}
std::string_view sv(const xmlChar* s)
{
    return s ? std::string_view(reinterpret_cast<const char*>(s)) : "";
}

struct BufferDeleter
{
    void operator()(xmlBufferPtr b) const { xmlBufferFree(b); }
};
struct WriterDeleter
{
    void operator()(xmlTextWriterPtr w) const { xmlFreeTextWriter(w); }
};
struct DocDeleter
{
    void operator()(xmlDocPtr d) const { xmlFreeDoc(d); }
};

// A thin RAII wrapper whose only job is to turn libxml2's return codes into exceptions.
class XmlWriter
{
public:
    XmlWriter() : m_buffer(xmlBufferCreate())
    {
        initLibxml();
        if (!m_buffer)
            fail();
        m_writer.reset(xmlNewTextWriterMemory(m_buffer.get(), 0));
        if (!m_writer)
            fail();
        check(xmlTextWriterSetIndent(m_writer.get(), 1));
        check(xmlTextWriterSetIndentString(m_writer.get(), xc("  ")));
    }

    void start(const char* name) { check(xmlTextWriterStartElement(m_writer.get(), xc(name))); }
    // Declares the namespace on this element; children use the prefix alone.
    void startNs(const std::string& prefix, const char* name, const std::string& nsUri)
    {
        check(xmlTextWriterStartElementNS(m_writer.get(), xc(prefix), xc(name), xc(nsUri)));
    }
    void attribute(const char* name, const std::string& value)
    {
        check(xmlTextWriterWriteAttribute(m_writer.get(), xc(name), xc(value)));
    }
    void text(const std::string& value) { check(xmlTextWriterWriteString(m_writer.get(), xc(value))); }
    void end() { check(xmlTextWriterEndElement(m_writer.get())); }
    void element(const char* name, const std::string& value)
    {
        check(xmlTextWriterWriteElement(m_writer.get(), xc(name), xc(value)));
    }
    void elementNs(const std::string& prefix, const char* name, const std::string& value)
    {
        check(xmlTextWriterWriteElementNS(m_writer.get(), xc(prefix), xc(name), nullptr, xc(value)));
    }

    std::string finish()
    {
        check(xmlTextWriterEndDocument(m_writer.get()));
        m_writer.reset(); // flushes into the buffer
        return std::string(sv(xmlBufferContent(m_buffer.get())));
    }

private:
    [[noreturn]] static void fail()
    {
        throw Error(ErrorCode::BackendFailure, "cannot write domain XML: out of memory");
    }
    static void check(int rc)
    {
        if (rc < 0)
            throw Error(ErrorCode::BackendFailure, "cannot write domain XML: libxml2 writer failed");
    }

    std::unique_ptr<xmlBuffer, BufferDeleter> m_buffer;
    std::unique_ptr<xmlTextWriter, WriterDeleter> m_writer;
};

// XML 1.0 cannot carry most control characters even escaped, and the writer passes bytes through unchecked, so
// text is checked here: a description pasted with a stray \x1b must be refused with a message, not produce a
// definition libvirt rejects with a parser error.
bool isXmlChar(char32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

bool isValidXmlText(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        char32_t c = 0;
        if (b0 < 0x80) {
            len = 1;
            c = b0;
        } else if ((b0 & 0xE0) == 0xC0) {
            len = 2;
            c = b0 & 0x1F;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3;
            c = b0 & 0x0F;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4;
            c = b0 & 0x07;
        } else {
            return false;
        }
        if (i + len > s.size())
            return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (b & 0x3F);
        }
        constexpr std::array<char32_t, 5> kMinForLength{0, 0, 0x80, 0x800, 0x10000};
        if (c < kMinForLength[len] || (c >= 0xD800 && c <= 0xDFFF) || !isXmlChar(c))
            return false; // overlong, surrogate, or not allowed in XML
        i += len;
    }
    return true;
}

void requireXmlText(const char* field, const std::string& value)
{
    if (!isValidXmlText(value))
        throw Error(ErrorCode::InvalidArgument,
                    std::string(field) + " must be valid UTF-8 text without control characters");
}

} // namespace

namespace {

void validateRecord(const VmRecord& vm)
{
    if (!looksLikeUuid(vm.uuid))
        throw Error(ErrorCode::InvalidArgument, "uuid must be in lower-case 8-4-4-4-12 form, got '" + vm.uuid + "'");
    if (vm.name.empty())
        throw Error(ErrorCode::InvalidArgument, "name must not be empty");
    requireXmlText("name", vm.name);
    // The name is the domain's <title>, which libvirt requires to be a single line.
    if (vm.name.find_first_of("\r\n") != std::string::npos)
        throw Error(ErrorCode::InvalidArgument, "name must be a single line");
    requireXmlText("description", vm.spec.description);
}

// In the domain XML the element and its children are bound to Hangar's namespace. For virDomainSetMetadata it must
// be bare: libvirt declares the namespace itself (from its key and uri arguments) and binds every unbound element to
// it, and it refuses a fragment that already declares the prefix ("failed to create a new XML namespace").
void writeMetadata(XmlWriter& w, const VmRecord& vm, bool bound)
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
    w.end();
}

// The text of an element that holds only text. nullopt when it holds anything else — notably an entity reference,
// which xmlNodeGetContent would expand.
std::optional<std::string> elementText(xmlNodePtr node)
{
    std::string text;
    for (xmlNodePtr child = node->children; child; child = child->next) {
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)
            text += sv(child->content);
        else if (child->type != XML_COMMENT_NODE)
            return std::nullopt;
    }
    return text;
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

bool hasVirtualizationFlag(const std::string& cpuinfoPath)
{
    std::ifstream in(cpuinfoPath);
    std::string line;
    while (std::getline(in, line)) {
        // x86 lists CPU features on "flags\t\t: fpu vme ..." lines, one per logical CPU.
        if (line.rfind("flags", 0) != 0)
            continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::istringstream flags(line.substr(colon + 1));
        std::string flag;
        while (flags >> flag)
            if (flag == "vmx" || flag == "svm")
                return true;
    }
    return false;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
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

    XmlWriter w;
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
    w.start("os");
    w.start("type");
    w.attribute("arch", "x86_64");
    w.text("hvm");
    w.end();
    w.end();
    // Without ACPI a guest cannot honour a shutdown request, so Stop() without force would never end the domain.
    w.start("features");
    w.start("acpi");
    w.end();
    w.end();
    w.end();
    return w.finish();
}

std::string buildMetadataXml(const VmRecord& vm)
{
    validateRecord(vm);
    XmlWriter w;
    writeMetadata(w, vm, false);
    return w.finish();
}

std::optional<VmRecord> parseMetadataXml(const std::string& xml, const std::string& uuid)
{
    if (xml.empty() || xml.size() > static_cast<std::size_t>(INT_MAX))
        return std::nullopt;
    initLibxml();
    // No XML_PARSE_NOENT (entities stay references), no DTD loading, no network; errors are the caller's nullopt,
    // not lines on stderr.
    const std::unique_ptr<xmlDoc, DocDeleter> doc(
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "hangar-metadata.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
    if (!doc)
        return std::nullopt;
    // libvirt never produces a DTD inside metadata; one here can only be an attempt to smuggle in entities.
    if (doc->intSubset || doc->extSubset)
        return std::nullopt;
    const xmlNodePtr root = xmlDocGetRootElement(doc.get());
    if (!root || sv(root->name) != "vm" || !isOurs(root))
        return std::nullopt;

    std::optional<std::string> name, owner, created, vcpus, memory, disk, description;
    for (xmlNodePtr child = root->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || !isOurs(child))
            continue; // later versions may add fields; unknown ones are not an error
        auto text = elementText(child);
        if (!text)
            return std::nullopt;
        const auto field = sv(child->name);
        auto* slot = field == "name"          ? &name
                     : field == "owner"       ? &owner
                     : field == "created"     ? &created
                     : field == "vcpus"       ? &vcpus
                     : field == "memory-mib"  ? &memory
                     : field == "disk-gib"    ? &disk
                     : field == "description" ? &description
                                              : nullptr;
        if (!slot)
            continue;
        if (*slot)
            return std::nullopt; // a field twice is not something Hangar wrote
        *slot = std::move(*text);
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
    vm.host = "local";
    vm.phase = VmPhase::Ready;
    return vm;
}

std::string uriDriver(const std::string& uri)
{
    const auto colon = uri.find(':');
    if (colon == std::string::npos)
        return {};
    const auto scheme = uri.substr(0, colon);
    return lower(scheme.substr(0, scheme.find('+')));
}

bool uriIsRemote(const std::string& uri)
{
    const auto sep = uri.find("://");
    if (sep == std::string::npos)
        return false;
    auto authority = uri.substr(sep + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    if (const auto at = authority.rfind('@'); at != std::string::npos)
        authority = authority.substr(at + 1);
    if (authority.empty())
        return false;
    std::string host = authority;
    if (host.front() == '[') // [::1]:16509
        host = host.substr(1, host.find(']') - 1);
    else
        host = host.substr(0, host.find(':'));
    host = lower(host);
    return !(host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1");
}

std::string detectDomainType(const std::string& uri)
{
    return detectDomainType(uri, "/dev/kvm", "/proc/cpuinfo");
}

std::string detectDomainType(const std::string& uri, const std::string& devKvmPath, const std::string& cpuinfoPath)
{
    const auto driver = uriDriver(uri);
    if (driver == "test")
        return "test";
    if (driver != "qemu")
        throw Error(ErrorCode::NotSupported,
                    "libvirt URI '" + uri + "' uses driver '" + driver + "'; Hangar supports qemu and test");
    std::error_code ec;
    if (std::filesystem::exists(devKvmPath, ec) && hasVirtualizationFlag(cpuinfoPath))
        return "kvm";
    return "qemu";
}

} // namespace hangar::virt
