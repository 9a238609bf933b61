// gtest's names for the contract suite's typed tests: DomainControlContract/Fake.Define_...,
// DomainControlContract/Libvirt.Define_..., so a failure says at once which implementation broke the contract.
#pragma once

#include <string>

namespace hangar::contract {

struct BackendName
{
    template <typename Backend> static std::string GetName(int /*index*/) { return Backend::kName; }
};

} // namespace hangar::contract
