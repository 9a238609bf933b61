// Test helpers for XML: an independent reading of what the code under test wrote (libxml2's XPath, with the Hangar
// metadata namespace bound to prefix "h"), and a temporary directory for files the tests need.
#pragma once

#include <filesystem>
#include <fstream>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stdlib.h>
#include <string>

namespace hangar::testing {

// An independent reading of what was built, through libxml2's XPath rather than through the code under test.
class ParsedXml
{
public:
    explicit ParsedXml(const std::string& xml)
        : m_doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "test.xml", nullptr, XML_PARSE_NONET),
                xmlFreeDoc)
    {
        if (m_doc) {
            m_ctx.reset(xmlXPathNewContext(m_doc.get()));
            xmlXPathRegisterNs(m_ctx.get(), reinterpret_cast<const xmlChar*>("h"),
                               reinterpret_cast<const xmlChar*>("https://hangar.dev/xmlns/vm/1"));
        }
    }
    bool ok() const { return m_doc != nullptr; }

    // The string value of expr; nullopt when it selects nothing.
    std::optional<std::string> value(const std::string& expr) const
    {
        const std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> nodes(
            xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr.c_str()), m_ctx.get()), xmlXPathFreeObject);
        if (!nodes || !nodes->nodesetval || nodes->nodesetval->nodeNr == 0)
            return std::nullopt;
        const std::unique_ptr<xmlChar, void (*)(void*)> text(xmlNodeGetContent(nodes->nodesetval->nodeTab[0]),
                                                             [](void* p) { xmlFree(p); });
        return std::string(text ? reinterpret_cast<const char*>(text.get()) : "");
    }

private:
    struct ContextDeleter
    {
        void operator()(xmlXPathContextPtr ctx) const { xmlXPathFreeContext(ctx); }
    };
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> m_doc;
    std::unique_ptr<xmlXPathContext, ContextDeleter> m_ctx;
};

class TempDir
{
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "hangar-xmltest-XXXXXX").string();
        if (!mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    std::filesystem::path file(const std::string& name, const std::string& content) const
    {
        auto path = m_path / name;
        std::ofstream(path) << content;
        return path;
    }
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace hangar::testing
