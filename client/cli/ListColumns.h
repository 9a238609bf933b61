// The columns of `hangarctl list -o`: each a name the user types, a header, and how its cell is made from a VM's
// properties (as GetManagedObjects returns them).
#pragma once

#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::client {

using VmProperties = std::map<std::string, sdbus::Variant>;

std::vector<std::string> listHeaders(const std::vector<std::string>& columns);
std::vector<std::string> listCells(const std::vector<std::string>& columns, const VmProperties& vm);
// The index of the STATE column in columns, or columns.size() when it is not shown (for colouring it).
std::size_t stateColumn(const std::vector<std::string>& columns);

} // namespace hangar::client
