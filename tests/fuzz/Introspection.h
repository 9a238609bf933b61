// What the bus fuzzer learns from org.freedesktop.DBus.Introspectable.Introspect: the interfaces of an object with
// their methods (input signature) and properties (type, access), and the names of its child nodes. Parsed with
// libxml2, the daemon's own XML library.
#pragma once

#include <string>
#include <vector>

namespace hangar::fuzz {

struct Method
{
    std::string name;
    std::string inSignature; // the "in" arguments, concatenated
};

struct Property
{
    std::string name;
    std::string type;
    bool writable = false;
};

struct Interface
{
    std::string name;
    std::vector<Method> methods;
    std::vector<Property> properties;
};

struct Node
{
    std::vector<Interface> interfaces;
    std::vector<std::string> children; // relative names
};

// Throws std::runtime_error when xml is not an introspection document.
Node parseIntrospection(const std::string& xml);

} // namespace hangar::fuzz
