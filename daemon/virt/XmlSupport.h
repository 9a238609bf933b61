// libxml2 for the libvirt backend: a writer that escapes everything and turns libxml2's failures into exceptions,
// the check that text can be carried by XML at all, and a parser for XML that came from elsewhere (libvirt's live
// definitions, metadata blocks anyone with virsh could have edited) that never expands entities, never loads a DTD
// and never touches the network. Internal to daemon/virt.
#pragma once

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hangar::virt::xml {

inline const xmlChar* xc(const char* s)
{
    return reinterpret_cast<const xmlChar*>(s);
}
inline const xmlChar* xc(const std::string& s)
{
    return xc(s.c_str());
}
inline std::string_view sv(const xmlChar* s)
{
    return s ? std::string_view(reinterpret_cast<const char*>(s)) : "";
}

struct DocDeleter
{
    void operator()(xmlDocPtr d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

// Writes one document into memory. Every call throws Error(BackendFailure) "cannot write <document>: ..." when
// libxml2 fails; document says what is written ("volume XML"). Its default is for the writers of domain XML, which
// predate it.
class Writer
{
public:
    explicit Writer(std::string document = "domain XML");
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void start(const char* name);
    // Declares the namespace on this element; children use the prefix alone.
    void startNs(const std::string& prefix, const char* name, const std::string& nsUri);
    void attribute(const char* name, const std::string& value);
    void text(const std::string& value);
    void end();
    void element(const char* name, const std::string& value);
    void elementNs(const std::string& prefix, const char* name, const std::string& value);
    // An element with no content: <name/>.
    void empty(const char* name)
    {
        start(name);
        end();
    }
    std::string finish();

private:
    struct BufferDeleter
    {
        void operator()(xmlBufferPtr b) const { xmlBufferFree(b); }
    };
    struct WriterDeleter
    {
        void operator()(xmlTextWriterPtr w) const { xmlFreeTextWriter(w); }
    };
    void check(int rc) const;

    std::string m_document;
    std::unique_ptr<xmlBuffer, BufferDeleter> m_buffer;
    std::unique_ptr<xmlTextWriter, WriterDeleter> m_writer;
};

// Whether s is UTF-8 that XML 1.0 can carry (no control characters other than tab, newline, carriage return).
bool isValidText(std::string_view s);
// Error(InvalidArgument) "<field> must be valid UTF-8 text without control characters" otherwise.
void requireText(const char* field, const std::string& value);

// Parses untrusted XML: nullptr when it is malformed or carries a DTD (the only use of one would be entities).
DocPtr parseUntrusted(const std::string& text, const char* name);

// The text of an element that holds only text (and comments). nullopt when it holds anything else — notably an
// entity reference, which xmlNodeGetContent would expand.
std::optional<std::string> elementText(xmlNodePtr node);
// The value of an attribute without namespace; nullopt when absent.
std::optional<std::string> attribute(xmlNodePtr node, const char* name);
// The first child element called name (any namespace), or nullptr.
xmlNodePtr child(xmlNodePtr parent, std::string_view name);

} // namespace hangar::virt::xml
