#include "virt/XmlSupport.h"

#include "core/Error.h"

#include <array>
#include <climits>
#include <libxml/parser.h>
#include <mutex>
#include <utility>

namespace hangar::virt::xml {
namespace {

// libxml2 wants xmlInitParser once, before any thread uses it.
void initLibxml()
{
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

[[noreturn]] void outOfMemory(const std::string& document)
{
    throw Error(ErrorCode::BackendFailure, "cannot write " + document + ": out of memory");
}

bool isXmlChar(char32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

} // namespace

Writer::Writer(std::string document) : m_document(std::move(document)), m_buffer(xmlBufferCreate())
{
    initLibxml();
    if (!m_buffer)
        outOfMemory(m_document);
    m_writer.reset(xmlNewTextWriterMemory(m_buffer.get(), 0));
    if (!m_writer)
        outOfMemory(m_document);
    check(xmlTextWriterSetIndent(m_writer.get(), 1));
    check(xmlTextWriterSetIndentString(m_writer.get(), xc("  ")));
}

Writer::~Writer() = default;

void Writer::check(int rc) const
{
    if (rc < 0)
        throw Error(ErrorCode::BackendFailure, "cannot write " + m_document + ": libxml2 writer failed");
}

void Writer::start(const char* name)
{
    check(xmlTextWriterStartElement(m_writer.get(), xc(name)));
}

void Writer::startNs(const std::string& prefix, const char* name, const std::string& nsUri)
{
    check(xmlTextWriterStartElementNS(m_writer.get(), xc(prefix), xc(name), xc(nsUri)));
}

void Writer::attribute(const char* name, const std::string& value)
{
    check(xmlTextWriterWriteAttribute(m_writer.get(), xc(name), xc(value)));
}

void Writer::text(const std::string& value)
{
    check(xmlTextWriterWriteString(m_writer.get(), xc(value)));
}

void Writer::end()
{
    check(xmlTextWriterEndElement(m_writer.get()));
}

void Writer::element(const char* name, const std::string& value)
{
    check(xmlTextWriterWriteElement(m_writer.get(), xc(name), xc(value)));
}

void Writer::elementNs(const std::string& prefix, const char* name, const std::string& value)
{
    check(xmlTextWriterWriteElementNS(m_writer.get(), xc(prefix), xc(name), nullptr, xc(value)));
}

std::string Writer::finish()
{
    check(xmlTextWriterEndDocument(m_writer.get()));
    m_writer.reset(); // flushes into the buffer
    return std::string(sv(xmlBufferContent(m_buffer.get())));
}

// XML 1.0 cannot carry most control characters even escaped, and the writer passes bytes through unchecked, so
// text is checked here: a description pasted with a stray \x1b must be refused with a message, not produce a
// definition libvirt rejects with a parser error.
bool isValidText(std::string_view s)
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

void requireText(const char* field, const std::string& value)
{
    if (!isValidText(value))
        throw Error(ErrorCode::InvalidArgument,
                    std::string(field) + " must be valid UTF-8 text without control characters");
}

DocPtr parseUntrusted(const std::string& text, const char* name)
{
    if (text.empty() || text.size() > static_cast<std::size_t>(INT_MAX))
        return nullptr;
    initLibxml();
    // No XML_PARSE_NOENT (entities stay references), no DTD loading, no network; errors are the caller's nullptr,
    // not lines on stderr.
    DocPtr doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), name, nullptr,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
    // libvirt never produces a DTD; one here can only be an attempt to smuggle in entities.
    if (doc && (doc->intSubset || doc->extSubset))
        return nullptr;
    return doc;
}

std::optional<std::string> elementText(xmlNodePtr node)
{
    std::string text;
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            text += sv(c->content);
        else if (c->type != XML_COMMENT_NODE)
            return std::nullopt;
    }
    return text;
}

std::optional<std::string> attribute(xmlNodePtr node, const char* name)
{
    for (xmlAttrPtr a = node->properties; a; a = a->next) {
        if (a->ns || sv(a->name) != name)
            continue;
        std::string value;
        for (xmlNodePtr c = a->children; c; c = c->next) {
            if (c->type != XML_TEXT_NODE)
                return std::nullopt;
            value += sv(c->content);
        }
        return value;
    }
    return std::nullopt;
}

xmlNodePtr child(xmlNodePtr parent, std::string_view name)
{
    for (xmlNodePtr c = parent ? parent->children : nullptr; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && sv(c->name) == name)
            return c;
    return nullptr;
}

} // namespace hangar::virt::xml
