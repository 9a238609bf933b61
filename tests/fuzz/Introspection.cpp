#include "Introspection.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <memory>
#include <stdexcept>

namespace hangar::fuzz {

namespace {

// xmlFree is a variable (a function pointer), not a function: wrapped for unique_ptr.
struct XmlFree
{
    void operator()(xmlChar* p) const { xmlFree(p); }
};

std::string attribute(xmlNode* node, const char* name)
{
    std::unique_ptr<xmlChar, XmlFree> value(xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)));
    return value ? reinterpret_cast<const char*>(value.get()) : "";
}

bool named(xmlNode* node, const char* name)
{
    return node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, reinterpret_cast<const xmlChar*>(name));
}

Interface readInterface(xmlNode* element)
{
    Interface iface{attribute(element, "name"), {}, {}};
    for (xmlNode* child = element->children; child; child = child->next) {
        if (named(child, "method")) {
            Method m{attribute(child, "name"), {}};
            for (xmlNode* arg = child->children; arg; arg = arg->next)
                if (named(arg, "arg") && attribute(arg, "direction") != "out")
                    m.inSignature += attribute(arg, "type");
            iface.methods.push_back(m);
        } else if (named(child, "property")) {
            const std::string access = attribute(child, "access");
            iface.properties.push_back(
                {attribute(child, "name"), attribute(child, "type"), access.find("write") != std::string::npos});
        }
    }
    return iface;
}

} // namespace

Node parseIntrospection(const std::string& xml)
{
    // XML_PARSE_NONET: the DOCTYPE names a URL; nothing is fetched.
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "introspection.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
        xmlFreeDoc);
    xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    if (!root || !named(root, "node"))
        throw std::runtime_error("not an introspection document: " + xml.substr(0, 200));
    Node node;
    for (xmlNode* child = root->children; child; child = child->next) {
        if (named(child, "interface"))
            node.interfaces.push_back(readInterface(child));
        else if (named(child, "node"))
            node.children.push_back(attribute(child, "name"));
    }
    return node;
}

} // namespace hangar::fuzz
