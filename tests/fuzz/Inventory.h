// The inventory as the bus fuzzer compares it: one GetManagedObjects call reduced to what a refused call must not
// change (the object paths of VMs and images and their stable properties: names, owners, states, sizes,
// snapshots...). Jobs and the properties that move on their own (job progress, guest addresses read with the
// stats, the graphics address that follows State) are left out, so that a difference means a change.
#pragma once

#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace hangar::fuzz {

struct Inventory
{
    // path -> "Interface.Property" -> rendered value
    std::map<std::string, std::map<std::string, std::string>> objects;
    std::vector<std::string> jobs; // paths of jobs that existed (not compared)

    bool operator==(const Inventory& other) const { return objects == other.objects; }
    // Something is still on its way: a job runs, a VM or image is in a passing state (creating, deleting,
    // shutting-down, importing).
    bool moving() const;
    // Names of the VMs, images and snapshots, for the generator.
    std::vector<std::string> names() const;
    std::vector<std::string> paths() const;
    // Paths whose "Interface.State" is state.
    std::vector<std::string> withState(const std::string& interface, const std::string& state) const;
};

// GetManagedObjects on the manager through proxy (a proxy of /org/hangar/Hangar1); throws sdbus::Error.
Inventory readInventory(sdbus::IProxy& manager, std::chrono::microseconds timeout);

// What differs between before and after, one line per difference; "" when nothing does.
std::string difference(const Inventory& before, const Inventory& after);

} // namespace hangar::fuzz
